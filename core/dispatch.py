"""The dispatch seam: how a stored job reaches a worker. One implementation now, the in-process
FIFO queue with a fixed number of job slots; a distributed one goes behind the same protocol."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from types import TracebackType
from typing import Protocol

from core.events import EventBus
from core.models import UNFINISHED, JobId
from core.progress import Queued
from core.store import JobStore
from core.worker import Worker

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    """Queues stored jobs for the workers and knows where each waits."""

    async def dispatch(self, job_id: JobId) -> None:
        """Queue a stored job (last in line)."""
        ...

    async def withdraw(self, job_id: JobId) -> bool:
        """Take a job out of the queue before it starts; False if it was not waiting."""
        ...

    async def cancel_requested(self, job_id: JobId) -> None:
        """A cancel for `job_id` is in the store: tell whoever runs it, now if possible."""
        ...

    async def position(self, job_id: JobId) -> int | None:
        """1 for the next job to start; None if the job is not waiting."""
        ...

    async def depth(self) -> int:
        """How many jobs wait for a free slot."""
        ...

    async def drain(self, grace_s: float) -> None:
        """Start no new job; give running ones `grace_s` to finish."""
        ...


class LocalDispatcher:
    """A FIFO queue in this process and `slots` tasks that run its jobs with `worker`.

    `async with` starts the slots, first queueing the unfinished jobs of `resume_platforms`
    (oldest first); leaving the block stops them without marking running jobs cancelled, so
    they resume from their checkpoints on the next start. Without a worker (a process that
    only takes requests) nothing runs here.
    """

    def __init__(
        self,
        store: JobStore,
        bus: EventBus,
        worker: Worker | None,
        slots: int,
        *,
        resume_platforms: frozenset[str] = frozenset(),
    ) -> None:
        self.store, self.bus, self.worker, self.slots = store, bus, worker, slots
        self.resume_platforms = resume_platforms
        self._queue: deque[JobId] = deque()
        self._has_work = asyncio.Condition()
        self._slots: list[asyncio.Task[None]] = []
        self._busy: dict[str, JobId] = {}  # slot name → the job it runs
        self._runs: dict[str, asyncio.Task[None]] = {}  # slot name → that job's run
        self._stopping = False

    async def __aenter__(self) -> LocalDispatcher:
        for job in await self.store.with_status(*UNFINISHED):
            if job.origin.platform in self.resume_platforms:
                self._queue.append(job.id)
        await self._announce()  # resumed jobs show their place in line, not their old stage
        if self.worker is not None:
            self._slots = [
                asyncio.create_task(self._slot(), name=f"storybot-slot-{n}")
                for n in range(self.slots)
            ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping = True
        tasks = [*self._slots, *self._runs.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def dispatch(self, job_id: JobId) -> None:
        """Queue a stored job (last in line); nothing happens if it is queued or running."""
        if job_id in self._queue or job_id in self._busy.values():
            return
        async with self._has_work:
            self._queue.append(job_id)
            self._has_work.notify()
        await self._announce()

    async def withdraw(self, job_id: JobId) -> bool:
        """Take a job out of the queue before it starts."""
        if job_id not in self._queue:
            return False
        self._queue.remove(job_id)
        await self._announce()
        return True

    async def cancel_requested(self, job_id: JobId) -> None:
        """Wake the worker's cancel watch for `job_id`."""
        if self.worker is not None:
            self.worker.wake(job_id)

    async def position(self, job_id: JobId) -> int | None:
        """1 for the next job to start."""
        try:
            return self._queue.index(job_id) + 1
        except ValueError:
            return None

    async def depth(self) -> int:
        """Jobs waiting for a free slot."""
        return len(self._queue)

    async def drain(self, grace_s: float) -> None:
        """Stop idle slots; give running jobs `grace_s`, then leave them to `__aexit__`."""
        self._stopping = True
        for slot in self._slots:
            if slot.get_name() not in self._busy:
                slot.cancel()
        running = list(self._runs.values())
        if running:
            log.info("waiting up to %.0f s for %d running job(s)", grace_s, len(running))
            await asyncio.wait(running, timeout=grace_s)

    async def _slot(self) -> None:
        assert self.worker is not None
        name = asyncio.current_task().get_name()  # type: ignore[union-attr]
        while not self._stopping:
            async with self._has_work:
                await self._has_work.wait_for(lambda: bool(self._queue))
                job_id = self._queue.popleft()
            await self._announce()
            job = asyncio.create_task(self.worker.execute(job_id), name=f"storybot-run-{job_id}")
            self._busy[name], self._runs[name] = job_id, job
            try:
                await asyncio.shield(job)  # a slot stopping by drain() lets its job finish
            except asyncio.CancelledError:
                job.cancel()
                await asyncio.gather(job, return_exceptions=True)
                raise
            except Exception:  # a bug in one job must not stop the slot; logged
                log.exception("job %s: the worker failed", job_id)
            finally:
                self._busy.pop(name, None)
                self._runs.pop(name, None)

    async def _announce(self) -> None:
        for position, job_id in enumerate(list(self._queue), start=1):
            await self.bus.publish(Queued(job_id, position))
