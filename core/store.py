"""JobStore: every job, its checkpoints, its last progress event and its delivery outbox in one
SQLite file (aiosqlite). Every change is a named method, atomic on its own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from core.errors import JobNotFound
from core.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryRecord,
    Job,
    JobId,
    JobOutcome,
    JobStatus,
)
from core.store_schema import job_of, migrate, timestamp

T = TypeVar("T")

# Jobs that pay for video clips: video jobs and animated stories.
_MAKES_CLIPS = "(kind = 'video' OR json_extract(request, '$.animate') = 1)"
# A job with its delivery to its own platform (the outbox row named after the platform).
_SELECT = (
    "SELECT jobs.*, o.state AS delivery_state, o.tries AS delivery_tries FROM jobs"
    " LEFT JOIN outbox o ON o.job_id = jobs.id AND o.consumer = jobs.platform"
)
_ENDED = ("completed", "failed", "cancelled")


def _now() -> str:
    return datetime.now(UTC).isoformat()


class JobStore:
    """Async access to the jobs database; open it with `open_job_store(path)`."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._writing = asyncio.Lock()  # one transaction at a time on the shared connection
        self._unfinished: set[asyncio.Future[Any]] = set()  # shielded, maybe still running
        self.writes = 0  # transactions that changed the database, for benchmarks

    # ------------------------------------------------------------------ jobs

    async def create(self, job: Job) -> Job:
        """Insert a new job."""
        origin = json.dumps({"chat_id": job.origin.chat_id, "extra": job.origin.extra})
        await self._write(
            "INSERT INTO jobs (id, kind, platform, user_id, chat_id, origin, request, status,"
            " percent, message, created_at, updated_at, keep_files)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                job.id, job.kind.value, job.origin.platform, job.origin.user_id,
                job.origin.chat_id, origin, job.request.model_dump_json(), job.status.value,
                job.percent, job.message, job.created_at.isoformat(),
                job.updated_at.isoformat(), int(job.keep_files),
            ),
        )  # fmt: skip
        return job

    async def get(self, job_id: str) -> Job:
        """The job, or `JobNotFound`."""
        jobs = await self._select("WHERE jobs.id = ?", (job_id,))
        if not jobs:
            raise JobNotFound(f"no job with id {job_id}")
        return jobs[0]

    async def recent(
        self, *, platform: str | None = None, user_id: str | None = None, limit: int = 10
    ) -> list[Job]:
        """Newest jobs first, optionally of one user."""
        where, args = self._user_filter(platform, user_id)
        return await self._select(f"{where} ORDER BY created_at DESC LIMIT ?", (*args, limit))

    async def with_status(self, *statuses: JobStatus) -> list[Job]:
        """Jobs in any of `statuses`, oldest first (queue order)."""
        marks = ",".join("?" * len(statuses))
        return await self._select(
            f"WHERE status IN ({marks}) ORDER BY created_at", tuple(s.value for s in statuses)
        )

    async def count(
        self,
        *,
        platform: str,
        user_id: str,
        statuses: Sequence[JobStatus] | None = None,
        since: datetime | None = None,
        clips: bool = False,
    ) -> int:
        """How many of a user's jobs match (`clips`: only those that pay for video clips)."""
        where, args = self._user_filter(platform, user_id, clips)
        if statuses:
            where += f" AND status IN ({','.join('?' * len(statuses))})"
            args += tuple(s.value for s in statuses)
        if since is not None:
            where += " AND created_at >= ?"
            args += (since.isoformat(),)
        return int(await self._scalar(f"SELECT COUNT(*) FROM jobs {where}", args) or 0)

    async def oldest_since(
        self, *, platform: str, user_id: str, since: datetime, clips: bool = False
    ) -> datetime | None:
        """Creation time of a user's oldest job since `since` (when a rolling limit frees up)."""
        where, args = self._user_filter(platform, user_id, clips)
        query = f"SELECT MIN(created_at) FROM jobs {where} AND created_at >= ?"
        return timestamp(await self._scalar(query, (*args, since.isoformat())))

    async def remember(self, job_id: str, **extra: str) -> None:
        """Add ids a front end needs later (e.g. its progress message) to the job's origin."""
        patch = json.dumps({"extra": extra})
        await self._write(
            "UPDATE jobs SET origin = json_patch(origin, ?), updated_at = ? WHERE id = ?",
            (patch, _now(), job_id),
        )

    # ------------------------------------------------------------------ a job's life

    async def claim(self, job_id: str) -> Job | None:
        """Take an unfinished job for a run: `processing`, the next attempt number. None if it
        finished or a cancel was requested meanwhile."""
        now = _now()
        changed = await self._write(
            "UPDATE jobs SET status = 'processing', attempt = attempt + 1,"
            " started_at = COALESCE(started_at, ?), updated_at = ?"
            " WHERE id = ? AND status NOT IN (?,?,?) AND cancel_requested = 0",
            (now, now, job_id, *_ENDED),
        )
        return await self.get(job_id) if changed else None

    async def progressed(
        self,
        job_id: str,
        attempt: int,
        *,
        event: str,
        message: str,
        status: JobStatus | None = None,
        percent: int | None = None,
    ) -> None:
        """Record a running job's progress (its last event, encoded) for this attempt only."""
        await self._write(
            "UPDATE jobs SET progress = ?, message = ?, status = COALESCE(?, status),"
            " percent = MAX(percent, COALESCE(?, percent)), updated_at = ?"
            " WHERE id = ? AND attempt = ? AND status NOT IN (?,?,?)",
            (event, message, status.value if status else None, percent, _now(), job_id,
             attempt, *_ENDED),
        )  # fmt: skip

    async def last_event(self, job_id: str) -> str | None:
        """The encoded last progress event of a running job."""
        value = await self._scalar("SELECT progress FROM jobs WHERE id = ?", (job_id,))
        return str(value) if value is not None else None

    async def complete(
        self, job_id: str, attempt: int, outcome: JobOutcome, consumers: Sequence[str]
    ) -> bool:
        """The job completed: its result, and an outbox row per consumer waiting for it, in one
        transaction. False (nothing written) if a newer attempt owns the job."""
        return await self._end(
            job_id, attempt, JobStatus.COMPLETED, consumers,
            outcome=outcome.model_dump_json(), percent=100, message="done", error=None,
        )  # fmt: skip

    async def fail(
        self, job_id: str, attempt: int | None, reason: str, consumers: Sequence[str] = ()
    ) -> bool:
        """The job failed with `reason` (safe to show users)."""
        return await self._end(
            job_id, attempt, JobStatus.FAILED, consumers, message="failed", error=reason
        )

    async def cancelled(self, job_id: str) -> bool:
        """The job was cancelled (its cancel request is fulfilled)."""
        return await self._end(job_id, None, JobStatus.CANCELLED, (), message="cancelled")

    async def _end(
        self,
        job_id: str,
        attempt: int | None,
        status: JobStatus,
        consumers: Sequence[str],
        **columns: Any,
    ) -> bool:
        now = _now()
        sets = ", ".join(f"{name} = ?" for name in columns)
        guard = "" if attempt is None else " AND attempt = ?"
        args = (status.value, *columns.values(), now, now, job_id, *_ENDED)

        async def end(db: aiosqlite.Connection) -> bool:
            cursor = await db.execute(
                f"UPDATE jobs SET status = ?, {sets}, completed_at = ?, updated_at = ?,"
                f" progress = NULL WHERE id = ? AND status NOT IN (?,?,?){guard}",
                (*args, *(() if attempt is None else (attempt,))),
            )
            if cursor.rowcount == 0:
                return False
            if status is not JobStatus.COMPLETED:  # its files go: so do its checkpoints
                await db.execute("DELETE FROM job_steps WHERE job_id = ?", (job_id,))
            await db.executemany(
                "INSERT OR IGNORE INTO outbox (job_id, consumer, updated_at) VALUES (?, ?, ?)",
                [(job_id, consumer, now) for consumer in consumers],
            )
            return True

        return await self._atomic(end)

    async def request_cancel(self, job_id: str) -> bool:
        """Record a cancel request; False if the job had already finished."""
        return await self._write(
            "UPDATE jobs SET cancel_requested = 1, updated_at = ?"
            " WHERE id = ? AND status NOT IN (?,?,?)",
            (_now(), job_id, *_ENDED),
        )

    async def cancel_requested(self, job_id: str) -> bool:
        """Whether a cancel was requested for the job."""
        return bool(
            await self._scalar("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,))
        )

    async def files_removed(self, job_id: str) -> None:
        """Housekeeping (or the CLI) removed the job's files."""
        await self._write(
            "UPDATE jobs SET files_removed = 1, updated_at = ? WHERE id = ?", (_now(), job_id)
        )

    # ------------------------------------------------------------------ checkpoints

    async def mark_step(self, job_id: str, step: str) -> None:
        """Record that a step's checkpoint file is complete."""
        await self._write(
            "INSERT OR REPLACE INTO job_steps (job_id, step, finished_at) VALUES (?, ?, ?)",
            (job_id, step, _now()),
        )

    async def steps(self, job_id: str) -> set[str]:
        """The steps a job has finished."""
        query = "SELECT step FROM job_steps WHERE job_id = ?"
        async with self._db.execute(query, (job_id,)) as cursor:
            return {row[0] async for row in cursor}

    # ------------------------------------------------------------------ outbox

    async def waiting(self, consumer: str) -> list[JobId]:
        """Jobs waiting for `consumer` (or whose delivery a crash cut short), oldest first."""
        query = (
            "SELECT job_id FROM outbox WHERE consumer = ? AND state IN ('pending', 'delivering')"
            " ORDER BY updated_at"
        )
        async with self._db.execute(query, (consumer,)) as cursor:
            return [JobId(row[0]) async for row in cursor]

    async def delivery(self, job_id: str, consumer: str) -> DeliveryRecord | None:
        """One consumer's delivery of a job, if the job has one."""
        query = "SELECT * FROM outbox WHERE job_id = ? AND consumer = ?"
        async with self._db.execute(query, (job_id, consumer)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        attempts = tuple(
            DeliveryAttempt(datetime.fromisoformat(a.pop("at")), **a)
            for a in json.loads(row["attempts"])
        )
        return DeliveryRecord(
            JobId(job_id), consumer, Delivery(row["state"]), row["tries"], attempts
        )

    async def delivering(self, job_id: str, consumer: str) -> int | None:
        """Before a try: state `delivering`, one more try counted; returns the tries so far, or
        None if the delivery has settled meanwhile (another try got there first)."""

        async def claim(db: aiosqlite.Connection) -> int | None:
            cursor = await db.execute(
                "UPDATE outbox SET state = 'delivering', tries = tries + 1, updated_at = ?"
                " WHERE job_id = ? AND consumer = ? AND state IN ('pending', 'delivering')"
                " RETURNING tries",
                (_now(), job_id, consumer),
            )
            row = await cursor.fetchone()
            return int(row[0]) if row else None

        return await self._atomic(claim)

    async def delivered(
        self, job_id: str, consumer: str, state: Delivery, attempt: DeliveryAttempt | None = None
    ) -> None:
        """After a try: the new state, and the try's record where the consumer keeps one."""
        record = None
        if attempt is not None:
            record = json.dumps({**asdict(attempt), "at": attempt.at.isoformat()})
        await self._write(
            "UPDATE outbox SET state = ?, updated_at = ?, attempts = CASE WHEN ? IS NULL"
            " THEN attempts ELSE json_insert(attempts, '$[#]', json(?)) END"
            " WHERE job_id = ? AND consumer = ?",
            (state.value, _now(), record, record, job_id, consumer),
        )

    # ------------------------------------------------------------------ plumbing

    @staticmethod
    def _user_filter(
        platform: str | None, user_id: str | None, clips: bool = False
    ) -> tuple[str, tuple[Any, ...]]:
        clauses, args = ["1 = 1"], []
        if clips:
            clauses.append(_MAKES_CLIPS)
        if platform is not None:
            clauses.append("platform = ?")
            args.append(platform)
        if user_id is not None:
            clauses.append("user_id = ?")
            args.append(user_id)
        return "WHERE " + " AND ".join(clauses), tuple(args)

    async def _select(self, tail: str, args: tuple[Any, ...]) -> list[Job]:
        async with self._db.execute(f"{_SELECT} {tail}", args) as cursor:
            return [job_of(row) async for row in cursor]

    async def _scalar(self, query: str, args: tuple[Any, ...]) -> Any:
        async with self._db.execute(query, args) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def _atomic(self, body: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run `body` in one transaction. Shielded: a cancelled caller (a cancelled job, a
        stopping process) never leaves a transaction half done on the shared connection."""

        async def transaction() -> T:
            async with self._writing:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    value = await body(self._db)
                    await self._db.commit()
                except BaseException:
                    await self._db.rollback()
                    raise
                self.writes += 1
                return value

        task = asyncio.ensure_future(transaction())
        self._unfinished.add(task)
        task.add_done_callback(self._unfinished.discard)
        return await asyncio.shield(task)

    async def settle(self) -> None:
        """Wait for transactions whose callers were cancelled (before the connection closes)."""
        await asyncio.gather(*self._unfinished, return_exceptions=True)

    async def _write(self, query: str, args: tuple[Any, ...]) -> bool:
        """One statement in its own transaction; whether it changed a row."""

        async def statement(db: aiosqlite.Connection) -> bool:
            cursor = await db.execute(query, args)
            return cursor.rowcount > 0

        return await self._atomic(statement)


@asynccontextmanager
async def open_job_store(path: Path) -> AsyncIterator[JobStore]:
    """Open (creating and migrating) the database at `path`, in WAL mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(path, isolation_level=None) as db:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.execute("PRAGMA busy_timeout = 5000")
        await db.execute("PRAGMA synchronous = NORMAL")
        await migrate(db)
        store = JobStore(db)
        try:
            yield store
        finally:
            await store.settle()
