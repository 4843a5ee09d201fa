"""The event bus between workers and subscribers: typed progress events only."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator
from typing import Protocol

from core.models import JobId
from core.progress import ProgressEvent

Listener = asyncio.Queue[ProgressEvent]
# Listen to every job's events (the outbox wakes on each ending).
ALL_JOBS = JobId("*")


class EventBus(Protocol):
    """Carries each job's progress events from whoever runs it to whoever follows it."""

    async def publish(self, event: ProgressEvent) -> None:
        """Hand `event` to every current listener of its job (and of `ALL_JOBS`)."""
        ...

    def listen(
        self, job_id: JobId
    ) -> contextlib.AbstractContextManager[asyncio.Queue[ProgressEvent]]:
        """Within the block, the queue receives every event of `job_id` published from now."""
        ...


class LocalEventBus:
    """The bus of one process: a queue per listener, filled without waiting."""

    def __init__(self) -> None:
        self._queues: defaultdict[JobId, list[asyncio.Queue[ProgressEvent]]] = defaultdict(list)

    async def publish(self, event: ProgressEvent) -> None:
        """Hand `event` to every current listener of its job (and of `ALL_JOBS`)."""
        for job_id in (event.job_id, ALL_JOBS):
            for queue in self._queues.get(job_id, ()):
                queue.put_nowait(event)

    @contextlib.contextmanager
    def listen(self, job_id: JobId) -> Iterator[asyncio.Queue[ProgressEvent]]:
        """Within the block, the queue receives every event of `job_id` published from now."""
        queue: asyncio.Queue[ProgressEvent] = asyncio.Queue()
        self._queues[job_id].append(queue)
        try:
            yield queue
        finally:
            self._queues[job_id].remove(queue)
            if not self._queues[job_id]:
                del self._queues[job_id]
