"""Housekeeping: expire old outputs and keep the jobs folder inside its disk budget."""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.jobs import Delivery, Job, JobStatus, JobStore
from core.models import JobId

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep removed."""

    expired: list[JobId] = field(default_factory=list)
    over_budget: list[JobId] = field(default_factory=list)
    freed_bytes: int = 0


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _sizes(jobs_dir: Path, job_ids: list[JobId]) -> dict[JobId, int]:
    """Folder sizes of the jobs whose folders exist."""
    return {i: _folder_size(jobs_dir / i) for i in job_ids if (jobs_dir / i).is_dir()}


def _total(jobs_dir: Path) -> int:
    return _folder_size(jobs_dir) if jobs_dir.is_dir() else 0


def _removable(job: Job) -> bool:
    """Finished, and nobody still waits for its files (delivered, or delivery gave up)."""
    if not job.status.finished:
        return False
    return job.status is not JobStatus.COMPLETED or job.delivery in (
        Delivery.DELIVERED, Delivery.UNCONFIRMED, Delivery.FAILED,
    )  # fmt: skip


async def sweep(
    store: JobStore,
    jobs_dir: Path,
    *,
    keep_hours: float,
    budget_mb: float | None,
    now: datetime | None = None,
) -> SweepReport:
    """Remove finished jobs' folders older than `keep_hours`, then the oldest ones while the
    jobs folder is over `budget_mb`. Unfinished or undelivered jobs are never touched, and
    nothing outside `jobs_dir` (e.g. where the CLI moved a video) is."""
    now = now or datetime.now(UTC)
    candidates = [
        job
        for job in await store.with_status(
            JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED
        )
        if _removable(job) and (jobs_dir / job.id).is_dir()
    ]
    candidates.sort(key=lambda job: job.completed_at or job.created_at)
    sizes = {
        job.id: await asyncio.to_thread(_folder_size, jobs_dir / job.id) for job in candidates
    }
    expired, over_budget, freed = [], [], 0
    cutoff = now - timedelta(hours=keep_hours)
    for job in list(candidates):
        if (job.completed_at or job.created_at) < cutoff:
            freed += await _remove(store, jobs_dir, job, sizes[job.id])
            expired.append(job.id)
            candidates.remove(job)
    if budget_mb is not None:
        total = await asyncio.to_thread(_total, jobs_dir)
        budget = int(budget_mb * 1_000_000)
        for job in candidates:  # oldest first
            if total <= budget:
                break
            freed += await _remove(store, jobs_dir, job, sizes[job.id])
            total -= sizes[job.id]
            over_budget.append(job.id)
    if expired or over_budget:
        log.info(
            "housekeeping: %d expired, %d over budget, %.1f MB freed",
            len(expired), len(over_budget), freed / 1e6,
        )  # fmt: skip
    return SweepReport(expired, over_budget, freed)


async def _remove(store: JobStore, jobs_dir: Path, job: Job, size: int) -> int:
    await asyncio.to_thread(shutil.rmtree, jobs_dir / job.id, True)
    inside = [p for p in job.outputs if p.is_relative_to(jobs_dir)]
    kept = tuple(p for p in job.outputs if p not in inside)
    await store.update(job.id, outputs=kept, metadata={**job.metadata, "files_removed": True})
    return size
