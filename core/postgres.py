"""The job store's database on PostgreSQL (psycopg 3, a connection pool): shared by every
front end and worker, migrated once under an advisory lock by whichever process starts first."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from core.database import POSTGRES, KeyedLocks, Row, Shielded
from core.errors import ConfigurationError, StoreUnavailable
from core.store_schema import CASTS, INBOUND_UPDATES, STORYBOARDS

log = logging.getLogger(__name__)

T = TypeVar("T")
# How long a statement waits for a connection while the server is away, before the caller is
# told `StoreUnavailable` (a worker then waits for the server and queues its job again).
POOL_WAIT_S = 10.0
_MIGRATION_LOCK = 0x53_54_4F_52  # "STOR": the advisory lock migrations run under

SCHEMA = """
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
    outcome TEXT,
    progress TEXT,
    keep_files INTEGER NOT NULL DEFAULT 0,
    files_removed INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_user ON jobs (platform, user_id, created_at);
CREATE INDEX jobs_by_status ON jobs (status, created_at);
CREATE TABLE job_steps (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    step TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (job_id, step)
);
CREATE TABLE outbox (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    consumer TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    tries INTEGER NOT NULL DEFAULT 0,
    attempts TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL,
    lease_until TEXT,
    PRIMARY KEY (job_id, consumer)
);
CREATE INDEX outbox_by_state ON outbox (consumer, state)
"""


def _procrastinate_schema() -> str:
    from procrastinate.schema import SchemaManager

    return SchemaManager.get_schema()


# The same tables as SQLite's after its migrations (later changes go to both), then the job
# queue's own tables (procrastinate's schema, applied once in the same way).
MIGRATIONS: list[tuple[str, Callable[[], str]]] = [
    ("pg001_schema", lambda: SCHEMA),
    ("pg002_procrastinate", _procrastinate_schema),
    ("pg003_inbound_updates", lambda: ";\n".join(INBOUND_UPDATES)),
    ("pg004_casts", lambda: ";\n".join(CASTS)),
    ("pg005_storyboards", lambda: ";\n".join(STORYBOARDS)),
]


@functools.lru_cache(maxsize=256)
def _placeholders(query: str) -> str:
    """The store writes `?` for a parameter; psycopg wants `%s`."""
    return query.replace("?", "%s")


class _PostgresTransaction:
    def __init__(self, connection: psycopg.AsyncConnection[Row]) -> None:
        self._connection = connection

    async def execute(self, query: str, args: Sequence[Any] = ()) -> int:
        cursor = await self._connection.execute(_placeholders(query), tuple(args))
        return int(cursor.rowcount)

    async def fetch(self, query: str, args: Sequence[Any] = ()) -> list[Row]:
        cursor = await self._connection.execute(_placeholders(query), tuple(args))
        return await cursor.fetchall() if cursor.description else []


class PostgresDatabase(Shielded):
    """A pool of connections; each transaction takes one for its length. Within an
    `exclusive` block, the task's statements all go through the connection holding the lock."""

    dialect = POSTGRES

    def __init__(self, pool: AsyncConnectionPool[psycopg.AsyncConnection[Row]]) -> None:
        super().__init__()
        self.pool = pool
        self._keys = KeyedLocks()
        self._pinned: ContextVar[psycopg.AsyncConnection[Row] | None] = ContextVar(
            f"storybot-pinned-{id(self)}", default=None
        )

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Row]]:
        pinned = self._pinned.get()
        if pinned is not None:
            yield pinned
            return
        async with self.pool.connection() as connection:
            yield connection

    async def fetch(self, query: str, args: Sequence[Any] = ()) -> list[Row]:
        """Rows of a read-only query; `StoreUnavailable` while the server cannot be reached."""
        with _reachable():
            async with self._connection() as connection:
                return await _PostgresTransaction(connection).fetch(query, args)

    async def atomic(self, body: Callable[[_PostgresTransaction], Awaitable[T]]) -> T:
        """Run `body` in one transaction (see `Database.atomic`); `StoreUnavailable` (nothing
        written) while the server cannot be reached."""

        async def transaction() -> T:
            with _reachable():
                async with self._connection() as connection, connection.transaction():
                    value = await body(_PostgresTransaction(connection))
            self.writes += 1
            return value

        return await self.shielded(transaction())

    @asynccontextmanager
    async def exclusive(self, key: str) -> AsyncIterator[None]:
        """Within the block, no other holder of `key` in any process: an advisory lock on one
        connection, which the block's statements use. One task per process waits for it (the
        others wait in the process), so waiting never takes the pool's connections."""
        async with self._keys.hold(key), self.pool.connection() as connection:
            await connection.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
            token = self._pinned.set(connection)
            try:
                yield
            finally:
                self._pinned.reset(token)
                await connection.execute(
                    "SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,)
                )


@contextmanager
def _reachable() -> Iterator[None]:
    """A lost or refused connection is `StoreUnavailable`: the caller waits and tries again."""
    try:
        yield
    except psycopg.OperationalError as exc:  # PoolTimeout included
        log.warning("the job database cannot be reached: %s", _why(exc))
        raise StoreUnavailable(
            "StoryBot cannot reach its database just now; please try again in a minute."
        ) from exc


async def migrate(connection: psycopg.AsyncConnection[Row]) -> None:
    """Apply every migration not applied yet, under an advisory lock: processes starting at
    once wait for the first, then find nothing left to do."""
    await connection.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
    try:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS _migrations"
            " (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for name, script in MIGRATIONS:
            async with connection.transaction():
                cursor = await connection.execute(
                    "SELECT 1 FROM _migrations WHERE name = %s", (name,)
                )
                if await cursor.fetchone():
                    continue
                await connection.execute(script().encode())  # several statements, no parameters
                await connection.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (%s, %s)",
                    (name, datetime.now(UTC).isoformat()),
                )
                log.info("database migration %s applied", name)
    finally:
        await connection.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))


@asynccontextmanager
async def open_postgres(url: str, *, max_connections: int = 10) -> AsyncIterator[PostgresDatabase]:
    """Connect to the database at `url` and migrate it, or stop with one clear line."""
    try:
        connection = await psycopg.AsyncConnection.connect(
            url, autocommit=True, row_factory=dict_row, connect_timeout=10
        )
        async with connection:
            await migrate(connection)
    except psycopg.Error as exc:
        raise ConfigurationError(f"STORYBOT_DATABASE_URL: {_why(exc)}") from None
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Row]] = AsyncConnectionPool(
        url, min_size=1, max_size=max_connections, open=False,
        kwargs={"row_factory": dict_row, "autocommit": True},
        check=AsyncConnectionPool.check_connection,  # a server gone and back: reconnect
        timeout=POOL_WAIT_S,
    )  # fmt: skip
    await pool.open(wait=True, timeout=30)
    database = PostgresDatabase(pool)
    try:
        yield database
    finally:
        await database.settle()
        await pool.close()


def _why(exc: psycopg.Error) -> str:
    """A short reason, without the URL (it may hold a password)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:200]
