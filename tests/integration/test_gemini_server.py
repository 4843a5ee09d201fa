"""The fake Gemini server speaks the wire format the real google-genai client expects."""

from __future__ import annotations

import asyncio
import io
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image
from pydantic import BaseModel

from tests.gemini_server import (
    TTS_RATE,
    Delay,
    FakeGemini,
    Hang,
    HttpError,
    Malformed,
    NoImage,
    Persistent,
    PromptBlocked,
    ResponseBlocked,
)

pytestmark = [
    # google-genai 3.4 subclasses aiohttp.ClientSession on its first async request
    pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning"),
    pytest.mark.timeout(30),
]

TEXT, IMAGE, TTS = "gemini-2.5-flash", "gemini-2.5-flash-image", "gemini-2.5-flash-preview-tts"
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
    async with FakeGemini(image_scale=0.25) as server:
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
    assert "rate=24000" in blob.mime_type
    assert len(blob.data) % 2 == 0
    seconds = len(blob.data) / 2 / TTS_RATE
    assert 0.2 * 7 < seconds < 0.45 * 7
    assert fake.requests[0].voice == "Kore"
    assert fake.requests[0].kind == "tts"


async def test_models_list_pages_through_the_configured_models(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    pager = await client.models.list(config={"page_size": 2})
    names = [model.name async for model in pager]

    assert names == [f"models/{m}" for m in fake.models]
    assert [r.kind for r in fake.requests] == ["list", "list"]


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
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    fake.script("text", Delay(0.2))
    start = time.monotonic()
    await client.models.generate_content(model=TEXT, contents="slow")
    middle = time.monotonic()
    await client.models.generate_content(model=TEXT, contents="fast")

    assert middle - start >= 0.2
    assert time.monotonic() - middle < 0.2


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
            response = await client.models.generate_content(model=TEXT, contents="hi")
        assert response.text
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0, stderr.decode()
