"""The event bus across processes: PostgreSQL's LISTEN/NOTIFY.

Events reach this process's listeners at once, and every other process through one channel,
at most about one per second per job (the latest one always arrives; endings at once).
Events are snapshots: one lost while a process was disconnected costs nothing, since a
follower re-reads the stored state when it starts, and the outbox polls besides."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from types import TracebackType

import psycopg

from core.errors import StoreUnavailable
from core.events import LocalEventBus
from core.models import JobId, JobStatus
from core.progress import (
    HANDED_OVER,
    JobSucceeded,
    ProgressEvent,
    decode_event,
    encode_event,
)
from core.store import JobStore

log = logging.getLogger(__name__)

CHANNEL = "storybot_events"
_MAX_PAYLOAD = 7900  # NOTIFY takes under 8000 bytes


class PostgresEventBus:
    """Local fan-out, plus NOTIFY to the other processes and one LISTEN from them."""

    def __init__(self, url: str, store: JobStore, *, every_s: float = 1.0):
        self.url, self.store, self.every_s = url, store, every_s
        self.database = store.database
        self._local = LocalEventBus()
        self._me = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._sent: dict[JobId, float] = {}  # when each job's last event went out
        self._later: dict[JobId, ProgressEvent] = {}  # held back by the throttle
        self._flushes: dict[JobId, asyncio.Task[None]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def __aenter__(self) -> PostgresEventBus:
        self._listener = asyncio.create_task(self._listen(), name="storybot-listen")
        await self._connected.wait()  # events published from now on reach this process
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        tasks = [task for task in (self._listener, *self._flushes.values()) if task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def publish(self, event: ProgressEvent) -> None:
        """This process's listeners now; the others now or within `every_s`."""
        await self._local.publish(event)
        job_id = event.job_id
        loop = asyncio.get_running_loop()
        wait = self._sent.get(job_id, -self.every_s) + self.every_s - loop.time()
        if isinstance(event, HANDED_OVER) or wait <= 0:
            self._later.pop(job_id, None)
            await self._notify(event)
            return
        self._later[job_id] = event
        if job_id not in self._flushes:
            self._flushes[job_id] = asyncio.create_task(self._flush(job_id, wait))

    @contextlib.contextmanager
    def listen(self, job_id: JobId) -> Iterator[asyncio.Queue[ProgressEvent]]:
        """Within the block, the queue receives every event of `job_id` from any process."""
        with self._local.listen(job_id) as queue:
            yield queue

    async def _flush(self, job_id: JobId, wait: float) -> None:
        try:
            await asyncio.sleep(wait)
            if (event := self._later.pop(job_id, None)) is not None:
                await self._notify(event)
        finally:
            self._flushes.pop(job_id, None)

    async def _notify(self, event: ProgressEvent) -> None:
        self._sent[event.job_id] = asyncio.get_running_loop().time()
        if isinstance(event, HANDED_OVER):
            self._sent.pop(event.job_id, None)
        body = encode_event(event)
        if len(body.encode()) > _MAX_PAYLOAD:  # a whole story: the others read it stored
            body = json.dumps({"succeeded": event.job_id})
        payload = json.dumps({"from": self._me, "body": body})
        try:
            await self.database.fetch("SELECT pg_notify(?, ?) AS sent", (CHANNEL, payload))
        except StoreUnavailable:  # the others re-read the stored state when they follow again
            log.warning("job %s: progress not sent to other processes", event.job_id)

    async def _listen(self) -> None:
        """One connection listening for the other processes' events; reconnects."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self._connected.set()
                    async for notice in connection.notifies():
                        await self._received(notice.payload)
            except psycopg.Error:
                log.warning("progress from other processes: connection lost; reconnecting")
                self._connected.set()  # do not hold start-up: the store has the state
                await asyncio.sleep(1.0)

    async def _received(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message["from"] == self._me:
                return
            body = json.loads(message["body"])
            if "succeeded" in body:
                job = await self.store.get(body["succeeded"])
                if job.status is not JobStatus.COMPLETED or job.result is None:
                    return
                event: ProgressEvent = JobSucceeded(job.id, job.result)
            else:
                event = decode_event(message["body"])
        except (ValueError, KeyError, TypeError):
            log.warning("an unreadable progress notification was ignored")
            return
        await self._local.publish(event)
