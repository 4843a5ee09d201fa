"""The fake Gemini answers the Developer API the way the real google-genai client expects: stories,
images, speech, model lists, the raw wire and the command line."""

from __future__ import annotations

import asyncio
import io
import math
import signal
import sys
import time

import aiohttp
import pytest
from google import genai
from google.genai import types
from PIL import Image

from tests.gemini_catalog import DEFAULT_MODELS
from tests.gemini_server import TTS_RATE, FakeGemini, speech_pcm
from tests.selftest.gemini.helpers import (
    IMAGE,
    ROOT,
    TEXT,
    TTS,
    Rephrased,
    StoryOut,
    json_config,
    parts_of,
    png,
)

pytestmark = [
    # google-genai 3.4 subclasses aiohttp.ClientSession on its first async request
    pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning"),
    # generate_images warns once per process that Imagen is deprecated
    pytest.mark.filterwarnings("ignore::google.genai._common.ExperimentalWarning"),
    pytest.mark.timeout(30),
]


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
