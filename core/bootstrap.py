"""The one composition root of the core: settings → store → providers → pipeline → worker,
dispatcher, outbox → service. Used by `storybot run`, the CLI, the benches and the tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from core.admission import Admission
from core.artifacts import ArtifactStore, open_artifacts
from core.casts import Casts
from core.config import Settings
from core.dispatch import Dispatcher, LocalDispatcher
from core.events import EventBus, LocalEventBus
from core.housekeeping import housekeep
from core.leadership import PostgresLeadership, SoleProcess
from core.limits import JobLimits, PipelineLimits
from core.metrics import Metrics
from core.models import Capabilities, Job, JobStatus, StoryRequest, VideoRequest
from core.outbox import DeliveryPolicy, Outbox
from core.pipeline import Pipeline
from core.providers import Providers, build_providers
from core.providers.metered import metered
from core.service import JobService
from core.store import JobStore, open_store
from core.storyboard_desk import watch_storyboards
from core.storyboards import Storyboards
from core.worker import Worker, consumers_of

# With a shared database, a delivery try holds its outbox row this long: longer than any one
# try (a Telegram upload waits 120 s, and is sent once more after a timeout).
OUTBOX_LEASE_S = 300.0


@dataclass(slots=True)
class StoryBot:
    """Everything one process runs; front ends get `service` only."""

    settings: Settings
    store: JobStore
    providers: Providers
    pipeline: Pipeline
    service: JobService
    dispatcher: Dispatcher
    outbox: Outbox
    worker: Worker | None

    async def drain(self, grace_s: float) -> None:
        """Graceful stop: start no new job; give running jobs and deliveries `grace_s` in all,
        then stop the deliveries (before the front ends close). What is still running resumes
        from its checkpoints on the next start."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        await self.dispatcher.drain(grace_s)
        await self.outbox.drain(max(0.0, deadline - loop.time()))
        await self.outbox.aclose()


def capabilities(providers: Providers) -> Capabilities:
    """What the providers offer, for the front ends."""
    writer = providers.writer
    return Capabilities(
        backend=providers.label,
        voices=tuple(providers.narrator.voices()),
        languages=frozenset(writer.languages) if writer.languages is not None else None,
        can_animate=providers.animator is not None,
        can_make_videos=providers.animator is not None,
        remote=providers.label != "offline",
        heroes=providers.designer is not None,
    )


@contextlib.asynccontextmanager
async def open_storybot(
    settings: Settings,
    *,
    providers: Providers | None = None,
    pipeline_limits: PipelineLimits | None = None,
    limits: JobLimits | None = None,
    work: bool = True,
    resume_platforms: frozenset[str] = frozenset(),
) -> AsyncIterator[StoryBot]:
    """Build and start one process's StoryBot; leaving the block stops it (running jobs are
    checkpointed, not cancelled). `work=False` takes requests without running jobs.

    `providers` (fakes in tests) replace the back end chosen by the settings; a
    `ConfigurationError` at start (a missing model, rejected credentials) stops here."""
    providers = providers or build_providers(settings)
    limits = limits or JobLimits.from_settings(settings)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(providers.aclose)
        await providers.prepare()
        url = _url(settings)
        store = await stack.enter_async_context(open_store(settings.database, url))
        metrics = Metrics()  # this process's own (served at /metrics or STORYBOT_METRICS_PORT)
        pipeline = Pipeline(
            metered(providers, metrics), pipeline_limits or PipelineLimits.from_settings(settings)
        )
        artifacts = await stack.enter_async_context(open_artifacts(settings))
        bus: EventBus = LocalEventBus()
        if url:
            from core.events_postgres import PostgresEventBus

            bus = await stack.enter_async_context(PostgresEventBus(url, store))
        worker = None
        casts = Casts(store.database, artifacts, settings.cast_days)
        if work:
            worker = Worker(
                store, pipeline, artifacts, bus, limits,
                default_webhook=settings.webhook_url is not None, metrics=metrics, casts=casts,
            )  # fmt: skip
        dispatcher = await stack.enter_async_context(
            _dispatcher(url, settings, store, bus, worker, limits, resume_platforms)
        )
        lease_s = OUTBOX_LEASE_S if url else 0.0
        outbox = Outbox(store, bus, poll_s=limits.outbox_poll_s, lease_s=lease_s)
        stack.push_async_callback(outbox.aclose)

        def validate(request: StoryRequest | VideoRequest) -> None:
            if isinstance(request, StoryRequest):
                pipeline.validate(request)
            else:
                pipeline.videos.validate(request)

        service = JobService(
            store, dispatcher, bus, artifacts, outbox, Admission(store, limits), validate,
            capabilities(providers),
            DeliveryPolicy(limits.delivery_attempts, limits.delivery_retry_delay_s),
            PostgresLeadership(url) if url else SoleProcess(), metrics, casts,
        )  # fmt: skip
        if work:
            sweeper = asyncio.create_task(housekeep(store, artifacts, limits, casts))
            stack.push_async_callback(_stop, sweeper)
            expiry = asyncio.create_task(
                _expire_storyboards(settings, store, artifacts, bus, metrics, limits)
            )
            stack.push_async_callback(_stop, expiry)
        yield StoryBot(settings, store, providers, pipeline, service, dispatcher, outbox, worker)


def describe(settings: Settings) -> Capabilities:
    """What the configured back end offers, without starting anything (`storybot voices`)."""
    return capabilities(build_providers(settings))


async def list_jobs(settings: Settings, limit: int) -> list[Job]:
    """The newest jobs of every front end, from the store alone (`storybot jobs`)."""
    async with open_store(settings.database, _url(settings)) as store:
        return await store.recent(limit=limit)


async def migrate_store(settings: Settings) -> None:
    """Create or update the configured database's tables (`storybot migrate`)."""
    async with open_store(settings.database, _url(settings)):
        pass


def _dispatcher(
    url: str | None,
    settings: Settings,
    store: JobStore,
    bus: EventBus,
    worker: Worker | None,
    limits: JobLimits,
    resume_platforms: frozenset[str],
) -> contextlib.AbstractAsyncContextManager[Dispatcher]:
    """procrastinate on the shared database at `url`, or the in-process queue."""
    if url is None:
        slots = limits.max_concurrent_jobs
        return LocalDispatcher(store, bus, worker, slots, resume_platforms=resume_platforms)
    from core.dispatch_procrastinate import ProcrastinateDispatcher

    return ProcrastinateDispatcher(
        url, store, bus, worker, limits.max_concurrent_jobs,
        stall_s=settings.worker_stall_s,
    )  # fmt: skip


async def _expire_storyboards(
    settings: Settings,
    store: JobStore,
    artifacts: ArtifactStore,
    bus: EventBus,
    metrics: Metrics,
    limits: JobLimits,
) -> None:
    """Cancel storyboards left waiting past their time; the chat or webhook is told."""
    webhook = settings.webhook_url is not None

    def told(job: Job) -> list[str]:
        return consumers_of(job, JobStatus.AWAITING_APPROVAL, default_webhook=webhook)

    await watch_storyboards(Storyboards(store.database), artifacts, bus, metrics, limits, told)


def _url(settings: Settings) -> str | None:
    url = settings.database_url
    return url.get_secret_value() if url is not None else None


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
