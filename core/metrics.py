"""Metrics: what one process counts (jobs, stage times, the queue, provider calls, deliveries),
on a registry of its own, in Prometheus's text format. Each process serves its own; a scraper
collects them all."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from core.errors import StoreUnavailable
from core.models import DeliveryAttempt, Job, JobStatus
from core.progress import ProgressEvent, Stage, StageProgressed, StageStarted

log = logging.getLogger(__name__)

# The provider roles, as `storybot_provider_calls_total{role=…}` names them.
ROLES = ("story", "vision", "image", "tts", "video")
# Stages last from under a second (offline) to many minutes (clips, long narrations).
STAGE_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0)

Deliver = Callable[[Job], Awaitable[DeliveryAttempt | None]]  # an outbox handler

# Within one delivery try: the size of each video (by index) fitted for its upload.
_renditions: ContextVar[dict[int, int] | None] = ContextVar("renditions", default=None)


class Metrics:
    """One process's metrics. A registry per instance, never the global one: tests and the
    benches run several cores in one process, each counting its own."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        job = ("kind", "front_end")
        self.submitted = Counter(
            "storybot_jobs_submitted", "Jobs accepted and queued.", job, registry=registry
        )
        self.completed = Counter(
            "storybot_jobs_completed", "Jobs that made their videos.", job, registry=registry
        )
        self.failed = Counter("storybot_jobs_failed", "Jobs that failed.", job, registry=registry)
        self.cancelled = Counter(
            "storybot_jobs_cancelled", "Jobs cancelled.", job, registry=registry
        )
        self.stage_seconds = Histogram(
            "storybot_stage_duration_seconds", "How long each stage of a job took.",
            ("stage",), buckets=STAGE_BUCKETS, registry=registry,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "storybot_queue_depth", "Jobs waiting for a free slot (read at each scrape).",
            registry=registry,
        )  # fmt: skip
        self.provider_calls = Counter(
            "storybot_provider_calls", "Calls to a provider, by role.", ("role",),
            registry=registry,
        )  # fmt: skip
        self.provider_errors = Counter(
            "storybot_provider_errors", "Provider calls that raised, by role and error class.",
            ("role", "error"), registry=registry,
        )  # fmt: skip
        self.deliveries = Counter(
            "storybot_deliveries", "Jobs delivered, by platform (or webhook).", ("platform",),
            registry=registry,
        )  # fmt: skip
        self.delivery_failures = Counter(
            "storybot_delivery_failures", "Delivery tries that did not deliver, by platform.",
            ("platform",), registry=registry,
        )  # fmt: skip
        self.uploaded_bytes = Counter(
            "storybot_uploaded_bytes", "Bytes of video delivered, by platform.", ("platform",),
            registry=registry,
        )  # fmt: skip
        ProcessCollector(namespace="storybot", registry=registry)  # CPU, memory, open files
        for stage in Stage:  # every series exists from the start, at zero
            self.stage_seconds.labels(stage.value)
        for role in ROLES:
            self.provider_calls.labels(role)

    # ------------------------------------------------------------------ jobs

    def job_submitted(self, job: Job) -> None:
        """A job was stored and queued."""
        self.submitted.labels(job.kind.value, job.origin.platform).inc()

    def job_ended(self, job: Job, status: JobStatus) -> None:
        """A job ended (counted once, by the process that recorded its end)."""
        counter = {
            JobStatus.COMPLETED: self.completed,
            JobStatus.FAILED: self.failed,
            JobStatus.CANCELLED: self.cancelled,
        }[status]
        counter.labels(job.kind.value, job.origin.platform).inc()

    def stage_clock(self) -> StageClock:
        """A clock for the stages of one run of one job."""
        return StageClock(self.stage_seconds)

    # ------------------------------------------------------------------ providers

    @contextlib.contextmanager
    def provider_call(self, role: str) -> Iterator[None]:
        """Count one call of a `role` provider, and its error (by class) if it raises.
        Cancellation is not an error."""
        self.provider_calls.labels(role).inc()
        try:
            yield
        except Exception as exc:
            self.provider_errors.labels(role, type(exc).__name__).inc()
            raise

    # ------------------------------------------------------------------ deliveries

    def metered(self, platform: str, deliver: Deliver) -> Deliver:
        """`deliver` (an outbox handler), counting its tries: delivered (with the bytes of the
        videos it fitted for its upload, see `renditions_fitted`) or failed."""

        async def metered_deliver(job: Job) -> DeliveryAttempt | None:
            sizes: dict[int, int] = {}
            token = _renditions.set(sizes)
            try:
                attempt = await deliver(job)
            except Exception:  # the outbox records why; this counts it
                self.delivery_failures.labels(platform).inc()
                raise
            finally:
                _renditions.reset(token)
            self.deliveries.labels(platform).inc()
            if sizes:  # a webhook uploads no video
                self.uploaded_bytes.labels(platform).inc(sum(sizes.values()))
            return attempt

        return metered_deliver

    # ------------------------------------------------------------------ exposition

    async def exposition(self, queue_depth: Callable[[], Awaitable[int]]) -> bytes:
        """Every metric in Prometheus's text format, the queue depth read now (its last value
        if the store cannot be reached)."""
        try:
            self.queue_depth.set(await queue_depth())
        except StoreUnavailable as exc:
            log.warning("metrics: the queue depth is not current: %s", exc)
        return generate_latest(self.registry)


async def renditions_fitted(first: int, paths: list[Path]) -> None:
    """Within a delivery try: `paths` are videos `first`, `first + 1`, … fitted for upload
    (a later fitting of the same video replaces an earlier one). Elsewhere: nothing."""
    sizes = _renditions.get()
    if sizes is None:
        return
    lengths = await asyncio.to_thread(lambda: [path.stat().st_size for path in paths])
    sizes.update(enumerate(lengths, start=first))


class StageClock:
    """Times the stages of one run from its progress events: a stage ends with its last item
    (`StageProgressed` with done == total), or when the job completes."""

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram
        self._started: dict[Stage, float] = {}

    def saw(self, event: ProgressEvent) -> None:
        """Note a stage's start or end."""
        match event:
            case StageStarted(stage=stage):
                self._started.setdefault(stage, time.monotonic())
            case StageProgressed(stage=stage, done=done, total=total) if done == total:
                if (began := self._started.pop(stage, None)) is not None:
                    self._histogram.labels(stage.value).observe(time.monotonic() - began)

    def completed(self) -> None:
        """The job completed: stages without items of their own (a video job's) end now."""
        now = time.monotonic()
        for stage, began in self._started.items():
            self._histogram.labels(stage.value).observe(now - began)
        self._started.clear()
