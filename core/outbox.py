"""The delivery outbox: jobs that ended and wait for a consumer (a chat front end, the webhook
sender) are claimed by it and tried a bounded number of times, every try on record."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.errors import AttemptFailed, DeliveryRefused, DeliveryUnconfirmed
from core.events import ALL_JOBS, EventBus
from core.models import Delivery, DeliveryAttempt, Job, JobId
from core.progress import HANDED_OVER
from core.store import JobStore

log = logging.getLogger(__name__)

# A consumer's handler: deliver the job (raise to fail this try); may return the try's record.
Handler = Callable[[Job], Awaitable[DeliveryAttempt | None]]


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How many tries in all, and the wait before try n+1 (`first_delay_s` × n, or doubling)."""

    attempts: int = 3
    first_delay_s: float = 2.0
    doubling: bool = False

    def delay(self, tries: int) -> float:
        """The wait after `tries` tries."""
        return self.first_delay_s * (2 ** (tries - 1) if self.doubling else tries)


class Outbox:
    """Runs each registered consumer over its waiting jobs: at registration (what finished
    while it was away, or what a crash cut short), whenever a job ends here, and every
    `poll_s` for jobs that ended in another process. Each try holds its row for `lease_s`
    (several processes share the database) or not at all (one process: a row a crash left
    `delivering` is tried again at the next start)."""

    def __init__(
        self, store: JobStore, bus: EventBus, *, poll_s: float = 30.0, lease_s: float = 0.0
    ) -> None:
        self.store, self.bus, self.poll_s, self.lease_s = store, bus, poll_s, lease_s
        self._loops: list[asyncio.Task[None]] = []
        self._tries: set[asyncio.Task[None]] = set()
        self._busy: set[tuple[JobId, str]] = set()

    def consume(self, consumer: str, handler: Handler, policy: DeliveryPolicy) -> None:
        """Deliver every job waiting for `consumer` with `handler`, from now on."""
        loop = self._consume(consumer, handler, policy)
        self._loops.append(asyncio.create_task(loop, name=f"storybot-outbox-{consumer}"))

    async def drain(self, grace_s: float) -> None:
        """Take no more work; give tries under way `grace_s` to finish."""
        for loop in self._loops:
            loop.cancel()
        if self._tries:
            await asyncio.wait(self._tries, timeout=grace_s)

    async def aclose(self) -> None:
        """Stop every consumer; a try cut short is made again on the next start."""
        tasks = [*self._loops, *self._tries]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _consume(self, consumer: str, handler: Handler, policy: DeliveryPolicy) -> None:
        with self.bus.listen(ALL_JOBS) as events:
            while True:
                try:
                    waiting = await self.store.waiting(consumer)
                except Exception:  # the store failed once: try again at the next wake-up
                    log.exception("outbox %s: cannot read the waiting jobs", consumer)
                    waiting = []
                for job_id in waiting:
                    if (job_id, consumer) not in self._busy:
                        self._busy.add((job_id, consumer))
                        self._spawn(self._deliver(job_id, consumer, handler, policy))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_s):
                        while not isinstance(await events.get(), HANDED_OVER):
                            pass

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tries.add(task)
        task.add_done_callback(self._tries.discard)

    async def _deliver(
        self, job_id: JobId, consumer: str, handler: Handler, policy: DeliveryPolicy
    ) -> None:
        """At least once, `policy.attempts` tries in all (counted in the store, so restarts
        never loop a hopeless delivery). `delivering` is recorded before each try, so a crash
        during one tries again on the next start. `DeliveryRefused` and `DeliveryUnconfirmed`
        end it at once: another try cannot help, or could send a second copy."""
        try:
            job = await self.store.get(job_id)
            record = await self.store.delivery(job_id, consumer)
            tries = record.tries if record is not None else 0
            while tries < policy.attempts:
                claimed = await self.store.delivering(job_id, consumer, self.lease_s)
                if claimed is None:
                    return  # settled by another try meanwhile
                tries = claimed
                state, attempt = await self._try(job, consumer, handler)
                if state is not None:
                    await self.store.delivered(job_id, consumer, state, attempt)
                    return
                await self.store.delivered(job_id, consumer, Delivery.DELIVERING, attempt)
                if tries < policy.attempts:
                    await asyncio.sleep(policy.delay(tries))
            await self.store.delivered(job_id, consumer, Delivery.FAILED)
            log.error("job %s: %s delivery failed after %d tries", job_id, consumer, tries)
        finally:
            self._busy.discard((job_id, consumer))

    async def _try(
        self, job: Job, consumer: str, handler: Handler
    ) -> tuple[Delivery | None, DeliveryAttempt]:
        """One try: the state it settles (None: try again) and its record."""
        at = datetime.now(UTC)
        try:
            done = await handler(job)
        except DeliveryRefused as exc:
            log.warning("job %s: not delivered: %s", job.id, exc)
            return Delivery.FAILED, DeliveryAttempt(at, error=exc.message)
        except DeliveryUnconfirmed as exc:
            log.warning("job %s: delivery unconfirmed: %s", job.id, exc)
            return Delivery.UNCONFIRMED, DeliveryAttempt(at, error=exc.message)
        except AttemptFailed as exc:
            return None, DeliveryAttempt(at, status=exc.status, error=exc.error)
        except Exception as exc:  # a front end's failure must not stop the outbox; logged
            log.exception("job %s: a %s delivery try failed", job.id, consumer)
            return None, DeliveryAttempt(at, error=type(exc).__name__)
        return Delivery.DELIVERED, done or DeliveryAttempt(at)
