"""The Gemini back end with the real google-genai SDK against the loopback fake server."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest

from core import audio
from core.config import Settings
from core.errors import ConfigurationError, ContentRejected, ProviderUnavailable, QuotaExceeded
from core.models import JobId, StoryRequest
from core.pipeline import Pipeline
from core.progress import ProviderWaiting
from core.providers import Providers, build_providers
from tests.fakes import RecordingSink
from tests.gemini_server import (
    Delay,
    FakeGemini,
    HttpError,
    Persistent,
    PromptBlocked,
    ResponseBlocked,
)  # fmt: skip
from tests.probe import probe

KEY = "AIzaSy-test-secret-key-0123456789"
J = JobId("g1")


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(api_key=KEY, image_scale=0.25) as server:
        yield server


def settings_for(fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, **extra: str) -> Settings:
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.setenv("GEMINI_BASE_URL", fake.base_url)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    return Settings()


@pytest.fixture(autouse=True)
def key_watch(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every test here logs at DEBUG; afterwards the key must be in no record."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert records  # the SDK and our providers did log
    assert_key_absent(*(f"{r.getMessage()} {r.args} {r.exc_text}" for r in records))


def assert_key_absent(*texts: str) -> None:
    for text in texts:
        assert KEY not in text
        assert KEY[:20] not in text


async def run(providers: Providers, request: StoryRequest, workdir: Path, sink: RecordingSink):  # type: ignore[no-untyped-def]
    try:
        return await Pipeline(providers).run(J, request, workdir, sink)
    finally:
        await providers.aclose()


async def test_four_scene_story_end_to_end(
    fake: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Story JSON, four pictures and four narrations come from Gemini and become the MP4."""
    providers = build_providers(settings_for(fake, monkeypatch))
    assert providers.label == "gemini"
    result = await run(
        providers, StoryRequest(theme="a cat and a dog", scenes=4), tmp_path, RecordingSink()
    )
    assert result.story.scenes[0].narration.startswith("Whiskers")
    assert len(fake.calls("story")) == 1
    assert len(fake.calls("image")) == 4
    assert len(fake.calls("tts")) == 4
    story_request = fake.calls("story")[0]
    assert "exactly 4 scenes" in story_request.text
    assert story_request.headers.get("x-goog-api-key") == KEY  # sent as a header...
    assert all(KEY not in r.path for r in fake.requests)  # ...never in the URL
    assert all(r.aspect_ratio == "16:9" for r in fake.calls("image"))
    assert all(r.voice == "Sulafat" for r in fake.calls("tts"))
    # 3.8 TTS reads its text verbatim: only the line is sent as text, the storyteller's
    # direction goes in `speech_metadata.style`, so nothing but the line is spoken.
    narrations = sorted(scene.narration for scene in result.story.scenes)
    assert sorted(call.text for call in fake.calls("tts")) == narrations
    assert all("storyteller" in call.speech_styles[0] for call in fake.calls("tts"))
    # The MP4 carries the server's narration: its length is the fake's speech plus pauses.
    speeches = [
        audio.from_wav((tmp_path / f"scene_{i}.wav").read_bytes())
        for i in ("01", "02", "03", "04")
    ]
    expected = sum(s.duration_s + 0.4 for s in speeches)
    assert abs(probe(tmp_path / result.video).duration_s - expected) < 0.1


async def test_scenes_after_the_first_send_the_first_picture(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Picture 1 is requested without a reference; pictures 2..N carry picture 1 inline."""
    providers = build_providers(settings_for(fake, monkeypatch))
    await run(
        providers, StoryRequest(theme="a cat", scenes=3, aspect="9:16"), tmp_path, RecordingSink()
    )  # type: ignore[arg-type]
    images = sorted(fake.calls("image"), key=lambda r: r.time)
    assert images[0].inline_images == []
    first_png = images[0].inline_images
    assert all(len(r.inline_images) == 1 for r in images[1:])
    assert images[1].inline_images[0] == images[2].inline_images[0]
    assert first_png == []
    assert images[1].time >= images[0].time
    assert all(r.aspect_ratio == "9:16" for r in images)


async def test_429_retry_delay_is_honoured(
    fake: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A 429 with retryDelay 2s is retried no sooner than 2 s later, and the user is told."""
    fake.script("story", HttpError.quota(retry_delay="2s"))
    sink = RecordingSink()
    providers = build_providers(settings_for(fake, monkeypatch))
    await run(providers, StoryRequest(theme="a cat", scenes=1), tmp_path, sink)
    first, second = fake.calls("story")
    assert first.status == 429
    assert second.time - first.time >= 2.0
    waits = [e for e in sink.events if isinstance(e, ProviderWaiting)]
    assert waits == [ProviderWaiting(J, "Gemini", 2.0, "rate limited")]


async def test_quota_beyond_the_budget_is_a_typed_error(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A retryDelay longer than the retry budget gives QuotaExceeded at once."""
    fake.script("story", Persistent(HttpError.quota(retry_delay="600s")))
    providers = build_providers(settings_for(fake, monkeypatch))
    with pytest.raises(QuotaExceeded):
        await run(providers, StoryRequest(theme="a cat", scenes=1), tmp_path, RecordingSink())
    assert len(fake.calls("story")) == 1


async def test_permanent_503_fails_within_the_time_bound(
    fake: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """An always-overloaded model ends in ProviderUnavailable within STORYBOT_RETRY_BUDGET_S."""
    fake.script("story", Persistent(HttpError.overloaded()))
    providers = build_providers(settings_for(fake, monkeypatch, STORYBOT_RETRY_BUDGET_S="4"))
    sink = RecordingSink()
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as error:
        await run(providers, StoryRequest(theme="a cat", scenes=1), tmp_path, sink)
    calls = fake.calls("story")
    assert len(calls) >= 2
    assert calls[-1].time - calls[0].time < 4.0  # no attempt starts after the budget
    assert time.monotonic() - started < 4.0 + 5.0  # generous: a loaded CI machine
    assert "overloaded" in str(error.value)
    assert KEY not in str(error.value)


async def test_blocked_picture_is_rephrased_once(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A blocked picture: the story model rephrases its prompt once and it is drawn again."""
    fake.script("image", Delay(0), PromptBlocked())
    providers = build_providers(settings_for(fake, monkeypatch))
    result = await run(providers, StoryRequest(theme="a cat", scenes=2), tmp_path, RecordingSink())
    rephrases = [r for r in fake.calls("story") if r.is_rephrase]
    assert len(rephrases) == 1
    images = fake.calls("image")
    assert [r.status for r in images] == [200, 200, 200]
    assert "gentle" in images[2].text.lower()
    assert result.notes == ()


async def test_twice_blocked_picture_reuses_the_previous_one(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Blocked again after the rephrase: the scene shows the previous picture, and says so."""
    fake.script("image", Delay(0), PromptBlocked(), ResponseBlocked("IMAGE_SAFETY"))
    providers = build_providers(settings_for(fake, monkeypatch))
    result = await run(providers, StoryRequest(theme="a cat", scenes=2), tmp_path, RecordingSink())
    assert len([r for r in fake.calls("story") if r.is_rephrase]) == 1
    assert len(fake.calls("image")) == 3
    assert result.notes == (
        "Scene 2's picture was blocked by a safety filter, so it shows the previous picture.",
    )
    assert (tmp_path / "scene_02.png").read_bytes() == (tmp_path / "scene_01.png").read_bytes()


async def test_blocked_story_fails_with_a_readable_reason(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A story prompt blocked by the safety filter fails with ContentRejected saying why."""
    fake.script("story", PromptBlocked())
    providers = build_providers(settings_for(fake, monkeypatch))
    with pytest.raises(ContentRejected, match="story was blocked by Gemini's safety filter"):
        await run(providers, StoryRequest(theme="a cat", scenes=1), tmp_path, RecordingSink())


async def test_wrong_key_is_a_configuration_error(
    fake: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A rejected key gives a ConfigurationError naming the setting, not the key."""
    settings = settings_for(fake, monkeypatch, GEMINI_API_KEY="AIzaSy-wrong-key-zzzzzzzzzzzz")
    providers = build_providers(settings)
    with pytest.raises(ConfigurationError, match="GEMINI_API_KEY") as error:
        await run(providers, StoryRequest(theme="a cat", scenes=1), tmp_path, RecordingSink())
    assert "AIzaSy-wrong" not in str(error.value)


async def test_malformed_story_is_retried_once_with_the_error(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Schema-breaking JSON is sent back with the validation error; a second failure is typed."""
    from core.errors import InvalidStory
    from tests.gemini_server import Malformed

    fake.script("story", Malformed('{"title": "T", "scenes": [{"narration": 5}]}'))
    providers = build_providers(settings_for(fake, monkeypatch))
    result = await run(providers, StoryRequest(theme="a cat", scenes=2), tmp_path, RecordingSink())
    assert len(result.story.scenes) == 2
    retry = fake.calls("story")[1]
    assert "could not be used" in retry.text

    fake.script("story", Malformed("not json"), Malformed("still not json"))
    providers = build_providers(settings_for(fake, monkeypatch))
    with pytest.raises(InvalidStory):
        await run(
            providers, StoryRequest(theme="a cat", scenes=2), tmp_path / "2", RecordingSink()
        )


async def test_doctor_reports_a_missing_model(fake: FakeGemini) -> None:
    """`storybot doctor` shows each role's model and exits 1 when one is missing."""
    fake.models = ["gemini-3.8-flash", "gemini-3.8-flash-tts"]  # no image model
    env = {"GEMINI_API_KEY": KEY, "GEMINI_BASE_URL": fake.base_url, "PATH": "/usr/bin:/bin"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "doctor", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    report = " ".join((stdout.decode() + stderr.decode()).split())  # rich wraps long lines
    assert process.returncode == 1, report
    assert "✓ text model: gemini-3.8-flash (preferred)" in report
    assert "✗ image model: none available — set STORYBOT_IMAGE_MODEL" in report
    assert "✓ ffmpeg" in report
    assert KEY not in report
    assert fake.calls("list")


async def test_cli_story_uses_the_gemini_server(fake: FakeGemini, tmp_path: Path) -> None:
    """With a key and GEMINI_BASE_URL, `storybot story` makes the MP4 from the server's media."""
    env = {
        "GEMINI_API_KEY": KEY, "GEMINI_BASE_URL": fake.base_url, "PATH": "/usr/bin:/bin",
        "STORYBOT_DATA_DIR": str(tmp_path / "data"),
    }  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "story", "a cat and a dog", "--scenes", "2",
        "--out", str(tmp_path / "gemini.mp4"), env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert "gemini" in stderr.decode()
    assert KEY not in stdout.decode() + stderr.decode()
    assert len(fake.calls("image")) == 2
    assert len(fake.calls("tts")) == 2
    p = probe(tmp_path / "gemini.mp4")
    # The fake's pictures are flat colours from a hash of the prompt: the frames show them.
    assert p.width == 1280
    assert float(np.std(p.frames[len(p.frames) // 2])) > 1.0
    # The fake speaks ~0.3 s per word of each narration: the video is at least that long.
    words = sum(len(r.text.rsplit("\n\n", 1)[-1].split()) for r in fake.calls("tts"))
    assert p.duration_s > 0.2 * words
