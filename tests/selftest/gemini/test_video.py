"""The fake Gemini's video: Veo operations on Vertex AI and video interactions, as the google-genai
client starts and polls them."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import pytest
from google import genai
from google.genai import _interactions, errors, types

from tests.gemini_server import FakeGemini, HttpError, NeverDone, OperationError, VideoFiltered
from tests.selftest.gemini.helpers import (
    NO_RETRY,
    OMNI,
    TEXT,
    VEO,
    assert_starts_from_halves,
    clip_info,
    create_interaction,
    first_frame,
    get_interaction,
    halves,
    make_client,
    vertex_client,
)

if TYPE_CHECKING:
    from tests.conftest import WaitUntil


pytestmark = [
    # google-genai 3.4 subclasses aiohttp.ClientSession on its first async request
    pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning"),
    # generate_images warns once per process that Imagen is deprecated
    pytest.mark.filterwarnings("ignore::google.genai._common.ExperimentalWarning"),
    pytest.mark.timeout(30),
]


# ---------------------------------------------------------------- Veo on Vertex


def veo_source(picture: bytes | None = None, prompt: str = "Whiskers waves") -> Any:
    image = types.Image(image_bytes=picture, mime_type="image/png") if picture else None
    return types.GenerateVideosSource(prompt=prompt, image=image)


async def test_generate_videos_from_a_picture_finishes_after_the_scripted_polls(
    fake: FakeGemini, vertex: genai.client.AsyncClient
) -> None:
    fake.polls_until_done = 3
    picture = halves()
    config = types.GenerateVideosConfig(duration_seconds=4, aspect_ratio="16:9")
    operation = await vertex.models.generate_videos(
        model=VEO, source=veo_source(picture), config=config
    )
    states = [operation.done]
    while not operation.done:
        operation = await vertex.operations.get(operation)
        states.append(operation.done)

    assert states == [None, None, None, None, True]  # running polls answer done=None
    assert operation.name
    assert operation.name.startswith(
        f"projects/p/locations/us-central1/publishers/google/models/{VEO}/operations/"
    )
    assert operation.error is None
    assert operation.response
    assert operation.response.rai_media_filtered_count == 0
    assert operation.response.generated_videos
    (generated,) = operation.response.generated_videos
    assert generated.video
    assert generated.video.mime_type == "video/mp4"
    clip = generated.video.video_bytes
    assert clip
    video_codec, audio_codec, fps, duration, width, height = clip_info(clip)
    assert (video_codec, audio_codec, fps) == ("h264", "aac", 24.0)
    assert duration == pytest.approx(4.0, abs=0.15)
    assert width / height == pytest.approx(16 / 9, abs=0.1)
    assert_starts_from_halves(clip)
    recorded = fake.operations[operation.name]
    assert (recorded.api, recorded.model, recorded.polls) == ("veo", VEO, 4)
    assert (recorded.prompt, recorded.image) == ("Whiskers waves", picture)
    assert recorded.parameters["durationSeconds"] == 4
    assert [r.kind for r in fake.requests] == ["video", "poll", "poll", "poll", "poll"]
    assert fake.calls("video")[0].input_images == [picture]
    assert {r.operation for r in fake.calls("poll")} == {operation.name}


async def test_video_latency_finishes_an_operation_by_time(
    fake: FakeGemini, vertex: genai.client.AsyncClient, wait_until: WaitUntil
) -> None:
    fake.video_latency_s = 0.3
    config = types.GenerateVideosConfig(duration_seconds=4, aspect_ratio="9:16")
    operation = await vertex.models.generate_videos(model=VEO, source=veo_source(), config=config)
    running = await vertex.operations.get(operation)

    async def finished() -> types.GenerateVideosOperation | None:
        polled = await vertex.operations.get(operation)
        return polled if polled.done else None

    done = await wait_until(finished, timeout=20, interval=0.05, what="the operation to finish")
    recorded = fake.operations[operation.name]

    assert running.done is None
    assert recorded.done_at is not None
    assert recorded.done_at - recorded.started >= 0.3  # finished by the fake's clock, not polls
    assert done.done
    assert done.result
    assert done.result.generated_videos
    clip = done.result.generated_videos[0].video
    assert clip
    assert clip.video_bytes
    height, width, _ = first_frame(clip.video_bytes).shape
    assert height > width  # 9:16


async def test_operation_error_and_filtered_videos_finish_without_videos(
    fake: FakeGemini, vertex: genai.client.AsyncClient
) -> None:
    fake.script(
        "video",
        OperationError(code=3, message="bad prompt"),
        VideoFiltered(count=1, reasons=["unsafe"]),
    )
    failed = await vertex.operations.get(
        await vertex.models.generate_videos(model=VEO, source=veo_source())
    )
    filtered = await vertex.operations.get(
        await vertex.models.generate_videos(model=VEO, source=veo_source())
    )

    assert failed.done
    assert failed.error == {"code": 3, "message": "bad prompt"}
    assert failed.response is None
    assert filtered.done
    assert filtered.error is None
    assert filtered.response
    assert filtered.response.generated_videos is None
    assert filtered.response.rai_media_filtered_count == 1
    assert filtered.response.rai_media_filtered_reasons == ["unsafe"]


async def test_never_done_and_http_errors_on_start_and_poll(
    fake: FakeGemini, vertex: genai.client.AsyncClient
) -> None:
    fake.script("video", HttpError.quota(), NeverDone())
    fake.script("poll", HttpError.overloaded())
    with pytest.raises(errors.ClientError) as refused:
        await vertex.models.generate_videos(model=VEO, source=veo_source())
    assert refused.value.code == 429
    assert fake.operations == {}

    operation = await vertex.models.generate_videos(model=VEO, source=veo_source())
    with pytest.raises(errors.ServerError):
        await vertex.operations.get(operation)
    for _ in range(3):
        operation = await vertex.operations.get(operation)
        assert operation.done is None
    assert fake.operations[operation.name or ""].polls == 3  # the 503 did not reach it


async def test_a_new_client_polls_an_operation_another_client_started(fake: FakeGemini) -> None:
    fake.polls_until_done = 1
    first = vertex_client(fake)
    async with first.aio as client:
        started = await client.models.generate_videos(
            model=VEO, source=veo_source(), config=types.GenerateVideosConfig(duration_seconds=4)
        )
        running = await client.operations.get(started)
    first.close()
    second = vertex_client(fake)
    async with second.aio as client:
        pending = types.GenerateVideosOperation.model_validate({"name": started.name})
        done = await client.operations.get(pending)
    second.close()

    assert running.done is None
    assert done.done
    assert done.result
    assert done.result.generated_videos
    assert [r.kind for r in fake.requests] == ["video", "poll", "poll"]
    assert fake.operations[started.name or ""].polls == 2


async def test_express_mode_operations_are_polled_on_the_publisher_path(
    fake: FakeGemini, express: genai.client.AsyncClient
) -> None:
    config = types.GenerateVideosConfig(duration_seconds=4, number_of_videos=2)
    started = await express.models.generate_videos(model=VEO, source=veo_source(), config=config)
    done = await express.operations.get(started)

    assert (started.name or "").startswith(f"publishers/google/models/{VEO}/operations/")
    assert done.result
    assert done.result.generated_videos
    assert len(done.result.generated_videos) == 2
    poll = fake.calls("poll")[0]
    assert poll.path == f"/v1beta1/publishers/google/models/{VEO}:fetchPredictOperation"
    assert poll.headers["x-goog-api-key"] == "test-key"


async def test_storage_uri_answers_gcs_uris_with_the_clip_kept_in_the_fake(
    fake: FakeGemini, vertex: genai.client.AsyncClient
) -> None:
    config = types.GenerateVideosConfig(duration_seconds=4, output_gcs_uri="gs://bucket/out/")
    done = await vertex.operations.get(
        await vertex.models.generate_videos(model=VEO, source=veo_source(), config=config)
    )

    assert done.result
    assert done.result.generated_videos
    video = done.result.generated_videos[0].video
    assert video
    assert video.video_bytes is None
    assert video.uri
    assert video.uri.startswith("gs://bucket/out/")
    assert fake.gcs[video.uri][4:8] == b"ftyp"


async def test_video_from_a_model_that_cannot_make_video_is_refused(
    fake: FakeGemini, vertex: genai.client.AsyncClient
) -> None:
    with pytest.raises(errors.ClientError) as caught:
        await vertex.models.generate_videos(model=TEXT, source=veo_source())

    assert caught.value.code == 400
    assert "does not support video" in (caught.value.message or "")
    assert fake.operations == {}


# ---------------------------------------------------------------- Interactions API (video)


async def test_interaction_with_text_and_picture_completes_with_a_video(
    fake: FakeGemini,
) -> None:
    fake.polls_until_done = 1
    picture = halves()
    content: Any = [
        {"type": "text", "text": "Whiskers waves"},
        {"type": "image", "data": base64.b64encode(picture).decode(), "mime_type": "image/png"},
    ]
    video_format: Any = {"type": "video", "aspect_ratio": "16:9", "duration": "2s"}
    sync = make_client(fake, retry_options=NO_RETRY)
    async with sync.aio as client:
        created = await create_interaction(
            client, model=OMNI, input=content, background=True, response_format=video_format
        )
        running = await get_interaction(client, created.id)
        done = await get_interaction(client, created.id)
    sync.close()

    assert (created.status, running.status, done.status) == (
        "in_progress", "in_progress", "completed"
    )  # fmt: skip
    assert done.output_video
    assert done.output_video.mime_type == "video/mp4"
    clip = base64.b64decode(done.output_video.data or "")
    _, _, _, duration, width, height = clip_info(clip)
    assert duration == pytest.approx(2.0, abs=0.15)
    assert width > height
    assert_starts_from_halves(clip)
    recorded = fake.calls("interaction")[0]
    assert recorded.body
    assert recorded.body["input"][0]["type"] == "user_input"  # how the SDK sends a list
    assert (recorded.model, recorded.prompt, recorded.input_images) == (
        OMNI, "Whiskers waves", [picture]
    )  # fmt: skip
    assert recorded.aspect_ratio == "16:9"
    assert recorded.response_format["duration"] == "2s"
    operation = fake.operations[created.id or ""]
    assert (operation.api, operation.polls, operation.image) == ("interactions", 2, picture)
    assert [r.path for r in fake.calls("interaction_poll")] == [
        f"/v1beta/interactions/{created.id}"
    ] * 2


async def test_interaction_failure_and_filtering_are_terminal_statuses(fake: FakeGemini) -> None:
    fake.script(
        "interaction", OperationError(code=3, message="no video"), VideoFiltered(reasons=["no"])
    )
    results = []
    sync = make_client(fake, retry_options=NO_RETRY)
    async with sync.aio as client:
        for _ in range(2):
            created = await create_interaction(
                client,
                model=OMNI,
                input="a cat",
                background=True,
                response_format={"type": "video"},
            )
            results.append(await get_interaction(client, created.id))
    sync.close()
    failed, filtered = results

    assert failed.status == "failed"
    assert failed.output_video is None
    assert failed.errors
    assert (failed.errors[0].code, failed.errors[0].message) == ("INVALID_ARGUMENT", "no video")
    assert filtered.status == "incomplete"
    assert filtered.output_video is None
    assert filtered.errors
    assert filtered.errors[0].code == "SAFETY"


async def test_interaction_errors_come_from_the_interactions_module(fake: FakeGemini) -> None:
    fake.script("interaction", NeverDone())
    fake.script("interaction_poll", HttpError.quota())
    sync = make_client(fake, retry_options=NO_RETRY)
    async with sync.aio as client:
        with pytest.raises(_interactions.BadRequestError) as refused:
            await create_interaction(
                client, model=TEXT, input="x", background=True, response_format={"type": "video"}
            )
        created = await create_interaction(
            client, model=OMNI, input="x", background=True, response_format={"type": "video"}
        )
        with pytest.raises(_interactions.RateLimitError):
            await get_interaction(client, created.id)
        still = await get_interaction(client, created.id)
    sync.close()

    assert refused.value.status_code == 400
    assert "does not support video output" in str(refused.value)
    assert not isinstance(refused.value, errors.APIError)
    assert still.status == "in_progress"
    assert [r.status for r in fake.requests] == [400, 200, 429, 200]  # no retries


async def test_text_interaction_completes_at_once(fake: FakeGemini) -> None:
    sync = make_client(fake, retry_options=NO_RETRY)
    async with sync.aio as client:
        done = await create_interaction(client, model=TEXT, input="hello there")
    sync.close()

    assert done.status == "completed"
    assert "hello there" in (done.output_text or "")
