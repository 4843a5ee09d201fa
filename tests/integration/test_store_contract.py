"""The job store's contract, run unchanged against SQLite and a real PostgreSQL server: every
named change, its guards (attempts, ended jobs, settled deliveries) and what reads return."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import JobNotFound
from core.models import (
    Delivery,
    DeliveryAttempt,
    Job,
    JobId,
    JobKind,
    JobOutcome,
    JobStatus,
    Origin,
    StoryRequest,
    VideoClips,
    VideoRequest,
)
from core.store import JobStore, open_job_store, open_postgres_job_store


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    """The same suite on both databases; PostgreSQL is a fresh database on the real server."""
    if request.param == "sqlite":
        opened = open_job_store(tmp_path / "jobs.db")
    else:
        opened = open_postgres_job_store(request.getfixturevalue("postgres_url"))
    async with opened as job_store:
        yield job_store


def a_job(number: int, *, user: str = "u1", platform: str = "telegram", **kw: object) -> Job:
    created = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=number)
    request = kw.pop("request", StoryRequest(theme=f"theme {number}"))
    kind = JobKind.VIDEO if isinstance(request, VideoRequest) else JobKind.STORY
    return Job(
        JobId(f"job{number:03d}"), kind, Origin(platform, user, "chat", {"a": "1"}),
        request, created_at=created, updated_at=created, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


OUTCOME = JobOutcome(
    result=VideoClips(
        videos=("v1.mp4",), thumbnail="t.jpg", duration_s=8.0, width=1280, height=720,
        prompt="a fox",
    ),
    backend="fake", file_sizes=(1234,),
)  # fmt: skip


async def test_a_job_reads_back_as_written(store: JobStore) -> None:
    """Every field survives the round trip; unknown ids are `JobNotFound`."""
    job = a_job(1, keep_files=True)
    await store.create(job)
    read = await store.get(job.id)
    assert read == job
    with pytest.raises(JobNotFound):
        await store.get("nope")


async def test_listings_and_counts(store: JobStore) -> None:
    """Newest first per user; queue order by status; counts by status, time and clips."""
    await store.create(a_job(1))
    await store.create(a_job(2, request=StoryRequest(theme="moving", animate=True)))
    await store.create(a_job(3, user="u2", request=VideoRequest(prompt="a fox")))
    await store.create(a_job(4, platform="discord"))
    assert [j.id for j in await store.recent(platform="telegram", user_id="u1")] == [
        "job002", "job001",
    ]  # fmt: skip
    assert [j.id for j in await store.recent(limit=2)] == ["job004", "job003"]
    assert [j.id for j in await store.with_status(JobStatus.PENDING)] == [
        "job001", "job002", "job003", "job004",
    ]  # fmt: skip
    count = await store.count(platform="telegram", user_id="u1")
    assert count == 2
    since = datetime(2026, 12, 1, 0, 2, tzinfo=UTC)
    assert await store.count(platform="telegram", user_id="u1", since=since) == 1
    assert await store.count(platform="telegram", user_id="u1", clips=True) == 1  # animated
    assert await store.count(platform="telegram", user_id="u2", clips=True) == 1  # a video
    assert (
        await store.count(platform="telegram", user_id="u1", statuses=[JobStatus.COMPLETED]) == 0
    )
    oldest = await store.oldest_since(
        platform="telegram", user_id="u1", since=datetime(2026, 11, 1, tzinfo=UTC)
    )
    assert oldest == datetime(2026, 12, 1, 0, 1, tzinfo=UTC)


async def test_remember_adds_to_the_origin(store: JobStore) -> None:
    """A front end's ids join the origin's extra; earlier ones stay."""
    await store.create(a_job(1))
    await store.remember("job001", message_id="42")
    await store.remember("job001", chat="7")
    assert (await store.get("job001")).origin.extra == {"a": "1", "message_id": "42", "chat": "7"}


async def test_claims_count_attempts_and_fence_older_ones(store: JobStore) -> None:
    """Each claim is a new attempt; progress and results of an older attempt are refused."""
    await store.create(a_job(1))
    first = await store.claim("job001")
    second = await store.claim("job001")
    assert first is not None
    assert second is not None
    assert (first.attempt, second.attempt) == (1, 2)
    assert second.status is JobStatus.PROCESSING
    assert not await store.progressed("job001", 1, event="old", message="stale", percent=90)
    assert await store.progressed("job001", 2, event="e2", message="drawing", percent=40)
    assert await store.progressed("job001", 2, event="e3", message="drawing", percent=30)
    job = await store.get("job001")
    assert (job.message, job.percent) == ("drawing", 40)  # percent never goes back
    assert await store.last_event("job001") == "e3"
    assert not await store.complete("job001", 1, OUTCOME, ["telegram"])
    assert await store.complete("job001", 2, OUTCOME, ["telegram", "webhook"])
    done = await store.get("job001")
    assert done.status is JobStatus.COMPLETED
    assert done.outcome == OUTCOME
    assert done.percent == 100
    assert await store.last_event("job001") is None
    assert await store.claim("job001") is None  # ended: never claimed again
    assert not await store.fail("job001", 2, "too late")


async def test_cancel_requests_and_cancelled_jobs(store: JobStore) -> None:
    """A requested cancel stops new claims; an ended job takes no cancel request."""
    await store.create(a_job(1))
    assert not await store.cancel_requested("job001")
    assert await store.request_cancel("job001")
    assert await store.cancel_requested("job001")
    assert await store.claim("job001") is None
    assert await store.cancelled("job001")
    assert (await store.get("job001")).status is JobStatus.CANCELLED
    assert not await store.request_cancel("job001")
    assert not await store.cancelled("job001")


async def test_checkpoints_and_their_removal_on_failure(store: JobStore) -> None:
    """Steps are recorded once however often marked; a failed job loses them."""
    await store.create(a_job(1))
    claimed = await store.claim("job001")
    assert claimed is not None
    assert await store.mark_step("job001", claimed.attempt, "story")
    assert await store.mark_step("job001", claimed.attempt, "story")
    assert await store.mark_step("job001", claimed.attempt, "picture:1")
    assert not await store.mark_step("job001", claimed.attempt - 1, "picture:2")  # fenced
    assert await store.steps("job001") == {"story", "picture:1"}
    assert await store.fail("job001", claimed.attempt, "the provider refused", ["telegram"])
    failed = await store.get("job001")
    assert (failed.status, failed.error) == (JobStatus.FAILED, "the provider refused")
    assert await store.steps("job001") == set()
    await store.files_removed("job001")
    assert (await store.get("job001")).files_removed


async def test_the_outbox(store: JobStore) -> None:
    """A finished job waits for each consumer; a try is claimed before it is made (never
    twice once settled); attempts are recorded where the consumer keeps them."""
    await store.create(a_job(1))
    await store.create(a_job(2))
    for number in (1, 2):
        claimed = await store.claim(f"job00{number}")
        assert claimed is not None
        await store.complete(claimed.id, claimed.attempt, OUTCOME, ["telegram", "webhook"])
    assert await store.waiting("telegram") == ["job001", "job002"]
    assert await store.delivering("job001", "telegram") == 1
    assert await store.delivering("job001", "telegram") == 2  # a crash cut the first try
    assert (await store.get("job001")).delivery_attempts == 2
    await store.delivered("job001", "telegram", Delivery.DELIVERED)
    assert await store.delivering("job001", "telegram") is None
    assert (await store.get("job001")).delivery is Delivery.DELIVERED
    assert await store.waiting("telegram") == ["job002"]
    at = datetime(2026, 12, 2, tzinfo=UTC)
    await store.delivering("job001", "webhook")
    await store.delivered("job001", "webhook", Delivery.PENDING, DeliveryAttempt(at, 503))
    await store.delivered("job001", "webhook", Delivery.DELIVERED, DeliveryAttempt(at, 200))
    record = await store.delivery("job001", "webhook")
    assert record is not None
    assert record.state is Delivery.DELIVERED
    assert [a.status for a in record.attempts] == [503, 200]
    assert record.attempts[0].at == at
    assert await store.delivery("job001", "discord") is None


async def test_concurrent_claims_of_a_delivery_give_it_to_one(store: JobStore) -> None:
    """Twenty claims of one delivery at the same time, as from several front ends: exactly
    one gets it (each claim is one atomic change, and the winner holds the row)."""
    await store.create(a_job(1))
    claimed = await store.claim("job001")
    assert claimed is not None
    await store.complete("job001", claimed.attempt, OUTCOME, ["telegram"])
    tries = await asyncio.gather(
        *(store.delivering("job001", "telegram", lease_s=300) for _ in range(20))
    )
    assert [t for t in tries if t is not None] == [1]


async def test_a_held_delivery_is_not_claimed_again_until_its_lease_ends(store: JobStore) -> None:
    """With a lease (several processes), a row being delivered is not claimed a second time;
    without one (one process), a row a crash left `delivering` is claimed again at once."""
    await store.create(a_job(1))
    claimed = await store.claim("job001")
    assert claimed is not None
    await store.complete("job001", claimed.attempt, OUTCOME, ["telegram", "webhook"])
    assert await store.delivering("job001", "telegram", lease_s=300) == 1
    assert await store.delivering("job001", "telegram", lease_s=300) is None  # held
    assert await store.delivering("job001", "webhook", lease_s=0) == 1
    assert await store.delivering("job001", "webhook", lease_s=0) == 2  # a crash: again
    await store.delivered("job001", "telegram", Delivery.PENDING)  # a try failed: released
    assert await store.delivering("job001", "telegram", lease_s=300) == 2
