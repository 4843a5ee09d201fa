"""Housekeeping on a real store and artifact store: expired outputs go, the disk budget holds,
oldest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from core.artifacts import LocalArtifacts
from core.housekeeping import sweep
from core.models import (
    Delivery,
    Job,
    JobId,
    JobKind,
    JobOutcome,
    JobStatus,
    Origin,
    Scene,
    Story,
    StoryRequest,
    StoryVideo,
    Style,
)
from core.progress import Stage, StageStarted, encode_event
from core.store import JobStore, open_job_store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def outcome(size: int) -> JobOutcome:
    """What a completed one-scene story job records."""
    scene = Scene(image_prompt="a cat", narration="A cat.", character_description="A cat.")
    story = Story(title="T", theme="t", style=Style.STORYBOOK, language="en", scenes=[scene])
    result = StoryVideo(
        video="story.mp4", thumbnail="story.jpg", duration_s=1.0, width=64, height=36,
        story=story, scene_starts_s=(0.0,),
    )  # fmt: skip
    return JobOutcome(result=result, backend="fake", file_sizes=(size,))


async def ended_at(database: Path, job_id: str, when: datetime) -> None:
    """A job's end recorded at `when`: the store stamps the real time, and nothing in StoryBot
    moves it, so the one column is written as a clock that far behind would have."""
    async with aiosqlite.connect(database) as db:
        await db.execute(
            "UPDATE jobs SET completed_at = ? WHERE id = ?", (when.isoformat(), job_id)
        )
        await db.commit()


async def add_job(
    store: JobStore, database: Path, artifacts: LocalArtifacts, name: str, *,
    hours_ago: float, size: int, status: JobStatus = JobStatus.COMPLETED,
    delivery: Delivery = Delivery.DELIVERED, platform: str = "telegram",
) -> Path:  # fmt: skip
    """A job of `platform` that ended (or is running) `hours_ago`, with a `size`-byte video in
    its folder, delivered to its chat as `delivery` says; its folder."""
    job = Job(
        JobId(name), JobKind.STORY, Origin(platform, "u"), StoryRequest(theme="t"),
        created_at=NOW - timedelta(hours=hours_ago),
    )  # fmt: skip
    await store.create(job)
    await artifacts.write(job.id, "story.mp4", b"x" * size)
    claimed = await store.claim(name)
    assert claimed is not None
    match status:
        case JobStatus.COMPLETED:
            chats = [platform] if platform != "cli" else []
            assert await store.complete(name, claimed.attempt, outcome(size), chats)
            if chats and delivery is not Delivery.PENDING:
                await store.delivering(name, platform)
                await store.delivered(name, platform, delivery)
        case JobStatus.FAILED:
            assert await store.fail(name, claimed.attempt, "it broke")
        case JobStatus.GENERATING:
            started = encode_event(StageStarted(job.id, Stage.PICTURES, 1, 10))
            await store.progressed(
                name, claimed.attempt, event=started, message="pictures 0/1", status=status
            )
    if status.finished:
        await ended_at(database, name, NOW - timedelta(hours=hours_ago))
    stored = await store.get(name)
    assert (stored.status, stored.delivery) == (status, delivery)
    return artifacts.root / name


async def test_expired_outputs_are_removed(tmp_path: Path) -> None:
    """Finished jobs older than keep_hours lose their files; newer or running ones keep them."""
    artifacts, database = LocalArtifacts(tmp_path / "jobs"), tmp_path / "db"
    async with open_job_store(database) as store:
        old = await add_job(store, database, artifacts, "old", hours_ago=30, size=10)
        failed = await add_job(
            store, database, artifacts, "failed", hours_ago=25, size=10,
            status=JobStatus.FAILED, delivery=Delivery.PENDING,
        )  # fmt: skip
        fresh = await add_job(store, database, artifacts, "fresh", hours_ago=2, size=10)
        running = await add_job(
            store, database, artifacts, "running", hours_ago=40, size=10,
            status=JobStatus.GENERATING, delivery=Delivery.PENDING,
        )  # fmt: skip
        waiting = await add_job(
            store, database, artifacts, "waiting", hours_ago=40, size=10,
            delivery=Delivery.PENDING,
        )  # fmt: skip
        report = await sweep(store, artifacts, keep_hours=24, budget_mb=None, now=NOW)
        assert sorted(report.expired) == ["failed", "old"]
        assert not old.exists()
        assert not failed.exists()
        assert fresh.exists()
        assert running.exists()  # never touched while running
        assert waiting.exists()  # never touched before its delivery
        expired = await store.get("old")
        assert expired.files_removed is True
        assert (await store.get("fresh")).files_removed is False


async def test_disk_budget_removes_the_oldest_first(tmp_path: Path) -> None:
    """Over the budget, the oldest finished outputs go first, until it fits."""
    jobs, database = tmp_path / "jobs", tmp_path / "db"
    artifacts = LocalArtifacts(jobs)
    async with open_job_store(database) as store:
        for name, age in (("a", 5), ("b", 4), ("c", 3), ("d", 2)):
            await add_job(store, database, artifacts, name, hours_ago=age, size=400_000)
        report = await sweep(store, artifacts, keep_hours=24, budget_mb=1.0, now=NOW)
    assert report.over_budget == ["a", "b"]
    assert report.freed_bytes == 800_000
    assert sorted(p.name for p in jobs.iterdir()) == ["c", "d"]


async def test_files_outside_the_jobs_folder_are_kept(tmp_path: Path) -> None:
    """A CLI video copied to the user's folder is never deleted by housekeeping: the expired
    job loses its own folder only."""
    artifacts, database = LocalArtifacts(tmp_path / "jobs"), tmp_path / "db"
    mine = tmp_path / "my-story.mp4"
    mine.write_bytes(b"video")
    async with open_job_store(database) as store:
        folder = await add_job(
            store, database, artifacts, "cli", hours_ago=48, size=10, platform="cli"
        )
        report = await sweep(store, artifacts, keep_hours=24, budget_mb=None, now=NOW)
    assert report.expired == ["cli"]
    assert not folder.exists()
    assert mine.read_bytes() == b"video"
