"""The fake Gemini refuses what the real service refuses, as the real one answers: 400
INVALID_ARGUMENT for an output the model cannot make, a missing field or a value outside the
documented set; models list their real methods."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.gemini_catalog import DEFAULT_MODELS
from tests.gemini_server import FakeGemini

TEXT, IMAGE, TTS = "gemini-3.8-flash", "gemini-nano-banana-2.1", "gemini-3.8-flash-tts"
LEGACY_TTS = "gemini-2.5-flash-preview-tts"
LINE = [{"role": "user", "parts": [{"text": "Once upon a time."}]}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(api_key="k", models=[*DEFAULT_MODELS, LEGACY_TTS]) as server:
        yield server


async def post(fake: FakeGemini, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession(headers={"x-goog-api-key": "k"}) as session,
        session.post(fake.base_url + path, json=body) as reply,
    ):
        return reply.status, await reply.json()


def generate(model: str) -> str:
    return f"/v1beta/models/{model}:generateContent"


def audio(voice: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"responseModalities": ["AUDIO"], "speechConfig": {"voiceConfig": voice}, **extra}


@pytest.mark.parametrize(
    ("model", "config", "message"),
    [
        (TEXT, {"responseModalities": ["IMAGE"]}, "response modalities (IMAGE) is not supported"),
        (IMAGE, {"responseModalities": ["AUDIO"]}, "response modalities (AUDIO) is not supported"),
        (IMAGE, {"responseMimeType": "application/json"}, "JSON mode is not enabled"),
        (TTS, {"responseMimeType": "application/json"}, "JSON mode is not enabled"),
        (
            IMAGE,
            {"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio": "7:5"}},
            "aspect_ratio must be one of",
        ),
        (
            IMAGE,
            {"responseModalities": ["IMAGE"], "imageConfig": {"outputMimeType": "image/png"}},
            'Unknown name "outputMimeType"',
        ),
        (TTS, audio({"voice": "Nobody"}), "Voice name Nobody is not supported"),
        (TTS, audio({"voice": "Kore"}, temperature=0.9), "temperature, topP and topK"),
    ],
)
async def test_requests_the_real_service_refuses(
    fake: FakeGemini, model: str, config: dict[str, Any], message: str
) -> None:
    status, body = await post(
        fake, generate(model), {"contents": LINE, "generationConfig": config}
    )
    assert status == 400
    assert body["error"]["status"] == "INVALID_ARGUMENT"
    assert message in body["error"]["message"]


async def test_contents_are_required(fake: FakeGemini) -> None:
    status, body = await post(fake, generate(TEXT), {"contents": []})
    assert status == 400
    assert "contents is not specified" in body["error"]["message"]


async def test_tts_before_3_8_knows_no_speech_metadata_and_answers_pcm(fake: FakeGemini) -> None:
    styled = [{"role": "user", "parts": [{"text": "Hi.", "speechMetadata": {"style": "warm"}}]}]
    config = audio({"prebuiltVoiceConfig": {"voiceName": "Kore"}})
    status, body = await post(
        fake, generate(LEGACY_TTS), {"contents": styled, "generationConfig": config}
    )
    assert status == 400
    assert "speech_metadata" in body["error"]["message"]
    status, body = await post(
        fake, generate(LEGACY_TTS), {"contents": LINE, "generationConfig": config}
    )
    assert status == 200
    assert body["candidates"][0]["content"]["parts"][0]["inlineData"]["mimeType"].startswith(
        "audio/L16"
    )


async def test_tts_3_8_answers_a_wav_file(fake: FakeGemini) -> None:
    status, body = await post(
        fake, generate(TTS), {"contents": LINE, "generationConfig": audio({"voice": "Kore"})}
    )
    assert status == 200
    blob = body["candidates"][0]["content"]["parts"][0]["inlineData"]
    assert blob["mimeType"] == "audio/wav"
    assert fake.calls("tts")[0].voice == "Kore"


@pytest.mark.parametrize(
    ("model", "seconds", "ok"),
    [("veo-3.1-fast-generate-001", 5, False), ("veo-3.1-fast-generate-001", 6, True),
     ("veo-2.0-generate-001", 5, True), ("veo-2.0-generate-001", 4, False)],
)  # fmt: skip
async def test_veo_lengths_per_family(
    fake: FakeGemini, model: str, seconds: int, ok: bool
) -> None:
    fake.models = [*fake.models, model]
    body = {"instances": [{"prompt": "a cat"}],
            "parameters": {"durationSeconds": seconds, "aspectRatio": "16:9"}}  # fmt: skip
    status, answer = await post(fake, f"/v1beta1/publishers/google/models/{model}"
                                ":predictLongRunning", body)  # fmt: skip
    assert (status == 200) is ok, answer


async def test_models_list_their_real_methods(fake: FakeGemini) -> None:
    async with (
        aiohttp.ClientSession(headers={"x-goog-api-key": "k"}) as session,
        session.get(fake.base_url + "/v1beta/models?pageSize=100") as reply,
    ):
        listed = {m["baseModelId"]: m["supportedGenerationMethods"]
                  for m in (await reply.json())["models"]}  # fmt: skip
    assert "generateContent" in listed[TEXT]
    assert listed["gemini-3.8-live"] == ["bidiGenerateContent"]
    assert listed["veo-3.1-fast-generate-001"] == ["predictLongRunning"]
    assert "generateContent" not in listed["gemini-omni-1.1-flash"]


async def test_a_broken_fake_fails_its_test() -> None:
    """An exception inside the fake's own handler is not hidden behind a 500 that the product
    would retry: stopping the fake raises."""
    fake = FakeGemini(api_key="k")
    await fake.start()

    def broken(*_: object) -> dict[str, Any]:
        raise KeyError("a bug in the fake")

    fake._list = broken  # type: ignore[method-assign]
    async with (
        aiohttp.ClientSession(headers={"x-goog-api-key": "k"}) as session,
        session.get(fake.base_url + "/v1beta/models") as reply,
    ):
        assert reply.status == 500
    with pytest.raises(AssertionError, match="a bug in the fake"):
        await fake.stop()
