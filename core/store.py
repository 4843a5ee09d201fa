"""JobStore: every job, its checkpoints, its last progress event and its delivery outbox, in
SQLite (one process) or PostgreSQL (many). Every change is a named method, atomic on its own;
each statement is written once for both databases."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from core.database import Database, SqliteDatabase, Transaction
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

    def __init__(self, db: Database) -> None:
        self._db = db
        dialect = db.dialect
        self._makes_clips = f"(kind = 'video' OR {dialect.animated})"  # jobs that pay for clips
        self._greatest = dialect.greatest
        self._merge_extra = dialect.merge_extra
        self._append_attempt = dialect.append_attempt

    @property
    def database(self) -> Database:
        """The database under the store (for the job queue's own tables)."""
        return self._db

    @property
    def writes(self) -> int:
        """Transactions that changed the database, for benchmarks."""
        return self._db.writes

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

    def user_lock(self, platform: str, user_id: str) -> AbstractAsyncContextManager[None]:
        """Within the block, no other submit of this user runs its count-and-insert, in any
        process: per-user limits hold however many front ends take requests."""
        return self._db.exclusive(f"storybot-user:{platform}:{user_id}")

    async def remember(self, job_id: str, **extra: str) -> None:
        """Add ids a front end needs later (e.g. its progress message) to the job's origin."""
        await self._write(
            f"UPDATE jobs SET origin = {self._merge_extra}, updated_at = ? WHERE id = ?",
            (json.dumps(extra), _now(), job_id),
        )

    # ------------------------------------------------------------------ a job's life

    async def claim(self, job_id: str) -> Job | None:
        """Take an unfinished job for a run: `processing`, the next attempt number. None if it
        finished, waits for approval, or a cancel was requested meanwhile."""
        now = _now()
        changed = await self._write(
            "UPDATE jobs SET status = 'processing', attempt = attempt + 1,"
            " started_at = COALESCE(started_at, ?), updated_at = ?"
            " WHERE id = ? AND status NOT IN (?,?,?,?) AND cancel_requested = 0",
            (now, now, job_id, *_ENDED, JobStatus.AWAITING_APPROVAL.value),
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
    ) -> bool:
        """Record a running job's progress (its last event, encoded) for this attempt only;
        False if the job ended or a newer attempt owns it."""
        return await self._write(
            "UPDATE jobs SET progress = ?, message = ?, status = COALESCE(?, status),"
            f" percent = {self._greatest}(percent, COALESCE(?, percent)), updated_at = ?"
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

        async def end(tx: Transaction) -> bool:
            changed = await tx.execute(
                f"UPDATE jobs SET status = ?, {sets}, completed_at = ?, updated_at = ?,"
                f" progress = NULL WHERE id = ? AND status NOT IN (?,?,?){guard}",
                (*args, *(() if attempt is None else (attempt,))),
            )
            if changed == 0:
                return False
            if status is not JobStatus.COMPLETED:  # its files go: so do its checkpoints
                await tx.execute("DELETE FROM job_steps WHERE job_id = ?", (job_id,))
            for consumer in consumers:
                await tx.execute(
                    "INSERT INTO outbox (job_id, consumer, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (job_id, consumer, now),
                )
            return True

        return await self._db.atomic(end)

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

    async def mark_step(self, job_id: str, attempt: int, step: str) -> bool:
        """Record that a step's checkpoint file is complete; False (nothing written) if a
        newer attempt owns the job."""
        return await self._write(
            "INSERT INTO job_steps (job_id, step, finished_at)"
            " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ? AND attempt = ?)"
            " ON CONFLICT (job_id, step) DO UPDATE SET finished_at = excluded.finished_at",
            (job_id, step, _now(), job_id, attempt),
        )

    async def steps(self, job_id: str) -> set[str]:
        """The steps a job has finished."""
        rows = await self._db.fetch("SELECT step FROM job_steps WHERE job_id = ?", (job_id,))
        return {row["step"] for row in rows}

    # ------------------------------------------------------------------ outbox

    async def waiting(self, consumer: str) -> list[JobId]:
        """Jobs waiting for `consumer` (or whose delivery a crash cut short), oldest first."""
        query = (
            "SELECT job_id FROM outbox WHERE consumer = ? AND state IN ('pending', 'delivering')"
            " ORDER BY updated_at"
        )
        return [JobId(row["job_id"]) for row in await self._db.fetch(query, (consumer,))]

    async def delivery(self, job_id: str, consumer: str) -> DeliveryRecord | None:
        """One consumer's delivery of a job, if the job has one."""
        query = "SELECT * FROM outbox WHERE job_id = ? AND consumer = ?"
        rows = await self._db.fetch(query, (job_id, consumer))
        if not rows:
            return None
        row = rows[0]
        attempts = tuple(
            DeliveryAttempt(datetime.fromisoformat(a.pop("at")), **a)
            for a in json.loads(row["attempts"])
        )
        return DeliveryRecord(
            JobId(job_id), consumer, Delivery(row["state"]), row["tries"], attempts
        )

    async def delivering(self, job_id: str, consumer: str, lease_s: float = 0.0) -> int | None:
        """Before a try: state `delivering`, one more try counted, the row held for `lease_s`;
        returns the tries so far, or None if the delivery has settled meanwhile or another
        process holds it (a row left `delivering` by a crash is taken once its lease ends)."""
        now = datetime.now(UTC)
        until = (now + timedelta(seconds=lease_s)).isoformat()

        async def claim(tx: Transaction) -> int | None:
            rows = await tx.fetch(
                "UPDATE outbox SET state = 'delivering', tries = tries + 1, updated_at = ?,"
                " lease_until = ? WHERE job_id = ? AND consumer = ? AND (state = 'pending'"
                " OR (state = 'delivering' AND (lease_until IS NULL OR lease_until <= ?)))"
                " RETURNING tries",
                (now.isoformat(), until, job_id, consumer, now.isoformat()),
            )
            return int(rows[0]["tries"]) if rows else None

        return await self._db.atomic(claim)

    async def delivered(
        self, job_id: str, consumer: str, state: Delivery, attempt: DeliveryAttempt | None = None
    ) -> None:
        """After a try: the new state, and the try's record where the consumer keeps one."""
        record = None
        if attempt is not None:
            record = json.dumps({**asdict(attempt), "at": attempt.at.isoformat()})
        sets, args = "state = ?, updated_at = ?, lease_until = NULL", [state.value, _now()]
        if record is not None:
            sets += f", attempts = {self._append_attempt}"
            args.append(record)
        # A row queued anew meanwhile (tries back to 0: a storyboard to show again) is left
        # for its own next try.
        where = "WHERE job_id = ? AND consumer = ? AND tries > 0"
        await self._write(f"UPDATE outbox SET {sets} {where}", (*args, job_id, consumer))

    # ------------------------------------------------------------------ plumbing

    def _user_filter(
        self, platform: str | None, user_id: str | None, clips: bool = False
    ) -> tuple[str, tuple[Any, ...]]:
        clauses, args = ["1 = 1"], []
        if clips:
            clauses.append(self._makes_clips)
        if platform is not None:
            clauses.append("platform = ?")
            args.append(platform)
        if user_id is not None:
            clauses.append("user_id = ?")
            args.append(user_id)
        return "WHERE " + " AND ".join(clauses), tuple(args)

    async def _select(self, tail: str, args: tuple[Any, ...]) -> list[Job]:
        return [job_of(row) for row in await self._db.fetch(f"{_SELECT} {tail}", args)]

    async def _scalar(self, query: str, args: tuple[Any, ...]) -> Any:
        rows = await self._db.fetch(query, args)
        return next(iter(rows[0].values())) if rows else None

    async def settle(self) -> None:
        """Wait for transactions whose callers were cancelled (before the database closes)."""
        await self._db.settle()

    async def _write(self, query: str, args: tuple[Any, ...]) -> bool:
        """One statement in its own transaction; whether it changed a row."""

        async def statement(tx: Transaction) -> bool:
            return await tx.execute(query, args) > 0

        return await self._db.atomic(statement)


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
        store = JobStore(SqliteDatabase(db))
        try:
            yield store
        finally:
            await store.settle()


@asynccontextmanager
async def open_postgres_job_store(url: str) -> AsyncIterator[JobStore]:
    """Connect to the shared PostgreSQL store at `url` (migrating it), or raise
    `ConfigurationError` with one line saying why."""
    from core.postgres import open_postgres  # psycopg only where PostgreSQL is used

    async with open_postgres(url) as db:
        yield JobStore(db)


def open_store(database: Path, url: str | None) -> AbstractAsyncContextManager[JobStore]:
    """The configured store: PostgreSQL at `url` if set, else SQLite at `database`."""
    return open_postgres_job_store(url) if url else open_job_store(database)
