"""`STORYBOT_DATABASE_URL` selects the shared PostgreSQL store (a real server from the wheel):
a story goes through it end to end, another process reads it, and a wrong URL or an
unreachable server stops start-up with one line and exit code 2, no password shown."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.cli import main
from core.config import Settings
from core.errors import LimitReached
from core.models import JobStatus, Origin, StoryRequest, StoryVideo
from core.storyboards import Storyboards

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot, WaitUntil


async def test_a_story_runs_through_the_shared_store(
    storybot: OpenStoryBot,
    wait_until: WaitUntil,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the URL set, jobs, checkpoints and results live in PostgreSQL (no SQLite file):
    the job completes, and `storybot jobs` in another process lists it from there."""
    monkeypatch.setenv("STORYBOT_DATABASE_URL", postgres_url)
    settings = Settings()
    async with storybot(settings=settings) as bot:
        job = await bot.service.submit_story(
            StoryRequest(theme="a fox in the snow", scenes=2), Origin("cli", "u1")
        )
        done = await wait_until(
            lambda: _ended(bot.service.get(job.id)), timeout=120, what="the job to end"
        )
    assert done.status is JobStatus.COMPLETED
    assert not settings.database.exists()  # nothing went to SQLite
    listing = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", "jobs"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert job.id in listing.stdout
    assert "a fox in the snow" in listing.stdout


async def _ended(pending):  # type: ignore[no-untyped-def]
    job = await pending
    return job if job.status in (JobStatus.COMPLETED, JobStatus.FAILED) else None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://storybot:hunter2@db/storybot", "must be a postgresql:// URL"),
        ("postgresql://storybot:hunter2@/storybot?host=/nonexistent", "STORYBOT_DATABASE_URL"),
    ],
)
def test_a_database_that_cannot_be_used_stops_with_one_line(
    url: str, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong scheme or an unreachable server: exit code 2, one line naming the setting, no
    traceback and never the password."""
    monkeypatch.setenv("STORYBOT_DATABASE_URL", url)
    assert main(["jobs"]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert message in lines[0]
    assert "hunter2" not in captured.err + captured.out
    assert "Traceback" not in captured.err


def test_a_database_without_its_tables_is_migrated_once(postgres_url: str) -> None:
    """Two processes starting at once on an empty database: both start, the tables exist once
    (migrations run under an advisory lock)."""
    script = (
        "import asyncio, sys\n"
        "from core.store import open_postgres_job_store\n"
        "async def main():\n"
        "    async with open_postgres_job_store(sys.argv[1]) as store:\n"
        "        print(len(await store.recent()))\n"
        "asyncio.run(main())\n"
    )
    root = Path(__file__).resolve().parents[2]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, postgres_url],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == ["0", "0"]


async def test_a_user_limit_holds_across_front_ends(
    storybot: OpenStoryBot, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 submits at once for one user, split between two front ends on the same database
    (each with its own connections, as two processes have), against a limit of one: exactly
    one is accepted, the 19 others get the clear refusal."""
    monkeypatch.setenv("STORYBOT_DATABASE_URL", postgres_url)
    origin = Origin("telegram", "u1", "c1")
    request = StoryRequest(theme="a fox", scenes=1)
    async with (
        storybot(settings=Settings(), work=False, user_jobs_in_flight=1) as one,
        storybot(settings=Settings(), work=False, user_jobs_in_flight=1) as two,
    ):
        fronts = [one.service, two.service] * 10
        results = await asyncio.gather(
            *(front.submit_story(request, origin) for front in fronts), return_exceptions=True
        )
    accepted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, LimitReached)]
    others = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, LimitReached)
    ]
    assert not others, others
    assert len(accepted) == 1
    assert len(refused) == 19
    assert all("already have 1 story or video in progress" in str(r) for r in refused)


async def test_a_superseded_attempt_writes_nothing(
    storybot: OpenStoryBot, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker taken for dead that wakes up after another claimed the job: its step, its
    progress and its result are refused, so the newer attempt's work stands."""
    monkeypatch.setenv("STORYBOT_DATABASE_URL", postgres_url)
    async with storybot(settings=Settings(), work=False) as bot:
        job = await bot.service.submit_story(StoryRequest(theme="a fox"), Origin("cli", "u"))
        old = await bot.store.claim(job.id)
        new = await bot.store.claim(job.id)  # the takeover
        assert old is not None
        assert new is not None
        assert not await bot.store.mark_step(job.id, old.attempt, "story")
        assert not await bot.store.progressed(job.id, old.attempt, event="{}", message="old")
        assert not await bot.store.fail(job.id, old.attempt, "the old attempt's failure")
        assert await bot.store.mark_step(job.id, new.attempt, "story")
        current = await bot.store.get(job.id)
        steps = await bot.store.steps(job.id)
    assert current.status is JobStatus.PROCESSING
    assert current.message != "old"
    assert steps == {"story"}


@pytest.mark.parametrize("args", [["worker"], ["run", "--no-worker"]])
def test_split_roles_without_a_shared_database_stop_with_one_line(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A worker alone, or front ends without one, need STORYBOT_DATABASE_URL: exit code 2
    and one line saying so."""
    assert main(args) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "STORYBOT_DATABASE_URL" in lines[0]


def test_migrate_creates_the_tables_once(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`storybot migrate` twice: both succeed, the second finds nothing to do."""
    monkeypatch.setenv("STORYBOT_DATABASE_URL", postgres_url)
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.count("up to date") == 2


async def test_a_storyboard_waits_is_redrawn_rendered_and_expires_in_postgres(
    storybot: OpenStoryBot,
    wait_until: WaitUntil,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The storyboard's statements on PostgreSQL: a preview story waits, is redrawn, edited
    and rendered; another one, left waiting past its time, expires."""
    monkeypatch.setenv("STORYBOT_DATABASE_URL", postgres_url)
    preview = StoryRequest(theme="a fox", scenes=2, preview=True)
    origin, waiting = Origin("cli", "pg-board"), JobStatus.AWAITING_APPROVAL
    async with storybot(settings=Settings()) as bot:
        jobs = bot.service

        async def status_is(job_id: str, status: JobStatus) -> bool:
            return (await jobs.get(job_id)).status is status

        job = await jobs.submit_story(preview, origin)
        left = await jobs.submit_story(preview, origin)
        await wait_until(lambda: status_is(job.id, waiting), timeout=60, what="the storyboard")
        await jobs.storyboards.redraw(job, 2, "with snow")
        await wait_until(lambda: status_is(job.id, waiting), timeout=60, what="the redraw")
        scene = await jobs.storyboards.edit(job, 1, "A new first line.")
        await jobs.storyboards.render(job)
        await wait_until(
            lambda: status_is(job.id, JobStatus.COMPLETED), timeout=60, what="the video"
        )
        result = (await jobs.get(job.id)).result
        await wait_until(lambda: status_is(left.id, waiting), timeout=60, what="the other one")
        later = datetime.now(UTC) + timedelta(days=2)  # as the expiry sees it then
        expired = await Storyboards(bot.store.database).expire(later, lambda job: [])
        assert [job.id for job in expired] == [left.id]
        assert await status_is(left.id, JobStatus.CANCELLED)
    assert scene.narration == "A new first line."
    assert isinstance(result, StoryVideo)
    assert result.story.scenes[0].narration == "A new first line."
