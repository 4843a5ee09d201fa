"""Housekeeping on a real store: expired outputs go, the disk budget holds, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.housekeeping import sweep
from core.jobs import Delivery, Job, JobKind, JobStatus, JobStore, Origin, open_job_store
from core.models import JobId, StoryRequest

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


async def add_job(
    store: JobStore, jobs: Path, name: str, *, hours_ago: float, size: int,
    status: JobStatus = JobStatus.COMPLETED, delivery: Delivery = Delivery.DELIVERED,
) -> Path:  # fmt: skip
    folder = jobs / name
    folder.mkdir(parents=True)
    video = folder / "story.mp4"
    video.write_bytes(b"x" * size)
    job = Job(JobId(name), JobKind.STORY, Origin("telegram", "u"), StoryRequest(theme="t"))
    await store.create(job)
    await store.update(
        name, status=status, delivery=delivery, outputs=(video,),
        completed_at=NOW - timedelta(hours=hours_ago),
    )  # fmt: skip
    return folder


async def test_expired_outputs_are_removed(tmp_path: Path) -> None:
    """Finished jobs older than keep_hours lose their files; newer or running ones keep them."""
    jobs = tmp_path / "jobs"
    async with open_job_store(tmp_path / "db") as store:
        old = await add_job(store, jobs, "old", hours_ago=30, size=10)
        failed = await add_job(
            store, jobs, "failed", hours_ago=25, size=10, status=JobStatus.FAILED
        )
        fresh = await add_job(store, jobs, "fresh", hours_ago=2, size=10)
        running = await add_job(
            store, jobs, "running", hours_ago=40, size=10, status=JobStatus.GENERATING
        )
        waiting = await add_job(
            store, jobs, "waiting", hours_ago=40, size=10, delivery=Delivery.PENDING
        )
        report = await sweep(store, jobs, keep_hours=24, budget_mb=None, now=NOW)
        assert sorted(report.expired) == ["failed", "old"]
        assert not old.exists()
        assert not failed.exists()
        assert fresh.exists()
        assert running.exists()  # never touched while running
        assert waiting.exists()  # never touched before its delivery
        expired = await store.get("old")
        assert expired.outputs == ()
        assert expired.metadata["files_removed"] is True


async def test_disk_budget_removes_the_oldest_first(tmp_path: Path) -> None:
    """Over the budget, the oldest finished outputs go first, until it fits."""
    jobs = tmp_path / "jobs"
    async with open_job_store(tmp_path / "db") as store:
        for name, age in (("a", 5), ("b", 4), ("c", 3), ("d", 2)):
            await add_job(store, jobs, name, hours_ago=age, size=400_000)
        report = await sweep(store, jobs, keep_hours=24, budget_mb=1.0, now=NOW)
    assert report.over_budget == ["a", "b"]
    assert report.freed_bytes == 800_000
    assert sorted(p.name for p in jobs.iterdir()) == ["c", "d"]


async def test_files_outside_the_jobs_folder_are_kept(tmp_path: Path) -> None:
    """A CLI video moved to the user's folder is never deleted by housekeeping."""
    jobs = tmp_path / "jobs"
    mine = tmp_path / "my-story.mp4"
    mine.write_bytes(b"video")
    async with open_job_store(tmp_path / "db") as store:
        await add_job(store, jobs, "cli", hours_ago=48, size=10)
        await store.update("cli", outputs=(mine,))
        await sweep(store, jobs, keep_hours=24, budget_mb=None, now=NOW)
        assert (await store.get("cli")).outputs == (mine,)
    assert mine.exists()
