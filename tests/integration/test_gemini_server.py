"""The fake Gemini server speaks the wire format the real google-genai client expects."""

from __future__ import annotations

import asyncio
import base64
import io
import math
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import av
import numpy as np
import pytest
from google import genai
from google.genai import _interactions, errors, types
from google.genai.interactions import Interaction
from google.oauth2.credentials import Credentials
from PIL import Image
from pydantic import BaseModel

from tests.gemini_catalog import DEFAULT_MODELS
from tests.gemini_server import (
    TTS_RATE,
    Delay,
    FakeGemini,
    Hang,
    HttpError,
    Malformed,
    NeverDone,
    NoImage,
    OperationError,
    Persistent,
    PromptBlocked,
    RaiFiltered,
    ResponseBlocked,
    VideoFiltered,
    speech_pcm,
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

# The wire shapes of one generation before the current one (raw PCM TTS, Imagen) are kept
# in this fake's catalog beside the defaults, for whoever still has them.
TEXT, IMAGE, TTS = "gemini-2.5-flash", "gemini-2.5-flash-image", "gemini-2.5-flash-preview-tts"
IMAGEN, VEO, OMNI = "imagen-4.0-generate-001", "veo-3.1-generate-001", "gemini-omni-1.1-flash"
CATALOG = [*DEFAULT_MODELS, TEXT, IMAGE, TTS, IMAGEN, VEO]
NO_RETRY = types.HttpRetryOptions(attempts=1)
ROOT = Path(__file__).resolve().parents[2]


class SceneOut(BaseModel):
    image_prompt: str
    narration: str
    character_description: str


class StoryOut(BaseModel):
    title: str
    scenes: list[SceneOut]


class Rephrased(BaseModel):
    image_prompt: str


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(image_scale=0.25, models=CATALOG) as server:
        yield server


def make_client(fake: FakeGemini, **http: Any) -> genai.Client:
    options = types.HttpOptions(base_url=fake.base_url, api_version="v1beta", **http)
    return genai.Client(api_key=fake.api_key, http_options=options)


@pytest.fixture
async def client(fake: FakeGemini) -> AsyncIterator[genai.client.AsyncClient]:
    sync = make_client(fake)
    yield sync.aio
    await sync.aio.aclose()
    sync.close()


def json_config(schema: type[BaseModel]) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=schema
    )


def parts_of(response: types.GenerateContentResponse) -> list[types.Part]:
    assert response.candidates
    content = response.candidates[0].content
    assert content
    assert content.parts
    return content.parts


def png(colour: tuple[int, int, int], size: tuple[int, int] = (32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


# ---------------------------------------------------------------- success paths


@pytest.mark.parametrize(("phrase", "count"), [("exactly 4 scenes", 4), ("exactly one scene", 1)])
async def test_story_json_is_parsed_with_the_requested_scene_count(
    fake: FakeGemini, client: genai.client.AsyncClient, phrase: str, count: int
) -> None:
    response = await client.models.generate_content(
        model=TEXT, contents=f"A cat and a dog. Write {phrase}.", config=json_config(StoryOut)
    )

    story = response.parsed
    assert isinstance(story, StoryOut)
    assert len(story.scenes) == count
    assert len({s.character_description for s in story.scenes}) == 1
    assert "Whiskers" in story.scenes[0].narration
    assert [r.kind for r in fake.requests] == ["story"]
    assert response.candidates
    assert response.candidates[0].finish_reason == "STOP"
    assert response.usage_metadata
    assert response.usage_metadata.total_token_count


async def test_json_schema_with_refs_and_scene_count_in_system_instruction(
    client: genai.client.AsyncClient,
) -> None:
    config = types.GenerateContentConfig(
        system_instruction="Always write exactly 6 scenes.",
        response_mime_type="application/json",
        response_json_schema=StoryOut.model_json_schema(),  # nested model → $defs/$ref
    )
    response = await client.models.generate_content(model=TEXT, contents="a cat", config=config)

    assert len(StoryOut.model_validate_json(response.text or "").scenes) == 6


async def test_rephrase_returns_a_softened_image_prompt(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    response = await client.models.generate_content(
        model=TEXT,
        contents="Rewrite this image prompt so it is safe for children: a scary monster fight",
        config=json_config(Rephrased),
    )

    assert isinstance(response.parsed, Rephrased)
    assert "friendly creature" in response.parsed.image_prompt
    assert "scary" not in response.parsed.image_prompt
    assert fake.requests[0].is_rephrase


async def test_image_follows_aspect_ratio_and_records_the_reference_picture(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    reference = png((255, 0, 0))
    config = types.GenerateContentConfig(
        response_modalities=["TEXT", "IMAGE"],
        image_config=types.ImageConfig(aspect_ratio="9:16"),
    )
    contents: list[types.PartUnionDict] = [
        types.Part.from_bytes(data=reference, mime_type="image/png"),
        "Same cat, in rain.",
    ]
    response = await client.models.generate_content(model=IMAGE, contents=contents, config=config)

    parts = parts_of(response)
    assert parts[0].text == "Here it is."
    blob = parts[1].inline_data
    assert blob
    assert blob.mime_type == "image/png"
    assert blob.data
    assert blob.data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(blob.data)) as image:
        assert image.size == (192, 336)  # 768x1344 (the real 9:16 size) at scale 0.25
    recorded = fake.requests[0]
    assert (recorded.kind, recorded.aspect_ratio, recorded.inline_images) == (
        "image", "9:16", [reference]
    )  # fmt: skip


async def test_images_differ_per_prompt_and_landscape_is_wide(
    client: genai.client.AsyncClient,
) -> None:
    config = types.GenerateContentConfig(
        response_modalities=["IMAGE"], image_config=types.ImageConfig(aspect_ratio="16:9")
    )
    images = []
    for prompt in ("a cat on a sofa", "a dog in a boat"):
        response = await client.models.generate_content(
            model=IMAGE, contents=prompt, config=config
        )
        (part,) = parts_of(response)  # IMAGE only: no text part
        assert part.inline_data
        assert part.inline_data.data
        images.append(Image.open(io.BytesIO(part.inline_data.data)).convert("RGB"))

    assert images[0].size == (336, 192)
    assert images[0].getpixel((1, 1)) != images[1].getpixel((1, 1))


async def test_tts_returns_pcm_at_24khz_for_the_requested_voice(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    config = types.GenerateContentConfig(
        response_modalities=["AUDIO"],
        speech_config=types.SpeechConfig(
            voice_config=types.VoiceConfig(
                prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Kore")
            )
        ),
    )
    words = "Whiskers and Buster found a shiny map"
    response = await client.models.generate_content(model=TTS, contents=words, config=config)

    (part,) = parts_of(response)
    blob = part.inline_data
    assert blob
    assert blob.mime_type
    assert blob.data
    assert f"rate={TTS_RATE}" in blob.mime_type
    assert blob.data == speech_pcm(words)  # the line itself, spoken word by word
    assert fake.requests[0].voice == "Kore"
    assert fake.requests[0].kind == "tts"


async def test_models_list_pages_through_the_configured_models(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    pager = await client.models.list(config={"page_size": 2})
    names = [model.name async for model in pager]

    assert names == [f"models/{m}" for m in fake.models]
    assert [r.kind for r in fake.requests] == ["list"] * math.ceil(len(fake.models) / 2)


async def test_latency_knob_delays_the_answer(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    fake.latency["text"] = 0.3
    start = time.monotonic()
    response = await client.models.generate_content(model=TEXT, contents="hello")

    assert time.monotonic() - start >= 0.3
    assert "hello" in (response.text or "")


# ---------------------------------------------------------------- errors


async def test_quota_error_carries_retry_info(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    fake.script("story", HttpError.quota(retry_delay="2s"))
    with pytest.raises(errors.ClientError) as caught:
        await client.models.generate_content(
            model=TEXT, contents="x", config=json_config(StoryOut)
        )

    assert caught.value.code == 429
    assert caught.value.status == "RESOURCE_EXHAUSTED"
    details = caught.value.details["error"]["details"]
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"} in details
    # one-shot: the next call succeeds
    ok = await client.models.generate_content(
        model=TEXT, contents="x", config=json_config(StoryOut)
    )
    assert ok.parsed is not None


@pytest.mark.parametrize("fault", [HttpError.overloaded(), HttpError.internal()])
async def test_5xx_raise_server_error(
    fake: FakeGemini, client: genai.client.AsyncClient, fault: HttpError
) -> None:
    fake.script("text", fault)
    with pytest.raises(errors.ServerError) as caught:
        await client.models.generate_content(model=TEXT, contents="x")

    assert caught.value.code == fault.status
    assert caught.value.message == fault.message


async def test_wrong_api_key_gets_api_key_invalid(fake: FakeGemini) -> None:
    async with genai.Client(
        api_key="wrong", http_options=types.HttpOptions(base_url=fake.base_url)
    ).aio as client:
        with pytest.raises(errors.ClientError) as caught:
            await client.models.generate_content(model=TEXT, contents="x")

    assert caught.value.code == 400
    assert caught.value.status == "INVALID_ARGUMENT"
    assert "API_KEY_INVALID" in str(caught.value.details)
    assert fake.requests[0].path == "/v1/models/gemini-2.5-flash:generateContent"  # 3.x default


async def test_unknown_model_is_not_found(client: genai.client.AsyncClient) -> None:
    with pytest.raises(errors.ClientError) as caught:
        await client.models.generate_content(model="gemini-0.1-retired", contents="x")

    assert caught.value.code == 404
    assert caught.value.status == "NOT_FOUND"


async def test_persistent_fault_hits_every_retry_of_the_sdk(fake: FakeGemini) -> None:
    fake.script("text", Persistent(HttpError.overloaded()))
    retry = types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.02, jitter=0)
    sync = make_client(fake, retry_options=retry)
    async with sync.aio as client:
        with pytest.raises(errors.ServerError):
            await client.models.generate_content(model=TEXT, contents="x")
    sync.close()

    assert [r.status for r in fake.requests] == [503, 503, 503]
    fake.reset()
    assert fake.requests == []


async def test_hang_lets_the_client_time_out(fake: FakeGemini) -> None:
    fake.script("text", Hang())
    sync = make_client(fake, timeout=200)  # milliseconds
    async with sync.aio as client:
        with pytest.raises(TimeoutError):
            await client.models.generate_content(model=TEXT, contents="x")
    sync.close()


async def test_delay_fault_adds_latency_to_one_call(
    fake: FakeGemini, client: genai.client.AsyncClient, wait_until: WaitUntil
) -> None:
    """The delayed call is still unanswered when the next one, sent after it, has its answer:
    the delay held back that call and no other (no bound on how fast the second one is)."""
    fake.script("text", Delay(60))
    slow = asyncio.ensure_future(client.models.generate_content(model=TEXT, contents="slow"))
    await wait_until(lambda: fake.calls("text"), what="the first call to reach the fake")
    fast = await client.models.generate_content(model=TEXT, contents="fast")
    answered_first = slow.done()
    slow.cancel()

    assert "fast" in (fast.text or "")
    assert not answered_first
    assert [call.text for call in fake.calls("text")] == ["slow", "fast"]


# ---------------------------------------------------------------- safety and bad content


async def test_prompt_blocked_has_no_candidates(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    fake.script("story", PromptBlocked())
    response = await client.models.generate_content(
        model=TEXT, contents="x", config=json_config(StoryOut)
    )

    assert response.candidates is None
    assert response.prompt_feedback is not None
    assert response.prompt_feedback.block_reason == types.BlockedReason.PROHIBITED_CONTENT
    assert response.parsed is None


@pytest.mark.parametrize("reason", ["SAFETY", "IMAGE_SAFETY"])
async def test_response_blocked_has_a_finish_reason_and_no_content(
    fake: FakeGemini, client: genai.client.AsyncClient, reason: str
) -> None:
    fake.script("image", ResponseBlocked(finish_reason=reason))
    config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
    response = await client.models.generate_content(model=IMAGE, contents="x", config=config)

    assert response.candidates
    assert response.candidates[0].finish_reason == reason
    assert response.candidates[0].content is None
    assert response.candidates[0].safety_ratings


async def test_malformed_story_gives_parsed_none(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    fake.script("story", Malformed(), Malformed(text='{"title": "No scenes"}'))
    for _ in range(2):
        response = await client.models.generate_content(
            model=TEXT, contents="x", config=json_config(StoryOut)
        )
        assert response.parsed is None
        assert response.text


async def test_no_image_answers_with_text_only(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    fake.script("image", NoImage())
    config = types.GenerateContentConfig(response_modalities=["IMAGE"])
    response = await client.models.generate_content(model=IMAGE, contents="x", config=config)

    assert [p.inline_data for p in parts_of(response)] == [None]
    assert response.candidates
    assert response.candidates[0].finish_reason == "STOP"


# ---------------------------------------------------------------- raw wire and command line


async def test_snake_case_request_keys_are_understood(fake: FakeGemini) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "a dog"}]}],
        "generation_config": {"response_modalities": ["IMAGE"],
                              "image_config": {"aspect_ratio": "1:1"}},
    }  # fmt: skip
    url = f"{fake.base_url}/v1beta/models/{IMAGE}:generateContent"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers={"x-goog-api-key": "test-key"}) as reply,
    ):
        assert reply.status == 200
        data = await reply.json()
    part = data["candidates"][0]["content"]["parts"][0]
    assert part["inlineData"]["mimeType"] == "image/png"
    assert fake.requests[0].aspect_ratio == "1:1"


async def test_error_bodies_are_json_even_for_unknown_routes(fake: FakeGemini) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{fake.base_url}/v1beta/nothing", headers={"x-goog-api-key": "test-key"}
        ) as reply,
    ):
        assert reply.status == 404
        assert reply.content_type == "application/json"
        assert (await reply.json())["error"]["status"] == "NOT_FOUND"


async def test_standalone_server_prints_its_url_and_serves() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.gemini_server", "--port", "0", "--image-scale", "0.1",
        "--latency-video", "0.5",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        base_url = line.decode().strip()
        assert base_url.startswith("http://127.0.0.1:")
        async with genai.Client(
            api_key="anything", http_options=types.HttpOptions(base_url=base_url)
        ).aio as client:
            response = await client.models.generate_content(model=DEFAULT_MODELS[0], contents="hi")
        assert response.text
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0, stderr.decode()


# ---------------------------------------------------------------- Vertex AI


def vertex_client(
    fake: FakeGemini, *, token: str = "test", express: bool = False, **http: Any
) -> genai.Client:
    options = types.HttpOptions(base_url=fake.base_url, retry_options=NO_RETRY, **http)
    if express:
        return genai.Client(vertexai=True, api_key=fake.api_key, http_options=options)
    return genai.Client(
        vertexai=True,
        project="p",
        location="us-central1",
        credentials=Credentials(token=token),  # type: ignore[no-untyped-call]
        http_options=options,
    )


@pytest.fixture
async def vertex(fake: FakeGemini) -> AsyncIterator[genai.client.AsyncClient]:
    sync = vertex_client(fake)
    yield sync.aio
    await sync.aio.aclose()
    sync.close()


@pytest.fixture
async def express(fake: FakeGemini) -> AsyncIterator[genai.client.AsyncClient]:
    sync = vertex_client(fake, express=True)
    yield sync.aio
    await sync.aio.aclose()
    sync.close()


def halves(size: tuple[int, int] = (64, 36)) -> bytes:
    """A picture whose left half is red and right half blue."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def first_frame(clip: bytes) -> np.ndarray[Any, Any]:
    with av.open(io.BytesIO(clip), mode="r") as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")


def clip_info(clip: bytes) -> tuple[str, str, float, float, int, int]:
    """Video codec, audio codec, fps, duration (s), width, height of an MP4."""
    with av.open(io.BytesIO(clip), mode="r") as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        return (
            video.codec_context.name, audio.codec_context.name, float(video.average_rate or 0),
            float(container.duration or 0) / av.time_base, video.width, video.height,
        )  # fmt: skip


async def create_interaction(client: genai.client.AsyncClient, **kwargs: Any) -> Interaction:
    created = await client.interactions.create(**kwargs)
    assert isinstance(created, Interaction)
    return created


async def get_interaction(client: genai.client.AsyncClient, name: str | None) -> Interaction:
    got = await client.interactions.get(name or "")
    assert isinstance(got, Interaction)
    return got


def assert_starts_from_halves(clip: bytes) -> None:
    rgb = first_frame(clip).astype(float)
    quarter = rgb.shape[1] // 4
    left, right = rgb[:, :quarter].mean(axis=(0, 1)), rgb[:, -quarter:].mean(axis=(0, 1))
    assert left[0] > 180 > left[2], left  # red
    assert right[2] > 180 > right[0], right  # blue


async def test_vertex_generate_content_answers_every_kind_with_bearer_auth(
    fake: FakeGemini, vertex: genai.client.AsyncClient
) -> None:
    text = await vertex.models.generate_content(model=TEXT, contents="hello")
    story = await vertex.models.generate_content(
        model=TEXT, contents="Write exactly 2 scenes.", config=json_config(StoryOut)
    )
    config = types.GenerateContentConfig(
        response_modalities=["IMAGE"], image_config=types.ImageConfig(aspect_ratio="16:9")
    )
    image = await vertex.models.generate_content(model=IMAGE, contents="a cat", config=config)

    assert "hello" in (text.text or "")
    assert isinstance(story.parsed, StoryOut)
    assert len(story.parsed.scenes) == 2
    (part,) = parts_of(image)
    assert part.inline_data
    assert part.inline_data.data
    assert Image.open(io.BytesIO(part.inline_data.data)).size == (336, 192)
    assert [r.kind for r in fake.requests] == ["text", "story", "image"]
    first = fake.requests[0]
    assert first.path == (
        "/v1beta1/projects/p/locations/us-central1/publishers/google/models/"
        "gemini-2.5-flash:generateContent"
    )
    assert (first.vertex, first.project, first.location) == (True, "p", "us-central1")
    assert first.headers["authorization"] == "Bearer test"
    assert "x-goog-api-key" not in first.headers


async def test_vertex_models_get_and_list_use_the_publisher_shape(
    fake: FakeGemini, vertex: genai.client.AsyncClient
) -> None:
    model = await vertex.models.get(model=VEO)
    pager = await vertex.models.list(config={"page_size": 4})
    names = [m.name async for m in pager]
    with pytest.raises(errors.ClientError) as caught:
        await vertex.models.get(model="veo-0-retired")

    assert (model.name, model.version) == (f"publishers/google/models/{VEO}", "001")
    assert names == [f"publishers/google/models/{m}" for m in fake.models]
    assert caught.value.code == 404
    assert "Publisher model `publishers/google/models/veo-0-retired`" in (
        caught.value.message or ""
    )
    # the SDK reads base models without projects/..., still with the bearer token
    assert all(r.path.startswith("/v1beta1/publishers/google/models") for r in fake.requests)
    assert all(r.headers["authorization"] == "Bearer test" for r in fake.requests)


async def test_vertex_unknown_model_names_the_publisher_model(
    vertex: genai.client.AsyncClient,
) -> None:
    with pytest.raises(errors.ClientError) as caught:
        await vertex.models.generate_content(model="gemini-0.1-retired", contents="x")

    assert caught.value.code == 404
    assert caught.value.status == "NOT_FOUND"
    assert "projects/p/locations/us-central1/publishers/google/models/gemini-0.1-retired" in (
        caught.value.message or ""
    )


async def test_wrong_bearer_token_is_unauthenticated(fake: FakeGemini) -> None:
    sync = vertex_client(fake, token="expired")
    async with sync.aio as client:
        with pytest.raises(errors.ClientError) as caught:
            await client.models.generate_content(model=TEXT, contents="x")
    sync.close()

    assert caught.value.code == 401
    assert caught.value.status == "UNAUTHENTICATED"
    assert (caught.value.message or "").startswith(
        "Request had invalid authentication credentials. Expected OAuth 2 access token"
    )
    assert fake.requests[0].status == 401


async def test_project_path_without_a_bearer_token_is_unauthenticated(fake: FakeGemini) -> None:
    url = f"{fake.base_url}/v1beta1/projects/p/locations/us-central1/publishers/google/models/{TEXT}:generateContent"  # noqa: E501
    body = {"contents": [{"parts": [{"text": "x"}]}]}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers={"x-goog-api-key": "test-key"}) as reply,
    ):
        assert reply.status == 401
        error = (await reply.json())["error"]
    assert error["status"] == "UNAUTHENTICATED"
    assert error["message"].startswith("Request is missing required authentication credential.")
    assert error["details"][0]["reason"] == "CREDENTIALS_MISSING"


async def test_developer_api_has_no_imagen_predict(fake: FakeGemini) -> None:
    url = f"{fake.base_url}/v1beta/models/{IMAGEN}:predict"
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url, json={"instances": [{"prompt": "x"}]}, headers={"x-goog-api-key": "test-key"}
        ) as reply,
    ):
        assert reply.status == 404
        error = (await reply.json())["error"]
    assert error["status"] == "NOT_FOUND"
    assert "not supported for predict" in error["message"]


@pytest.mark.parametrize(
    ("aspect", "size"), [("9:16", (192, 352)), ("16:9", (352, 192)), ("1:1", (256, 256))]
)
async def test_imagen_draws_each_sample_at_the_imagen_size(
    fake: FakeGemini, vertex: genai.client.AsyncClient, aspect: str, size: tuple[int, int]
) -> None:
    config = types.GenerateImagesConfig(
        number_of_images=2,
        aspect_ratio=aspect,
        person_generation=types.PersonGeneration.DONT_ALLOW,
        negative_prompt="blurry",
        include_rai_reason=True,
        output_mime_type="image/png",
    )
    response = await vertex.models.generate_images(
        model=IMAGEN, prompt="Whiskers in a boat", config=config
    )

    assert response.generated_images
    pictures = [g.image.image_bytes for g in response.generated_images if g.image]
    assert len(pictures) == 2
    for data in pictures:
        assert data
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert Image.open(io.BytesIO(data)).size == size  # Imagen's size at scale 0.25
    assert pictures[0] != pictures[1]
    recorded = fake.requests[0]
    assert (recorded.kind, recorded.verb, recorded.project) == ("imagen", "predict", "p")
    assert recorded.instance == {"prompt": "Whiskers in a boat"}
    assert recorded.prompt == "Whiskers in a boat"
    assert recorded.aspect_ratio == aspect
    params = recorded.parameters
    assert (params["sampleCount"], params["negativePrompt"]) == (2, "blurry")
    assert params["personGeneration"] == "DONT_ALLOW"
    assert params["outputOptions"] == {"mimeType": "image/png"}


async def test_imagen_defaults_to_four_samples_and_can_answer_jpeg(
    vertex: genai.client.AsyncClient,
) -> None:
    config = types.GenerateImagesConfig(output_mime_type="image/jpeg")
    response = await vertex.models.generate_images(model=IMAGEN, prompt="a dog", config=config)

    assert response.generated_images
    assert len(response.generated_images) == 4
    image = response.generated_images[0].image
    assert image
    assert image.mime_type == "image/jpeg"
    assert (image.image_bytes or b"").startswith(b"\xff\xd8")


@pytest.mark.parametrize("with_reason", [True, False])
async def test_rai_filtered_imagen_with_and_without_the_reason(
    fake: FakeGemini, vertex: genai.client.AsyncClient, with_reason: bool
) -> None:
    fake.script("imagen", RaiFiltered())
    config = types.GenerateImagesConfig(number_of_images=1, include_rai_reason=with_reason)
    response = await vertex.models.generate_images(model=IMAGEN, prompt="x", config=config)

    if with_reason:
        assert response.generated_images
        (generated,) = response.generated_images
        assert generated.image is not None  # an empty Image, not None
        assert generated.image.image_bytes is None
        assert "Responsible AI practices" in (generated.rai_filtered_reason or "")
    else:
        assert response.generated_images is None  # the body is {}


async def test_rai_filtered_count_keeps_the_other_samples(
    fake: FakeGemini, vertex: genai.client.AsyncClient
) -> None:
    fake.script("imagen", RaiFiltered(reason="filtered", count=1))
    config = types.GenerateImagesConfig(number_of_images=3, include_rai_reason=True)
    response = await vertex.models.generate_images(model=IMAGEN, prompt="x", config=config)

    assert response.generated_images
    reasons = [g.rai_filtered_reason for g in response.generated_images]
    assert reasons == [None, None, "filtered"]
    assert all(g.image and g.image.image_bytes for g in response.generated_images[:2])


async def test_express_mode_sends_the_api_key_to_publisher_paths(
    fake: FakeGemini, express: genai.client.AsyncClient
) -> None:
    text = await express.models.generate_content(model=TEXT, contents="hello")
    config = types.GenerateImagesConfig(number_of_images=1, aspect_ratio="16:9")
    images = await express.models.generate_images(model=IMAGEN, prompt="a dog", config=config)

    assert "hello" in (text.text or "")
    assert images.generated_images
    picture = images.generated_images[0].image
    assert picture
    assert picture.image_bytes
    assert Image.open(io.BytesIO(picture.image_bytes)).size == (352, 192)
    first, second = fake.requests
    assert first.path == "/v1beta1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert second.path == f"/v1beta1/publishers/google/models/{IMAGEN}:predict"
    for recorded in (first, second):
        assert (recorded.vertex, recorded.project, recorded.location) == (True, None, None)
        assert recorded.headers["x-goog-api-key"] == "test-key"
        assert "authorization" not in recorded.headers


async def test_express_mode_with_a_wrong_key_gets_api_key_invalid(fake: FakeGemini) -> None:
    options = types.HttpOptions(base_url=fake.base_url)
    async with genai.Client(vertexai=True, api_key="wrong", http_options=options).aio as client:
        with pytest.raises(errors.ClientError) as caught:
            await client.models.generate_content(model=TEXT, contents="x")

    assert caught.value.code == 400
    assert "API_KEY_INVALID" in str(caught.value.details)
    assert "aiplatform.googleapis.com" in str(caught.value.details)


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


def test_env_helpers_point_at_the_fake() -> None:
    fake = FakeGemini(port=8765)

    assert fake.env() == {"GEMINI_API_KEY": "test-key", "GEMINI_BASE_URL": fake.base_url}
    assert fake.vertex_env() == {
        "GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_BASE_URL": fake.base_url,
        "GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_CLOUD_LOCATION": "us-central1",
    }  # fmt: skip
    assert fake.vertex_env(express=True) == {
        "GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_BASE_URL": fake.base_url,
        "GOOGLE_API_KEY": "test-key",
    }  # fmt: skip
