"""Live API narration (`STORYBOT_NARRATOR=live`) with the real SDK against the TLS Live fake,
the TTS model of the fake Gemini server as its fallback."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator

import pytest

from core.config import Settings
from core.providers import build_providers
from core.providers.live import LIVE_INSTRUCTION, LiveNarrator
from tests.gemini_server import FakeGemini, speech_pcm
from tests.live_server import CloseWithError, FakeLive, NeverComplete

KEY = "AIzaSy-live-test-key-0123456789"
LINE = "Whiskers the cat found a shiny red ball under the old oak tree."


@pytest.fixture
async def gemini() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(api_key=KEY) as server:
        yield server


@pytest.fixture
async def live() -> AsyncIterator[FakeLive]:
    async with FakeLive(api_key=KEY, chunk_s=0.25) as server:
        yield server


def live_settings(
    gemini: FakeGemini, live: FakeLive, monkeypatch: pytest.MonkeyPatch, **extra: str
) -> Settings:
    env = {
        "GEMINI_API_KEY": KEY, "GEMINI_BASE_URL": gemini.base_url, "STORYBOT_NARRATOR": "live",
        **live.env(), **extra,
    }  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # SSL_CERT_FILE before the client exists
    return Settings()


async def test_live_narration_collects_every_audio_message(
    gemini: FakeGemini, live: FakeLive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One session per line: audio-only setup with the voice and the reading instruction; the
    PCM streamed over several messages is exactly what the client keeps."""
    providers = build_providers(live_settings(gemini, live, monkeypatch))
    assert isinstance(providers.narrator, LiveNarrator)
    try:
        speech = await providers.narrator.speak(LINE, voice="Puck", language="en")
        second = await providers.narrator.speak("They play all day.", voice=None, language="en")
    finally:
        await providers.aclose()
    assert len(live.sessions) == 2  # one session per narration line
    session = live.sessions[0]
    assert session.response_modalities == ["AUDIO"]
    assert session.voice == "Puck"
    assert LIVE_INSTRUCTION in session.system_text
    assert "no introductions" in session.system_text
    (turn,) = session.turns
    assert turn.text == LINE
    assert turn.chunks > 1  # the audio really came in pieces
    assert speech.sample_rate == 24_000
    assert speech.pcm == turn.audio == speech_pcm(LINE)
    assert second.pcm == live.sessions[1].turns[0].audio
    assert not gemini.calls("tts")  # Live worked: the TTS model was never asked
    assert providers.models["narration"] == "gemini-3.8-live"


async def test_a_turn_that_never_completes_falls_back_to_tts_within_the_bound(
    gemini: FakeGemini, live: FakeLive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partial audio is never used: after STORYBOT_LIVE_TIMEOUT_S the TTS model reads the line."""
    live.script(NeverComplete(chunks=2))
    settings = live_settings(gemini, live, monkeypatch, STORYBOT_LIVE_TIMEOUT_S="1")
    providers = build_providers(settings)
    started = time.monotonic()
    try:
        speech = await providers.narrator.speak(LINE, voice="Kore", language="en")
    finally:
        await providers.aclose()
    elapsed = time.monotonic() - started
    assert live.sessions[0].turns[0].chunks == 2  # Live did start talking
    (tts,) = gemini.calls("tts")
    assert tts.voice == "Kore"
    assert LINE in tts.text
    assert speech.pcm == speech_pcm(LINE)  # the TTS fake's audio, whole
    assert elapsed < settings.live_timeout_s + 10  # the bound, plus one TTS call


async def test_a_closed_session_or_an_unreachable_live_endpoint_falls_back(
    gemini: FakeGemini, live: FakeLive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error close mid-turn, and a Live endpoint that refuses connections, both give TTS."""
    live.script(CloseWithError(code=1011, after_chunks=1))
    providers = build_providers(live_settings(gemini, live, monkeypatch))
    try:
        first = await providers.narrator.speak(LINE, voice=None, language="en")
    finally:
        await providers.aclose()
    assert first.pcm == speech_pcm(LINE)
    assert len(gemini.calls("tts")) == 1

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("GEMINI_LIVE_BASE_URL", f"https://127.0.0.1:{closed_port}")
    providers = build_providers(Settings())
    try:
        second = await providers.narrator.speak(LINE, voice=None, language="en")
    finally:
        await providers.aclose()
    assert second.pcm == speech_pcm(LINE)
    assert len(gemini.calls("tts")) == 2


async def test_live_logs_never_show_the_key(
    gemini: FakeGemini,
    live: FakeLive,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The fallback's warning says why in a few words; neither StoryBot nor the SDK logs the key
    (websockets' DEBUG header dump is kept at INFO by `configure_logging`)."""
    caplog.set_level("DEBUG")
    live.script(CloseWithError(code=1011))
    providers = build_providers(live_settings(gemini, live, monkeypatch))
    try:
        await providers.narrator.speak(LINE, voice=None, language="en")
    finally:
        await providers.aclose()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("Live narration failed (1011" in w for w in warnings), warnings
    ours = [r for r in caplog.records if not r.name.startswith("websockets")]
    assert ours
    assert all(KEY not in f"{r.getMessage()} {r.args}" for r in ours)
