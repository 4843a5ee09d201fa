"""One owner per outside connection (Telegram's `getUpdates`, Discord's gateway): the process
that leads a name holds it alone among every process sharing the database.

With SQLite the process is alone, so it leads at once. With PostgreSQL the lead is a
session-level advisory lock on a connection of its own: the server frees it the moment that
connection ends, so when the leader dies (SIGKILL included) a standby gets it on its next try.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import psycopg

log = logging.getLogger(__name__)

RETRY_S = 1.0  # while the server cannot be reached, ask again this often
CHECK_EVERY_S = 2.0  # the leader checks its connection (and so its lock) this often
_CHECK_TIMEOUT_S = 5.0
_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))"
_LOCK = "SELECT pg_advisory_lock(hashtextextended(%s, 0))"
_KEEPALIVES = (
    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3"
)
Connection = psycopg.AsyncConnection[tuple[Any, ...]]


class Leadership(Protocol):
    """Who owns a connection to the outside world."""

    def lead(
        self, name: str, standing_by: Callable[[], object] = lambda: None
    ) -> contextlib.AbstractAsyncContextManager[asyncio.Event]:
        """Wait until this process leads `name` (calling `standing_by` if another process
        leads it now); the event is set if the lead is lost (its database connection broke).
        Leaving the block gives the lead up."""
        ...


class SoleProcess:
    """SQLite: one process serves everything, so it always leads."""

    @contextlib.asynccontextmanager
    async def lead(
        self, name: str, standing_by: Callable[[], object] = lambda: None
    ) -> AsyncIterator[asyncio.Event]:
        """Lead at once; the lead is never lost."""
        yield asyncio.Event()


class PostgresLeadership:
    """Leads held as advisory locks, each on a connection of its own to the server at `url`."""

    def __init__(self, url: str) -> None:
        self._url = url

    @contextlib.asynccontextmanager
    async def lead(
        self, name: str, standing_by: Callable[[], object] = lambda: None
    ) -> AsyncIterator[asyncio.Event]:
        """Wait for the lock of `name`, then hold it and watch its connection."""
        key = f"storybot-lead:{name}"
        connection = await self._acquire(name, key, standing_by)
        lost = asyncio.Event()
        watch = asyncio.create_task(_watch(connection, lost), name=f"storybot-lead-{name}")
        log.info("this process now leads %s", name)
        try:
            yield lost
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
            await _close(connection)  # the lock goes with its session

    async def _acquire(self, name: str, key: str, standing_by: Callable[[], object]) -> Connection:
        """A connection holding the lock of `key`: at once if no other process holds it, else
        as soon as the holder's connection ends (the server grants the waiting request)."""
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=10
                )
            except psycopg.Error as exc:
                log.warning("cannot ask for the lead of %s: %s", name, type(exc).__name__)
                await asyncio.sleep(RETRY_S)  # the server is away: try again shortly
                continue
            try:
                # A leader's machine that vanishes (no FIN sent) is noticed by the server's
                # keepalives within about 25 s, and its lock freed; loopback and Unix sockets
                # notice a dead process at once.
                await connection.execute(_KEEPALIVES)
                cursor = await connection.execute(_TRY_LOCK, (key,))
                row = await cursor.fetchone()
                if row is None or row[0] is not True:
                    log.info("another process leads %s; standing by", name)
                    standing_by()
                    await connection.execute(_LOCK, (key,))  # waits in the server
                return connection
            except psycopg.Error as exc:
                log.warning("lost the database while waiting for %s: %s", name, type(exc).__name__)
                await _close(connection)
                await asyncio.sleep(RETRY_S)
            except BaseException:
                await _close(connection)
                raise


async def _close(connection: Connection) -> None:
    with contextlib.suppress(psycopg.Error):
        await connection.close()


async def _watch(connection: Connection, lost: asyncio.Event) -> None:
    """Set `lost` once the lock's connection stops answering (the server then freed the lock,
    or will when it notices)."""
    while True:
        await asyncio.sleep(CHECK_EVERY_S)
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_S):
                await connection.execute("SELECT 1")
        except (psycopg.Error, TimeoutError) as exc:
            log.error("lost the lead: its database connection broke (%s)", type(exc).__name__)
            lost.set()
            return
