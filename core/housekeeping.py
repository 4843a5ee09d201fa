"""Housekeeping: expire old outputs and keep the stored job files inside their disk budget."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.artifacts import SAVE_TO_CLOUD, ArtifactStore
from core.casts import Casts
from core.errors import StorageUnavailable
from core.limits import JobLimits
from core.models import Job, JobId, JobStatus
from core.store import JobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep removed."""

    expired: list[JobId] = field(default_factory=list)
    over_budget: list[JobId] = field(default_factory=list)
    freed_bytes: int = 0


def _removable(job: Job) -> bool:
    """Finished, and nobody still waits for its files (delivered, or delivery gave up)."""
    if not job.status.finished:
        return False
    return job.status is not JobStatus.COMPLETED or job.delivery.settled


def _saved(job: Job) -> bool:
    """A completed job whose video the user asked to keep in the bucket (`save_to_cloud`)."""
    return job.status is JobStatus.COMPLETED and job.origin.extra.get(SAVE_TO_CLOUD) == "true"


async def sweep(
    store: JobStore,
    artifacts: ArtifactStore,
    *,
    keep_hours: float,
    budget_mb: float | None,
    now: datetime | None = None,
) -> SweepReport:
    """Remove finished jobs' files older than `keep_hours`, then the oldest ones while the
    stored files are over `budget_mb`. Unfinished or undelivered jobs are never touched, nor
    jobs saved to the bucket (they neither expire nor count), nor anything outside the
    artifact store (e.g. where the CLI copied a video)."""
    now = now or datetime.now(UTC)
    usage = await artifacts.usage()
    finished = await store.with_status(JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
    saved = {job.id for job in finished if artifacts.in_bucket and _saved(job)}
    candidates = [
        job for job in finished if _removable(job) and job.id in usage and job.id not in saved
    ]
    candidates.sort(key=lambda job: job.completed_at or job.created_at)
    expired, over_budget, freed = [], [], 0
    cutoff = now - timedelta(hours=keep_hours)
    for job in list(candidates):
        if (job.completed_at or job.created_at) < cutoff:
            freed += await _remove(store, artifacts, job)
            expired.append(job.id)
            candidates.remove(job)
    if budget_mb is not None:
        total = sum(size for job_id, size in usage.items() if job_id not in {*expired, *saved})
        budget = int(budget_mb * 1_000_000)
        for job in candidates:  # oldest first
            if total <= budget:
                break
            freed += await _remove(store, artifacts, job)
            total -= usage[job.id]
            over_budget.append(job.id)
    if expired or over_budget:
        log.info(
            "housekeeping: %d expired, %d over budget, %.1f MB freed",
            len(expired), len(over_budget), freed / 1e6,
        )  # fmt: skip
    return SweepReport(expired, over_budget, freed)


async def _remove(store: JobStore, artifacts: ArtifactStore, job: Job) -> int:
    await store.files_removed(job.id)  # first: from now on, downloads answer 410
    return await artifacts.remove(job.id)


async def housekeep(
    store: JobStore, artifacts: ArtifactStore, limits: JobLimits, casts: Casts | None = None
) -> None:
    """Sweep now and every `limits.sweep_interval_s`, until cancelled (a bucket out of reach
    only skips a sweep); casts kept for sequels expire on their own clock."""
    while True:
        with contextlib.suppress(StorageUnavailable):  # logged where it happened
            await sweep(
                store, artifacts, keep_hours=limits.keep_hours, budget_mb=limits.disk_budget_mb
            )
            if casts is not None:
                await casts.expire()
        await asyncio.sleep(limits.sweep_interval_s)
