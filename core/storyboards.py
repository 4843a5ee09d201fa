"""Storyboards in the store: each preview job's storyboard is a document in its `jobs` row,
changed only while the job waits for approval, by compare-and-swap (any process, either
database), together with the job's status and the outbox rows that show it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from core.database import Database, Transaction
from core.errors import NotAwaitingApproval
from core.models import Job, JobId, JobStatus
from core.store_schema import job_of
from core.storyboard import EXPIRED, Storyboard, read_board

log = logging.getLogger(__name__)

_WAITING = JobStatus.AWAITING_APPROVAL.value
_ENDED = ("completed", "failed", "cancelled")


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Storyboards:
    """Reads and changes storyboards; every change is one transaction."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def get(self, job_id: JobId) -> Storyboard | None:
        """The job's storyboard, if it is a preview story whose pictures were drawn."""
        rows = await self._db.fetch("SELECT storyboard FROM jobs WHERE id = ?", (job_id,))
        return read_board(rows[0]["storyboard"]) if rows else None

    async def ready(self, job: Job, board: Storyboard, consumers: Sequence[str]) -> bool:
        """This attempt of `job` stops at its storyboard: status `awaiting_approval`, the board
        stored, and each consumer's outbox row (re)set to show it. False if the job ended or a
        newer attempt owns it."""
        now = _now()

        async def stop(tx: Transaction) -> bool:
            changed = await tx.execute(
                "UPDATE jobs SET status = ?, storyboard = ?, message = ?, progress = NULL,"
                " updated_at = ? WHERE id = ? AND attempt = ? AND status NOT IN (?,?,?)",
                (_WAITING, board.ready().model_dump_json(), "awaiting approval", now, job.id,
                 job.attempt, *_ENDED),
            )  # fmt: skip
            if changed:
                await _show(tx, job.id, consumers, now)
            return changed > 0

        return await self._db.atomic(stop)

    async def change(
        self,
        job_id: JobId,
        update: Callable[[Storyboard], Storyboard],
        *,
        rerun_step: str | None = None,
        status: JobStatus = JobStatus.AWAITING_APPROVAL,
    ) -> Storyboard:
        """Apply `update` to a waiting job's storyboard (it raises to refuse); `status` becomes
        the job's (`pending`: it goes back to a worker, `rerun_step` undone first).
        `NotAwaitingApproval` if the job does not wait for approval now."""
        for _ in range(5):  # another change won the race: apply ours to the new board
            rows = await self._db.fetch(
                "SELECT status, storyboard FROM jobs WHERE id = ?", (job_id,)
            )
            board = read_board(rows[0]["storyboard"]) if rows else None
            if not rows or rows[0]["status"] != _WAITING or board is None:
                raise NotAwaitingApproval(_not_waiting(rows[0]["status"] if rows else None))
            new = update(board)
            if await self._swap(job_id, rows[0]["storyboard"], new, status, rerun_step):
                return new
        raise NotAwaitingApproval("the storyboard is being changed; try again")

    async def _swap(
        self,
        job_id: JobId,
        before: str,
        after: Storyboard,
        status: JobStatus,
        rerun_step: str | None,
    ) -> bool:
        """Replace the storyboard `before` with `after` if the job still waits with it."""

        async def swap(tx: Transaction) -> bool:
            changed = await tx.execute(
                "UPDATE jobs SET storyboard = ?, status = ?, updated_at = ?"
                " WHERE id = ? AND status = ? AND storyboard = ? AND cancel_requested = 0",
                (after.model_dump_json(), status.value, _now(), job_id, _WAITING, before),
            )
            if changed and rerun_step is not None:
                await tx.execute(
                    "DELETE FROM job_steps WHERE job_id = ? AND step = ?", (job_id, rerun_step)
                )
            return changed > 0

        return await self._db.atomic(swap)

    async def expire(
        self, before: datetime, consumers: Callable[[Job], Sequence[str]]
    ) -> list[Job]:
        """Cancel every storyboard ready since before `before` and left waiting; each job's
        `consumers` are told. Returns the jobs cancelled."""
        rows = await self._db.fetch(
            "SELECT id, storyboard FROM jobs WHERE status = ?", (_WAITING,)
        )
        expired = []
        for row in rows:
            board = read_board(row["storyboard"])
            if board is None or (board.ready_at is not None and board.ready_at >= before):
                continue
            job = await self._expire(JobId(row["id"]), row["storyboard"], consumers)
            if job is not None:
                expired.append(job)
        return expired

    async def _expire(
        self, job_id: JobId, board: str, consumers: Callable[[Job], Sequence[str]]
    ) -> Job | None:
        now = _now()

        async def end(tx: Transaction) -> Job | None:
            changed = await tx.execute(
                "UPDATE jobs SET status = 'cancelled', message = 'expired', error = ?,"
                " completed_at = ?, updated_at = ? WHERE id = ? AND status = ?"
                " AND storyboard = ?",
                (EXPIRED, now, now, job_id, _WAITING, board),
            )
            if not changed:
                return None  # rendered, redrawn or cancelled meanwhile
            await tx.execute("DELETE FROM job_steps WHERE job_id = ?", (job_id,))
            rows = await tx.fetch(
                "SELECT jobs.*, NULL AS delivery_state, NULL AS delivery_tries FROM jobs"
                " WHERE id = ?",
                (job_id,),
            )
            job = job_of(rows[0])
            await _show(tx, job_id, consumers(job), now)
            return job

        return await self._db.atomic(end)


async def _show(tx: Transaction, job_id: JobId, consumers: Sequence[str], now: str) -> None:
    """(Re)queue the job for each consumer: a storyboard is shown again after each redraw."""
    for consumer in consumers:
        await tx.execute(
            "INSERT INTO outbox (job_id, consumer, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (job_id, consumer) DO UPDATE SET state = 'pending', tries = 0,"
            " lease_until = NULL, updated_at = excluded.updated_at",
            (job_id, consumer, now),
        )


def _not_waiting(status: str | None) -> str:
    if status is None:
        return "that job has no storyboard"
    if status in _ENDED:
        return f"the story is {status}: its storyboard can no longer change"
    if status == _WAITING:
        return "that job has no storyboard"
    return "the storyboard is being drawn or the video made: wait until it is ready"
