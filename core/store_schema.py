"""The jobs database's schema (migrations in order, each applied once) and how its rows read
as jobs (SQLite; core/postgres.py holds PostgreSQL's schema, the same tables)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

import aiosqlite
from pydantic import ValidationError

from core.database import Row
from core.models import (
    LOCAL_PLATFORMS,
    Delivery,
    Job,
    JobId,
    JobKind,
    JobOutcome,
    JobStatus,
    Origin,
    StoryRequest,
    VideoRequest,
)

log = logging.getLogger(__name__)

_OLD_WEBHOOK_TRIES = 5  # what the webhook sender tried before giving up, before m002

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]
# The same in both dialects (PostgreSQL's migration pg003 runs these too).
INBOUND_UPDATES = (
    "CREATE TABLE inbound_updates (platform TEXT NOT NULL, update_id TEXT NOT NULL,"
    " received_at TEXT NOT NULL, PRIMARY KEY (platform, update_id))",
    "CREATE INDEX inbound_updates_by_time ON inbound_updates (received_at)",
)
# The casts kept for sequels (`core.casts`); PostgreSQL's pg004 runs these too.
CASTS = (
    "CREATE TABLE casts (job_id TEXT PRIMARY KEY, platform TEXT NOT NULL,"
    " user_id TEXT NOT NULL, chat_id TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL,"
    " cast_json TEXT NOT NULL)",
    "CREATE INDEX casts_by_chat ON casts (platform, user_id, chat_id, created_at)",
)
# A preview job's storyboard (`core.storyboards`); PostgreSQL's pg005 runs this too.
STORYBOARDS = ("ALTER TABLE jobs ADD COLUMN storyboard TEXT",)
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


@migration
async def m002_typed_state(db: aiosqlite.Connection) -> None:
    """Typed state: the result as one versioned document, the last progress event, named
    flags instead of a metadata dict, and the delivery outbox (one row per consumer)."""
    await _script(
        db,
        """
        ALTER TABLE jobs ADD COLUMN outcome TEXT;
        ALTER TABLE jobs ADD COLUMN progress TEXT;
        ALTER TABLE jobs ADD COLUMN keep_files INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE jobs ADD COLUMN files_removed INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE outbox (
            job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            consumer TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            tries INTEGER NOT NULL DEFAULT 0,
            attempts TEXT NOT NULL DEFAULT '[]',
            updated_at TEXT NOT NULL,
            PRIMARY KEY (job_id, consumer)
        );
        CREATE INDEX outbox_by_state ON outbox (consumer, state)
        """,
    )
    async with db.execute("SELECT * FROM jobs") as cursor:
        rows = [row async for row in cursor]
    for row in rows:
        await _carry_over(db, row)
    for column in ("outputs", "metadata", "delivery", "delivery_attempts"):
        await db.execute(f"ALTER TABLE jobs DROP COLUMN {column}")


@migration
async def m003_outbox_lease(db: aiosqlite.Connection) -> None:
    """A delivery try holds its outbox row until `lease_until`: processes sharing a database
    never make the same try twice at once."""
    await db.execute("ALTER TABLE outbox ADD COLUMN lease_until TEXT")


@migration
async def m004_inbound_updates(db: aiosqlite.Connection) -> None:
    """Updates a platform pushed to us (Telegram's webhook), by id: one that arrives again
    (the platform retries when it got no answer in time) starts nothing new."""
    for statement in INBOUND_UPDATES:
        await db.execute(statement)


@migration
async def m005_casts(db: aiosqlite.Connection) -> None:
    """The casts of finished stories, kept for their sequels."""
    for statement in CASTS:
        await db.execute(statement)


@migration
async def m006_storyboards(db: aiosqlite.Connection) -> None:
    """The storyboard a preview story waits with for the user's approval."""
    for statement in STORYBOARDS:
        await db.execute(statement)


async def _carry_over(db: aiosqlite.Connection, row: aiosqlite.Row) -> None:
    """Move one job's metadata dict into the typed columns and the outbox."""
    meta: dict[str, Any] = json.loads(row["metadata"])
    now = datetime.now(UTC).isoformat()
    outcome = _old_outcome(row, meta) if row["status"] == "completed" else None
    # The old CLI moved its files out of the jobs folder, where the user asked.
    removed = bool(meta.get("files_removed")) or row["platform"] == "cli"
    await db.execute(
        "UPDATE jobs SET outcome = ?, keep_files = ?, files_removed = ? WHERE id = ?",
        (outcome, int(bool(meta.get("keep_files"))), int(removed), row["id"]),
    )
    if row["status"] == "completed" and row["platform"] not in LOCAL_PLATFORMS:
        await db.execute(
            "INSERT INTO outbox (job_id, consumer, state, tries, updated_at) VALUES (?,?,?,?,?)",
            (row["id"], row["platform"], row["delivery"], row["delivery_attempts"], now),
        )
    webhook = meta.get("webhook")
    if isinstance(webhook, dict):
        attempts = webhook.get("attempts", [])
        spent = len(attempts) >= _OLD_WEBHOOK_TRIES
        state = "delivered" if webhook.get("delivered") else "failed" if spent else "pending"
        await db.execute(
            "INSERT INTO outbox (job_id, consumer, state, tries, attempts, updated_at)"
            " VALUES (?,?,?,?,?,?)",
            (row["id"], "webhook", state, len(attempts), json.dumps(attempts), now),
        )


def _old_outcome(row: aiosqlite.Row, meta: dict[str, Any]) -> str | None:
    """The result document of a job completed before m002, when its metadata holds one."""
    names = [PurePath(p).name for p in json.loads(row["outputs"])]
    *videos, thumbnail = [name for name in names if not name.endswith(".srt")] or [""]
    common = {
        "thumbnail": thumbnail, "duration_s": meta.get("duration_s"),
        "width": meta.get("width"), "height": meta.get("height"),
        "notes": meta.get("notes", []),
    }  # fmt: skip
    if row["kind"] == "video":
        result = {"kind": "video", "videos": videos, "prompt": meta.get("prompt"), **common}
    else:
        result = {
            "kind": "story", "video": videos[0] if videos else "", "story": meta.get("story"),
            "scene_starts_s": meta.get("scene_starts_s", []), "subtitles": "story.srt",
            "animated": meta.get("animated", 0), **common,
        }  # fmt: skip
    sizes = meta.get("file_sizes") or ([meta["file_size"]] if "file_size" in meta else [])
    document = {
        "result": result, "backend": meta.get("providers", ""), "models": meta.get("models", {}),
        "stage_s": meta.get("stage_s", {}), "file_sizes": sizes,
    }  # fmt: skip
    try:
        return JobOutcome.model_validate(document).model_dump_json()
    except ValidationError:
        log.warning("job %s: its old result could not be read; kept without it", row["id"])
        return None


async def migrate(db: aiosqlite.Connection) -> None:
    """Apply every migration not applied yet, each in its own transaction."""
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


_REQUESTS: dict[JobKind, type[StoryRequest] | type[VideoRequest]] = {
    JobKind.STORY: StoryRequest,
    JobKind.VIDEO: VideoRequest,
}


def timestamp(value: str | None) -> datetime | None:
    """A stored time, or None."""
    return datetime.fromisoformat(value) if value else None


def _delivery(row: Row) -> Delivery:
    if row["delivery_state"] is not None:
        return Delivery(row["delivery_state"])
    # No outbox row: a front end whose output is the stored file itself (CLI, HTTP).
    local = row["platform"] in LOCAL_PLATFORMS
    return Delivery.DELIVERED if local and row["status"] == "completed" else Delivery.PENDING


def _outcome(row: Row) -> JobOutcome | None:
    """A completed job's result; None (and a warning) for a document this version cannot
    read, so one bad row never breaks a listing."""
    if not row["outcome"]:
        return None
    try:
        return JobOutcome.model_validate_json(row["outcome"])
    except ValidationError:
        log.warning("job %s: its stored result cannot be read; shown without it", row["id"])
        return None


def job_of(row: Row) -> Job:
    """The job a row of `jobs` (joined with its platform's outbox row) holds."""
    origin = json.loads(row["origin"])
    kind = JobKind(row["kind"])
    return Job(
        id=JobId(row["id"]),
        kind=kind,
        origin=Origin(row["platform"], row["user_id"], origin["chat_id"], origin["extra"]),
        request=_REQUESTS[kind].model_validate_json(row["request"]),
        status=JobStatus(row["status"]),
        percent=row["percent"],
        message=row["message"],
        error=row["error"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        started_at=timestamp(row["started_at"]),
        completed_at=timestamp(row["completed_at"]),
        outcome=_outcome(row),
        keep_files=bool(row["keep_files"]),
        files_removed=bool(row["files_removed"]),
        cancel_requested=bool(row["cancel_requested"]),
        attempt=row["attempt"],
        delivery=_delivery(row),
        delivery_attempts=row["delivery_tries"] or 0,
    )
