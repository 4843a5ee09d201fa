"""JobStore: every job, its checkpoints and its delivery state in one SQLite file (aiosqlite)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import aiosqlite

from core.errors import JobNotFound
from core.models import JobId, StoryRequest, VideoRequest


class JobStatus(StrEnum):
    """Where a job is, in the REST API's words."""

    PENDING = "pending"  # queued
    PROCESSING = "processing"  # writing the story
    GENERATING = "generating"  # pictures, narration, animation, assembly
    DOWNLOADING = "downloading"  # fetching remote results
    COMPLETED = "completed"  # the output exists
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """No more work will happen."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class Delivery(StrEnum):
    """Whether the front end has the output yet."""

    PENDING = "pending"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    UNCONFIRMED = "unconfirmed"  # sent, but the platform never confirmed it; not re-sent
    FAILED = "failed"


class JobKind(StrEnum):
    """What a job makes."""

    STORY = "story"
    VIDEO = "video"


@dataclass(frozen=True, slots=True)
class Origin:
    """Who asked, where, and the message ids the front end needs to answer there."""

    platform: str  # cli, telegram, discord, http
    user_id: str
    chat_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Job:
    """One row of the store."""

    id: JobId
    kind: JobKind
    origin: Origin
    request: StoryRequest | VideoRequest
    status: JobStatus = JobStatus.PENDING
    percent: int = 0
    message: str = ""
    error: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    completed_at: datetime | None = None
    outputs: tuple[Path, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    delivery: Delivery = Delivery.PENDING
    delivery_attempts: int = 0

    @property
    def subject(self) -> str:
        """What the job is about: a story's theme, or a video's prompt."""
        request = self.request
        return request.theme if isinstance(request, StoryRequest) else request.prompt


Migration = Callable[[aiosqlite.Connection], Awaitable[None]]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(function: Migration) -> Migration:
    """Register a schema migration; its name is recorded once applied."""
    MIGRATIONS.append((function.__name__, function))
    return function


async def _script(db: aiosqlite.Connection, sql: str) -> None:
    # Statement by statement: executescript() would commit the migration's transaction early.
    for statement in sql.split(";"):
        if statement.strip():
            await db.execute(statement)


@migration
async def m001_jobs(db: aiosqlite.Connection) -> None:
    """Jobs, and the steps each job has finished."""
    await _script(
        db,
        """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            platform TEXT NOT NULL,
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL DEFAULT '',
            origin TEXT NOT NULL,
            request TEXT NOT NULL,
            status TEXT NOT NULL,
            percent INTEGER NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            started_at TEXT,
            completed_at TEXT,
            outputs TEXT NOT NULL DEFAULT '[]',
            metadata TEXT NOT NULL DEFAULT '{}',
            delivery TEXT NOT NULL DEFAULT 'pending',
            delivery_attempts INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX jobs_by_user ON jobs (platform, user_id, created_at);
        CREATE INDEX jobs_by_status ON jobs (status, created_at);
        CREATE TABLE job_steps (
            job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            step TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            PRIMARY KEY (job_id, step)
        );
        """,
    )


# Jobs that pay for video clips: video jobs and animated stories.
_MAKES_CLIPS = "(kind = 'video' OR json_extract(request, '$.animate') = 1)"
_REQUESTS: dict[JobKind, type[StoryRequest] | type[VideoRequest]] = {
    JobKind.STORY: StoryRequest,
    JobKind.VIDEO: VideoRequest,
}

_UPDATABLE = {
    "status", "percent", "message", "error", "started_at", "completed_at", "outputs",
    "metadata", "delivery", "delivery_attempts", "origin",
}  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _encode(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if name == "outputs":
        return json.dumps([str(p) for p in value])
    if name == "metadata":
        return json.dumps(value, ensure_ascii=False)
    if name == "origin":
        return json.dumps({"chat_id": value.chat_id, "extra": value.extra})
    return value


def _row_to_job(row: aiosqlite.Row) -> Job:
    origin = json.loads(row["origin"])
    return Job(
        id=JobId(row["id"]),
        kind=JobKind(row["kind"]),
        origin=Origin(row["platform"], row["user_id"], origin["chat_id"], origin["extra"]),
        request=_REQUESTS[JobKind(row["kind"])].model_validate_json(row["request"]),
        status=JobStatus(row["status"]),
        percent=row["percent"],
        message=row["message"],
        error=row["error"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        started_at=datetime.fromisoformat(row["started_at"]) if row["started_at"] else None,
        completed_at=datetime.fromisoformat(row["completed_at"]) if row["completed_at"] else None,
        outputs=tuple(Path(p) for p in json.loads(row["outputs"])),
        metadata=json.loads(row["metadata"]),
        delivery=Delivery(row["delivery"]),
        delivery_attempts=row["delivery_attempts"],
    )


class JobStore:
    """Async access to the jobs database; open it with `open_job_store(path)`."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self.writes = 0  # statements that changed the database, for benchmarks

    async def create(self, job: Job) -> Job:
        """Insert a new job."""
        await self._write(
            "INSERT INTO jobs (id, kind, platform, user_id, chat_id, origin, request, status,"
            " percent, message, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                job.id, job.kind.value, job.origin.platform, job.origin.user_id,
                job.origin.chat_id, _encode("origin", job.origin), job.request.model_dump_json(),
                job.status.value, job.percent, job.message, _iso(job.created_at),
                _iso(job.updated_at),
            ),
        )  # fmt: skip
        return job

    async def get(self, job_id: str) -> Job:
        """The job, or `JobNotFound`."""
        async with self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise JobNotFound(f"no job with id {job_id}")
        return _row_to_job(row)

    async def update(self, job_id: str, **changes: Any) -> None:
        """Set some columns (see `_UPDATABLE`) and `updated_at`."""
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        changes["updated_at"] = datetime.now(UTC)
        columns = ", ".join(f"{name} = ?" for name in changes)
        values = [_encode(name, value) for name, value in changes.items()]
        await self._write(f"UPDATE jobs SET {columns} WHERE id = ?", (*values, job_id))

    async def merge_metadata(self, job_id: str, **items: Any) -> None:
        """Add keys to a job's metadata."""
        job = await self.get(job_id)
        await self.update(job_id, metadata={**job.metadata, **items})

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
        statuses: tuple[JobStatus, ...] | None = None,
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
        async with self._db.execute(f"SELECT COUNT(*) FROM jobs {where}", args) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def oldest_since(
        self, *, platform: str, user_id: str, since: datetime, clips: bool = False
    ) -> datetime | None:
        """Creation time of a user's oldest job since `since` (when a rolling limit frees up)."""
        where, args = self._user_filter(platform, user_id, clips)
        query = f"SELECT MIN(created_at) FROM jobs {where} AND created_at >= ?"
        async with self._db.execute(query, (*args, since.isoformat())) as cursor:
            row = await cursor.fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    async def mark_step(self, job_id: str, step: str) -> None:
        """Record that a step's checkpoint file is complete."""
        await self._write(
            "INSERT OR REPLACE INTO job_steps (job_id, step, finished_at) VALUES (?, ?, ?)",
            (job_id, step, datetime.now(UTC).isoformat()),
        )

    async def steps(self, job_id: str) -> set[str]:
        """The steps a job has finished."""
        query = "SELECT step FROM job_steps WHERE job_id = ?"
        async with self._db.execute(query, (job_id,)) as cursor:
            return {row[0] async for row in cursor}

    async def clear_steps(self, job_id: str) -> None:
        """Forget a job's checkpoints (its files are gone)."""
        await self._write("DELETE FROM job_steps WHERE job_id = ?", (job_id,))

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
        async with self._db.execute(f"SELECT * FROM jobs {tail}", args) as cursor:
            return [_row_to_job(row) async for row in cursor]

    async def _write(self, query: str, args: tuple[Any, ...]) -> None:
        await self._db.execute(query, args)
        await self._db.commit()
        self.writes += 1


async def _migrate(db: aiosqlite.Connection) -> None:
    await db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    await db.commit()
    for name, apply in MIGRATIONS:
        # BEGIN IMMEDIATE: two processes starting at once apply each migration exactly once.
        await db.execute("BEGIN IMMEDIATE")
        async with db.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)) as cursor:
            done = await cursor.fetchone()
        if done:
            await db.rollback()
            continue
        await apply(db)
        await db.execute(
            "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
            (name, datetime.now(UTC).isoformat()),
        )
        await db.commit()


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
        await _migrate(db)
        yield JobStore(db)
