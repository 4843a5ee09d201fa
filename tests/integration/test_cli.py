"""The command line: a real video from one command, and one-line errors for bad input."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.cli import main
from tests.pictures import hero_photo

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot, WaitUntil


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_story_makes_a_video_with_the_offline_default(tmp_path: Path) -> None:
    """With no key, `storybot story THEME` writes THEME.mp4 and a thumbnail and prints both."""
    done = run_cli("story", "a cat and a dog", "--scenes", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a-cat-and-a-dog.mp4").stat().st_size > 10_000
    assert (tmp_path / "a-cat-and-a-dog.jpg").exists()
    assert "a-cat-and-a-dog.mp4" in done.stdout
    assert " s, 1280×720" in done.stdout
    assert "offline" in done.stderr
    left = [p.name for p in (tmp_path / "data" / "jobs").iterdir()]
    assert [name for name in left if not name.startswith("cast-")] == []  # work files removed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["story", ""], "theme is empty"),
        (["story", "x" * 501], "keep it under 500"),
        (["story", "a cat", "--scenes", "0"], "from 1 to 10"),
        (["story", "a cat", "--scenes", "11"], "from 1 to 10"),
        (["story", "a cat", "--voice", "klingon"], "storybot voices"),
        (["story", "a cat", "--style", "cubist"], "invalid choice"),
        (["story", "a cat", "--out", "/nonexistent/dir/x.mp4"], "cannot write"),
        (["story", "a cat", "--language", "ja"], "en, fr, es and de"),
        (["story", "a dog with a gun"], "children's story"),
        (["story", "a cat", "--scenes", "two"], "invalid int"),
    ],
)
def test_bad_input_gets_one_line_and_nonzero_exit(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each bad input: a single error line naming the problem, no traceback, exit code ≠ 0."""
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(args))
    assert exit_info.value.code != 0
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert message in lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_voices_lists_espeak_voices(capsys: pytest.CaptureFixture[str]) -> None:
    """`storybot voices` lists the offline narrator's voices."""
    assert main(["voices"]) == 0
    listing = capsys.readouterr().out
    assert "en-us" in listing
    assert "fr-fr" in listing


def test_bad_setting_is_reported_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid environment setting names the variable."""
    monkeypatch.setenv("STORYBOT_SCENES", "99")
    assert main(["voices"]) == 2
    assert "STORYBOT_SCENES" in capsys.readouterr().err


@pytest.mark.slow
def test_jobs_lists_the_story_just_made(tmp_path: Path) -> None:
    """`storybot story` goes through the runner's store; `storybot jobs` lists it."""
    assert run_cli("story", "a fox", "--scenes", "1", cwd=tmp_path).returncode == 0
    listing = run_cli("jobs", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "completed" in listing.stdout
    assert "a fox" in listing.stdout
    assert " MB" in listing.stdout
    assert "cli" in listing.stdout


@pytest.mark.slow
async def test_resume_finishes_an_interrupted_cli_job(
    tmp_path: Path, storybot: OpenStoryBot, wait_until: WaitUntil
) -> None:
    """A CLI job stopped mid-way is listed by `storybot jobs` and finished by `storybot resume`,
    reusing its checkpointed story, into the output path it was started with."""
    import asyncio

    from core.models import Origin, StoryRequest
    from tests.fakes import FakeIllustrator, FakeStoryWriter, fake_providers

    out = tmp_path / "later.mp4"
    gate = asyncio.Event()  # never opened: the job stops while drawing
    writer = FakeStoryWriter()
    providers = fake_providers(writer=writer, illustrator=FakeIllustrator(gate=gate))
    async with storybot(providers) as bot:
        origin = Origin("cli", "me", extra={"out": str(out)})
        request = StoryRequest(theme="a cat and a dog", scenes=2)
        job = await bot.service.submit_story(request, origin)

        async def story_checkpointed() -> bool:
            return "story" in await bot.store.steps(job.id)

        await wait_until(story_checkpointed, what="the story's checkpoint")
    listing = run_cli("jobs", cwd=tmp_path)
    assert job.id in listing.stdout
    assert "processing" in listing.stdout or "generating" in listing.stdout
    done = await asyncio.to_thread(run_cli, "resume", job.id, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 10_000
    assert str(out) in done.stdout
    assert "Fake" in done.stdout  # the checkpointed (fake) story was kept, not rewritten


@pytest.mark.slow
def test_music_bed_and_no_captions(tmp_path: Path) -> None:
    """`--music` mixes a bed under the narration (audible in the pauses); `--no-captions` still
    writes the .srt beside the MP4; a missing music file is a one-line error."""
    import numpy as np

    from core.audio import to_wav
    from core.models import Speech
    from tests.probe import probe

    t = np.arange(24_000 * 3) / 24_000
    tone = (np.sin(2 * np.pi * 330 * t) * 12_000).astype("<i2").tobytes()
    (tmp_path / "bed.wav").write_bytes(to_wav(Speech(tone)))
    done = run_cli(
        "story", "a cat", "--scenes", "2", "--music", "bed.wav", "--no-captions",
        "--out", "m.mp4", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "m.srt").read_text().startswith("1\n00:00:00,000 --> ")
    p = probe(tmp_path / "m.mp4")
    pause = p.audio[-int(24_000 * 0.35) :]  # the last pause: only the bed can be heard
    assert float(np.sqrt(np.mean(pause**2))) > 0.003
    missing = run_cli("story", "a cat", "--music", "nope.wav", cwd=tmp_path)
    assert missing.returncode == 1
    assert "cannot read the music file" in missing.stderr


@pytest.mark.slow
def test_a_hero_from_a_photo_and_its_sequel_from_the_command_line(tmp_path: Path) -> None:
    """`--hero FILE` makes the photo's subject the hero (offline: a sticker cut from it); the
    job id printed at the end continues it with `--sequel-of`, titled "… — Part 2"; the photo
    itself is gone once the job ends."""
    photo = hero_photo()
    (tmp_path / "toy.jpg").write_bytes(photo)
    first = run_cli(
        "story", "a day at the beach with Biscuit", "--hero", "toy.jpg", "--scenes", "1",
        "--out", "first.mp4", cwd=tmp_path,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    job_id = re.search(r"--sequel-of (\w+)", first.stderr)
    assert job_id is not None, first.stderr
    assert "Biscuit" in first.stdout
    second = run_cli(
        "story", "--sequel-of", job_id.group(1), "--scenes", "1", "--out", "second.mp4",
        cwd=tmp_path,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert "— Part 2" in second.stdout
    assert list((tmp_path / "data").rglob("hero.photo")) == []  # only the sticker is kept
    unknown = run_cli("story", "--sequel-of", "nosuchjob", cwd=tmp_path)
    assert unknown.returncode != 0
    assert len([line for line in unknown.stderr.splitlines() if line.strip()]) <= 2
