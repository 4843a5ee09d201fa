"""The dispatch seam across processes: procrastinate on the shared PostgreSQL database.

Every process can queue jobs; a process with a worker runs them, `slots` at a time. A job is
one procrastinate task `storybot.run_job` locked by the job's id, so no two workers run it at
once. A worker killed with SIGKILL stops its heartbeat; after `stall_s` another worker puts
the job back in the queue and whoever takes it claims the next attempt, resuming from the
stored checkpoints (the killed attempt, should it wake up, is fenced off by its number)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from types import TracebackType

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from core.errors import StoreUnavailable
from core.events import EventBus
from core.models import UNFINISHED, JobId
from core.progress import Queued
from core.store import JobStore
from core.worker import Worker

log = logging.getLogger(__name__)

QUEUE = "storybot-jobs"
TASK = "storybot.run_job"
_WAITING = (
    "SELECT COUNT(*) AS n FROM procrastinate_jobs"
    " WHERE queue_name = ? AND status = 'todo' AND task_name = ?"
)


class ProcrastinateDispatcher:
    """Queues jobs in procrastinate; with a worker, runs them in this process too."""

    def __init__(
        self,
        url: str,
        store: JobStore,
        bus: EventBus,
        worker: Worker | None,
        slots: int,
        *,
        stall_s: float,
    ) -> None:
        self.store, self.bus, self.worker = store, bus, worker
        self.database = store.database  # for the job queue's own tables
        self.slots, self.stall_s = slots, stall_s
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))
        # A run stopped by a database fault is queued again by procrastinate itself (no other
        # failure is: the worker records those as the job's own end).
        retry = procrastinate.RetryStrategy(retry_exceptions={StoreUnavailable}, wait=1)
        self.app.task(name=TASK, queue=QUEUE, retry=retry)(self._run_job)
        self._tasks: list[asyncio.Task[None]] = []
        self._running: dict[JobId, asyncio.Task[None]] = {}
        self._stopping = False
        self._name = f"{socket.gethostname()}-{id(self):x}"

    async def __aenter__(self) -> ProcrastinateDispatcher:
        await self.app.open_async()
        if self.worker is not None:
            self._tasks = [
                asyncio.create_task(self._work(), name="storybot-procrastinate-worker"),
                asyncio.create_task(self._take_over_stalled(), name="storybot-stalled"),
            ]
            await self._requeue_orphans()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping = True
        for task in [*self._tasks, *self._running.values()]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._running.values(), return_exceptions=True)
        await self.app.close_async()

    # ------------------------------------------------------------------ the Dispatcher protocol

    async def dispatch(self, job_id: JobId) -> None:
        """Queue a stored job; nothing happens if it is already queued."""
        deferrer = self.app.configure_task(TASK, queue=QUEUE, lock=job_id, queueing_lock=job_id)
        with contextlib.suppress(AlreadyEnqueued):
            await deferrer.defer_async(job_id=job_id)
        await self._announce(job_id)

    async def withdraw(self, job_id: JobId) -> bool:
        """Take a job out of the queue before any worker starts it."""
        rows = await self.database.fetch(
            "DELETE FROM procrastinate_jobs WHERE lock = ? AND status = 'todo' RETURNING id",
            (job_id,),
        )
        return bool(rows)

    async def cancel_requested(self, job_id: JobId) -> None:
        """The cancel is in the store: reach the job's worker wherever it runs, at once
        (procrastinate's abort goes by NOTIFY); its cancel watch polls the store besides."""
        if self.worker is not None:
            self.worker.wake(job_id)
        rows = await self.database.fetch(
            "SELECT id FROM procrastinate_jobs WHERE lock = ? AND status = 'doing'", (job_id,)
        )
        for row in rows:
            await self.app.job_manager.cancel_job_by_id_async(row["id"], abort=True)

    async def position(self, job_id: JobId) -> int | None:
        """1 for the next job to start (procrastinate takes the oldest first)."""
        rows = await self.database.fetch(
            f"{_WAITING} AND id <= (SELECT id FROM procrastinate_jobs"
            " WHERE lock = ? AND status = 'todo')",
            (QUEUE, TASK, job_id),
        )
        count = int(rows[0]["n"]) if rows else 0
        return count or None

    async def depth(self) -> int:
        """Jobs waiting for a worker, on every machine."""
        rows = await self.database.fetch(_WAITING, (QUEUE, TASK))
        return int(rows[0]["n"]) if rows else 0

    async def drain(self, grace_s: float) -> None:
        """Take no new job; give running ones `grace_s`, then put them back in the queue for
        another worker (or this one's next start) to resume from their checkpoints."""
        self._stopping = True
        if self._tasks:
            self._tasks[0].cancel()  # procrastinate's worker: fetch nothing more
        running = list(self._running.values())
        if running:
            log.info("waiting up to %.0f s for %d running job(s)", grace_s, len(running))
            await asyncio.wait(running, timeout=grace_s)

    # ------------------------------------------------------------------ the worker side

    async def _run_job(self, job_id: str) -> None:
        """The task: run the job here. If this process stops meanwhile, the job goes back in
        the queue (it starts once this task has ended and released the job's lock)."""
        assert self.worker is not None
        run = asyncio.create_task(self.worker.execute(JobId(job_id)))
        self._running[JobId(job_id)] = run
        try:
            await asyncio.shield(run)
        except StoreUnavailable:  # the database went away: this same task runs again
            log.warning("job %s: the database went away; it resumes once it is back", job_id)
            await self._database_back()
            raise
        except asyncio.CancelledError:
            if await self.store.cancel_requested(job_id):  # a user's cancel (an abort)
                self.worker.wake(JobId(job_id))  # the run ends `cancelled` by itself
                await asyncio.gather(run, return_exceptions=True)
                return
            run.cancel()  # this process stops: hand the job over rather than abort it
            await asyncio.gather(run, return_exceptions=True)
            if not (await self.store.get(job_id)).status.finished:
                await self.dispatch(JobId(job_id))
        finally:
            self._running.pop(JobId(job_id), None)

    async def _database_back(self) -> None:
        """Wait until the database answers again."""
        while True:
            try:
                await self.database.fetch("SELECT 1 AS ok")
                return
            except StoreUnavailable:
                await asyncio.sleep(1.0)

    async def _work(self) -> None:
        """procrastinate's worker, started again if it stops on a database fault."""
        while not self._stopping:
            try:
                await self.app.run_worker_async(
                    queues=[QUEUE], concurrency=self.slots, name=self._name, wait=True,
                    install_signal_handlers=False, listen_notify=True,
                    update_heartbeat_interval=max(self.stall_s / 4, 0.2),
                    stalled_worker_timeout=self.stall_s,
                    fetch_job_polling_interval=max(self.stall_s / 2, 0.5),
                    delete_jobs="always",
                )  # fmt: skip
                return
            except Exception:
                log.warning("the job queue's worker stopped; starting it again", exc_info=True)
                await asyncio.sleep(1.0)

    async def _take_over_stalled(self) -> None:
        """Put jobs of workers whose heartbeat stopped back in the queue."""
        manager = self.app.job_manager
        while not self._stopping:
            await asyncio.sleep(max(self.stall_s / 4, 0.2))
            try:
                stalled = await manager.get_stalled_jobs(
                    queue=QUEUE, seconds_since_heartbeat=self.stall_s
                )
                for job in stalled:
                    if job.lock in self._running:  # ours, alive: only the heartbeat was lost
                        continue
                    log.warning("job %s: its worker stopped answering; taken over", job.lock)
                    await manager.retry_job(job)
            except Exception:  # another worker retried it first, or the database blinked
                log.info("stalled jobs: nothing taken over this time", exc_info=True)

    async def _requeue_orphans(self) -> None:
        """Jobs stored but never queued (a front end stopped between the two): queue them."""
        queued = {
            row["lock"] for row in await self.database.fetch(
                "SELECT lock FROM procrastinate_jobs WHERE queue_name = ?", (QUEUE,)
            )
        }  # fmt: skip
        for job in await self.store.with_status(*UNFINISHED):
            if job.id not in queued:
                await self.dispatch(job.id)

    async def _announce(self, job_id: JobId) -> None:
        position = await self.position(job_id)
        if position is not None:
            await self.bus.publish(Queued(job_id, position))
