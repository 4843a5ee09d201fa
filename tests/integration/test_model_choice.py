"""Models chosen at run time against the strict fake: a generation the code has never seen,
a model retired between two jobs, and settings that cannot work."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.config import Settings
from core.models import JobId, StoryRequest
from core.pipeline import Pipeline
from core.providers import build_providers
from tests.fakes import RecordingSink
from tests.gemini_server import FakeGemini, HttpError, Persistent
from tests.probe import probe

KEY = "AIzaSy-model-choice-test-key-012345"
# A generation none of StoryBot's lists name: discovery must choose among siblings, previews,
# an embedding model and a Live model.
NEXT_GENERATION = [
    "gemini-5.1-pro", "gemini-5.1-flash-lite", "gemini-5.1-flash", "gemini-5.2-flash-preview",
    "gemini-5.0-flash", "gemini-5.1-pro-image", "gemini-5.1-flash-image",
    "gemini-5.2-flash-image-preview", "gemini-5.1-flash-lite-tts", "gemini-5.1-flash-tts",
    "gemini-embedding-5", "gemini-5.1-live", "gemini-omni-3.0-flash",
]  # fmt: skip


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(api_key=KEY, image_scale=0.25) as server:
        yield server


async def storybot(fake: FakeGemini, tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    """Run the real `storybot` command against the fake; its exit code and output."""
    environment = {
        "GEMINI_API_KEY": KEY, "GEMINI_BASE_URL": fake.base_url, "PATH": "/usr/bin:/bin",
        "STORYBOT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "80", **env,
    }  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=environment, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    output = stdout.decode() + stderr.decode()
    assert KEY not in output
    assert "Traceback" not in output
    return process.returncode or 0, output


async def test_a_generation_never_seen_is_discovered(fake: FakeGemini, tmp_path: Path) -> None:
    """With no model settings and only unknown ids listed, `storybot story` makes the video on
    the GA Flash models of the newest generation, and `storybot doctor` passes naming them."""
    fake.models = NEXT_GENERATION
    out = tmp_path / "story.mp4"
    code, output = await storybot(fake, tmp_path, "story", "a cat", "--scenes", "2",
                                  "--out", str(out))  # fmt: skip
    assert code == 0, output
    assert {r.model for r in fake.calls("story")} == {"gemini-5.1-flash"}
    assert {r.model for r in fake.calls("image")} == {"gemini-5.1-flash-image"}
    assert {r.model for r in fake.calls("tts")} == {"gemini-5.1-flash-tts"}
    assert probe(out).duration_s > 1.0

    code, output = await storybot(fake, tmp_path, "doctor")
    assert code == 0, output
    lines = output.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    for line in (
        "✓ text model: gemini-5.1-flash (discovered)",
        "✓ image model: gemini-5.1-flash-image (discovered)",
        "✓ TTS model: gemini-5.1-flash-tts (discovered)",
        "✓ video model: gemini-omni-3.0-flash (discovered)",
    ):
        assert line in lines, output


async def test_an_image_model_retired_between_two_jobs(
    fake: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The image model answers 404 on the second job: the role is resolved again, the job
    goes on with the next model, one warning names both, and the job records the new one."""
    fake.models = [*fake.models, "gemini-3.1-flash-image"]
    for name, value in {**fake.env(), "GEMINI_API_KEY": KEY}.items():
        monkeypatch.setenv(name, value)
    providers = build_providers(Settings())
    pipeline = Pipeline(providers)
    request = StoryRequest(theme="a cat and a dog", scenes=2)
    try:
        await providers.prepare()
        await pipeline.run(JobId("m1"), request, tmp_path / "1", RecordingSink())
        assert providers.models["pictures"] == "gemini-nano-banana-2.1"
        fake.models = [m for m in fake.models if m != "gemini-nano-banana-2.1"]
        caplog.clear()
        result = await pipeline.run(JobId("m2"), request, tmp_path / "2", RecordingSink())
    finally:
        await providers.aclose()
    assert len(result.story.scenes) == 2
    assert not result.notes  # every picture was drawn
    second = [r for r in fake.calls("image") if r.status == 200][-2:]
    assert {r.model for r in second} == {"gemini-3.1-flash-image"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "the image model gemini-nano-banana-2.1 is no longer available; "
        "using gemini-3.1-flash-image"
    ]
    assert providers.models["pictures"] == "gemini-3.1-flash-image"


async def test_no_image_model_stops_start_naming_the_setting(
    fake: FakeGemini, tmp_path: Path
) -> None:
    fake.models = ["gemini-3.8-flash", "gemini-3.8-flash-tts"]
    code, output = await storybot(fake, tmp_path, "story", "a cat")
    assert code == 2, output
    assert output.strip().splitlines()[-1] == (
        "error: no image model that can make pictures is available to these credentials; "
        "set STORYBOT_IMAGE_MODEL (see `storybot doctor`)"
    )
    assert not fake.calls("story")  # nothing was paid for


@pytest.mark.parametrize("command", ["story", "run", "doctor"])
async def test_a_setting_naming_a_model_of_another_role(
    fake: FakeGemini, tmp_path: Path, command: str
) -> None:
    """A TTS model as the image model stops `story` and `run` with exit 2 and one line;
    `doctor` reports it."""
    args = ["story", "a cat"] if command == "story" else [command]
    code, output = await storybot(
        fake, tmp_path, *args, STORYBOT_IMAGE_MODEL="gemini-3.8-flash-tts", STORYBOT_HTTP_PORT="0"
    )
    message = (
        "STORYBOT_IMAGE_MODEL=gemini-3.8-flash-tts is a TTS model, which cannot make pictures"
    )
    if command == "doctor":
        assert code == 1
        assert f"✗ configuration: {message}" in " ".join(output.split())
    else:
        assert code == 2, output
        assert output.strip().splitlines() == [f"error: {message}"]
    assert not fake.calls("story")


async def test_a_configured_model_that_is_not_listed(fake: FakeGemini, tmp_path: Path) -> None:
    """STORYBOT_TEXT_MODEL names a retired model: one warning naming the setting, and the
    story is written by the preferred model instead."""
    out = tmp_path / "s.mp4"
    code, output = await storybot(
        fake, tmp_path, "story", "a cat", "--scenes", "1", "--out", str(out),
        STORYBOT_TEXT_MODEL="gemini-2.5-flash",
    )  # fmt: skip
    assert code == 0, output
    assert output.count("STORYBOT_TEXT_MODEL=gemini-2.5-flash is not available") == 1
    assert "using gemini-3.8-flash" in output
    assert {r.model for r in fake.calls("story")} == {"gemini-3.8-flash"}


async def test_an_unreadable_listing_does_not_stop_start(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The model list answers 500: start goes on with the preference lists, and a NOT_FOUND
    at call time moves to the next candidate."""
    fake.script("list", Persistent(HttpError.internal()))
    fake.models = [m for m in fake.models if m != "gemini-nano-banana-2.1"]
    fake.models = [*fake.models, "gemini-3.1-flash-image"]
    for name, value in {**fake.env(), "GEMINI_API_KEY": KEY}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STORYBOT_RETRY_BUDGET_S", "2")
    providers = build_providers(Settings())
    try:
        await providers.prepare()
        result = await Pipeline(providers).run(
            JobId("m3"), StoryRequest(theme="a cat", scenes=1), tmp_path, RecordingSink()
        )
    finally:
        await providers.aclose()
    assert not result.notes
    assert [r.status for r in fake.calls("image")] == [404, 200]
    assert providers.models["pictures"] == "gemini-3.1-flash-image"
