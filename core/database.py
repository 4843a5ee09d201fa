"""The database under the job store: SQLite in one process (aiosqlite) or PostgreSQL shared by
many processes (psycopg 3). One interface, so every statement of the store is written once;
a `Dialect` supplies the few expressions the two spell differently."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import aiosqlite

T = TypeVar("T")
Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Dialect:
    """Expressions the store needs that SQLite and PostgreSQL write differently."""

    name: str
    greatest: str  # the two-argument maximum: MAX (SQLite) or GREATEST (PostgreSQL)
    animated: str  # whether a job's request asks for animation
    merge_extra: str  # origin with `?` (a JSON object) merged into its "extra"
    append_attempt: str  # attempts with `?` (a JSON object) appended


SQLITE = Dialect(
    name="sqlite",
    greatest="MAX",
    animated="json_extract(request, '$.animate') = 1",
    merge_extra="json_patch(origin, json_object('extra', json(?)))",
    append_attempt="json_insert(attempts, '$[#]', json(?))",
)
POSTGRES = Dialect(
    name="postgresql",
    greatest="GREATEST",
    animated="(request::jsonb ->> 'animate') = 'true'",
    merge_extra=(
        "jsonb_set(origin::jsonb, '{extra}', COALESCE(origin::jsonb -> 'extra', '{}')"
        " || ?::jsonb)::text"
    ),
    append_attempt="(attempts::jsonb || jsonb_build_array(?::jsonb))::text",
)


class Transaction(Protocol):
    """Statements inside one transaction."""

    async def execute(self, query: str, args: Sequence[Any] = ()) -> int:
        """Run a statement; how many rows it changed."""
        ...

    async def fetch(self, query: str, args: Sequence[Any] = ()) -> list[Row]:
        """Run a query (or a statement with RETURNING); its rows."""
        ...


class Database(Protocol):
    """A connection (pool) to the jobs database; `?` marks a parameter in every dialect."""

    dialect: Dialect
    writes: int  # transactions that changed the database, for benchmarks

    async def fetch(self, query: str, args: Sequence[Any] = ()) -> list[Row]:
        """Rows of a read-only query, outside any transaction."""
        ...

    async def atomic(self, body: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run `body` in one transaction, shielded: a cancelled caller never leaves one half
        done. Committed when `body` returns, rolled back when it raises."""
        ...

    async def settle(self) -> None:
        """Wait for transactions whose callers were cancelled (before closing)."""
        ...

    def exclusive(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Within the block, no other holder of `key` (in any process sharing the database)
        is within its own block."""
        ...


class Shielded:
    """Transactions run as tasks the caller's cancellation cannot interrupt."""

    def __init__(self) -> None:
        self._unfinished: set[asyncio.Future[Any]] = set()
        self.writes = 0

    async def shielded(self, transaction: Awaitable[T]) -> T:
        """Await `transaction` as a task that runs to its end even if the caller is cancelled."""
        task = asyncio.ensure_future(transaction)
        self._unfinished.add(task)
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    def _finished(self, task: asyncio.Future[Any]) -> None:
        self._unfinished.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a cancelled caller's failure is its own, not a bug

    async def settle(self) -> None:
        """Wait for transactions whose callers were cancelled."""
        await asyncio.gather(*self._unfinished, return_exceptions=True)


class _SqliteTransaction:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, query: str, args: Sequence[Any] = ()) -> int:
        cursor = await self._db.execute(query, tuple(args))
        return cursor.rowcount

    async def fetch(self, query: str, args: Sequence[Any] = ()) -> list[Row]:
        async with self._db.execute(query, tuple(args)) as cursor:
            return [dict(row) async for row in cursor]


class KeyedLocks:
    """One asyncio lock per key, for as long as someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Within the block, no other task of this process holds `key`."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield


class SqliteDatabase(Shielded):
    """One shared aiosqlite connection; one transaction at a time (`BEGIN IMMEDIATE`). SQLite
    serves one process, so its exclusive sections are this process's locks."""

    dialect = SQLITE

    def __init__(self, db: aiosqlite.Connection) -> None:
        super().__init__()
        self._db = db
        self._writing = asyncio.Lock()
        self._keys = KeyedLocks()

    def exclusive(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Within the block, no other task of this process holds `key`."""
        return self._keys.hold(key)

    async def fetch(self, query: str, args: Sequence[Any] = ()) -> list[Row]:
        """Rows of a read-only query."""
        return await _SqliteTransaction(self._db).fetch(query, args)

    async def atomic(self, body: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run `body` in one transaction (see `Database.atomic`)."""

        async def transaction() -> T:
            async with self._writing:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    value = await body(_SqliteTransaction(self._db))
                    await self._db.commit()
                except BaseException:
                    await self._db.rollback()
                    raise
                self.writes += 1
                return value

        return await self.shielded(transaction())
