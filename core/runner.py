"""JobRunner: a persistent FIFO queue over the JobStore; runs jobs, fans out progress, delivers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from core import imaging
from core.clips import INPUT_PICTURE
from core.config import Settings
from core.errors import (
    CoreError,
    DeliveryRefused,
    DeliveryUnconfirmed,
    InvalidRequest,
    ProviderUnavailable,
)
from core.housekeeping import sweep
from core.jobs import Delivery, Job, JobKind, JobStatus, JobStore, Origin
from core.models import (
    MAX_VIDEOS,
    JobId,
    JobResult,
    Story,
    StoryRequest,
    StoryVideo,
    VideoClips,
    VideoRequest,
)
from core.pipeline import Pipeline
from core.progress import (
    ClipPhase,
    JobCancelled,
    JobFailed,
    JobSucceeded,
    ProgressEvent,
    ProgressSink,
    ProviderWaiting,
    Queued,
    SceneAnimating,
    Stage,
    StageProgressed,
    StageStarted,
)
from core.steps import write_atomic

log = logging.getLogger(__name__)

DeliveryHandler = Callable[[Job, JobResult], Awaitable[None]]
FinishHook = Callable[[Job], Awaitable[None]]

# Front ends whose output is the stored file itself: delivered as soon as it exists.
LOCAL_PLATFORMS = frozenset({"cli", "http"})
_UNFINISHED = (
    JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.GENERATING, JobStatus.DOWNLOADING,
)  # fmt: skip
_TERMINAL = (JobSucceeded, JobFailed, JobCancelled)
_KEEP_AFTER_SUCCESS = {
    "story.mp4", "story.jpg", "story.json", "story.srt", "video.jpg",
    *(f"video_{n}.mp4" for n in range(1, MAX_VIDEOS + 1)),
}  # fmt: skip
_STAGE_STATUS = {
    Stage.QUEUED: JobStatus.PENDING,
    Stage.STORY: JobStatus.PROCESSING,
    Stage.PICTURES: JobStatus.GENERATING,
    Stage.NARRATION: JobStatus.GENERATING,
    Stage.ANIMATION: JobStatus.GENERATING,
    Stage.VIDEO: JobStatus.GENERATING,
    Stage.ASSEMBLY: JobStatus.GENERATING,
    Stage.DELIVERY: JobStatus.COMPLETED,
}


class LimitReached(InvalidRequest):
    """A per-user limit or the allow-list refused a job; the message says which and when.

    `retry_after_s` is when trying again may succeed, or None when waiting will not help (the
    allow-list, a limit of 0).
    """

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class RunnerLimits:
    """How many jobs run at once, and what each user may ask for."""

    max_concurrent_jobs: int = 2
    user_jobs_in_flight: int = 1
    user_jobs_per_day: int = 10
    animated_per_day: int = 2  # jobs that pay for clips (animated stories), per user
    allowed_ids: frozenset[str] = frozenset()
    admin_ids: frozenset[str] = frozenset()
    step_retries: int = 2
    step_retry_delay_s: float = 5.0
    delivery_attempts: int = 3
    delivery_retry_delay_s: float = 2.0
    keep_hours: float = 24.0
    disk_budget_mb: float | None = None
    sweep_interval_s: float = 600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RunnerLimits:
        """The limits configured by `STORYBOT_*` settings."""
        return cls(
            max_concurrent_jobs=settings.max_concurrent_jobs,
            user_jobs_in_flight=settings.user_jobs_in_flight,
            user_jobs_per_day=settings.user_jobs_per_day,
            animated_per_day=settings.animated_per_day,
            allowed_ids=settings.allowed_ids,
            admin_ids=settings.admin_ids,
            step_retries=settings.step_retries,
            keep_hours=settings.keep_hours,
            disk_budget_mb=settings.disk_budget_mb,
        )


class _StoreSteps:
    """The pipeline's StepLog, backed by the store's job_steps table."""

    def __init__(self, store: JobStore, job_id: JobId, finished: set[str]) -> None:
        self.store, self.job_id, self.finished = store, job_id, finished

    def done(self, step: str) -> bool:
        return step in self.finished

    async def mark(self, step: str) -> None:
        await self.store.mark_step(self.job_id, step)
        self.finished.add(step)


class JobRunner:
    """Owns the background work: `submit()` returns at once; workers run jobs in FIFO order.

    Use as `async with JobRunner(...) as runner:`; leaving the block stops the workers without
    marking running jobs cancelled, so they resume from their checkpoints on the next start.
    """

    def __init__(
        self,
        store: JobStore,
        pipeline: Pipeline,
        jobs_dir: Path,
        limits: RunnerLimits | None = None,
        *,
        resume_platforms: frozenset[str] = frozenset(),
    ) -> None:
        self.store, self.pipeline, self.jobs_dir = store, pipeline, jobs_dir
        self.limits = limits or RunnerLimits()
        self.resume_platforms = resume_platforms  # whose unfinished jobs restart with us
        self._queue: deque[JobId] = deque()
        self._has_work = asyncio.Condition()
        self._running: dict[JobId, asyncio.Task[None]] = {}
        self._cancel_requested: set[JobId] = set()
        self._subscribers: defaultdict[JobId, list[asyncio.Queue[ProgressEvent]]] = defaultdict(
            list
        )
        self._last_event: dict[JobId, ProgressEvent] = {}
        self._handlers: dict[str, DeliveryHandler] = {}
        self._finish_hooks: list[FinishHook] = []
        self._background: set[asyncio.Task[None]] = set()
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = False
        self._busy_workers: set[str] = set()
        self._housekeeper: asyncio.Task[None] | None = None

    async def __aenter__(self) -> JobRunner:
        for job in await self.store.with_status(*_UNFINISHED):
            if job.origin.platform in self.resume_platforms:
                self._queue.append(job.id)  # oldest first: the queue keeps its order
        self._workers = [
            asyncio.create_task(self._work(), name=f"storybot-worker-{i}")
            for i in range(self.limits.max_concurrent_jobs)
        ]
        self._housekeeper = asyncio.create_task(self._housekeep(), name="storybot-housekeeping")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping = True
        tasks = [*self._workers, *self._running.values(), *self._background]
        if self._housekeeper is not None:
            tasks.append(self._housekeeper)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def register_delivery(self, platform: str, handler: DeliveryHandler) -> None:
        """Front ends call this at start: finished jobs of `platform` go to `handler`.

        Jobs that finished while no such front end was running (or whose upload a crash
        interrupted, `delivering`) are delivered now, outside the runner's job slots.
        """
        self._handlers[platform] = handler
        for job in await self.store.with_status(JobStatus.COMPLETED):
            if job.origin.platform == platform and job.delivery in (
                Delivery.PENDING, Delivery.DELIVERING,
            ):  # fmt: skip
                self._spawn(self._deliver(job, _result_of(job)))

    def on_finished(self, hook: FinishHook) -> None:
        """Call `hook` (in the background) with every job that completes, fails or is
        cancelled from now on, e.g. to send a webhook; its errors are logged, never raised."""
        self._finish_hooks.append(hook)

    async def _finished(self, job_id: JobId) -> None:
        if self._finish_hooks:
            job = await self.store.get(job_id)
            for hook in self._finish_hooks:
                self._spawn(_guarded(hook, job))

    async def resume(self, job_id: JobId) -> Job:
        """Queue an interrupted job again (a CLI job after Ctrl-C); it skips finished steps."""
        job = await self.store.get(job_id)
        if not job.status.finished and job_id not in self._queue and job_id not in self._running:
            async with self._has_work:
                self._queue.append(job_id)
                self._has_work.notify()
            await self._announce_positions()
        return job

    async def unfinished(self, platform: str) -> list[Job]:
        """A platform's jobs that are queued or running (to re-attach progress after a restart)."""
        jobs = await self.store.with_status(*_UNFINISHED)
        return [job for job in jobs if job.origin.platform == platform]

    async def drain(self, grace_s: float) -> None:
        """Graceful stop: start no new job; give running jobs and uploads `grace_s` to finish.

        Whatever is still running after that is abandoned: its finished steps are checkpointed
        and it resumes on the next start.
        """
        self._stopping = True
        for worker in self._workers:
            if worker.get_name() not in self._busy_workers:
                worker.cancel()
        busy = [*self._running.values(), *self._background]
        if busy:
            log.info("waiting up to %.0f s for %d running task(s)", grace_s, len(busy))
            await asyncio.wait(busy, timeout=grace_s)

    async def _housekeep(self) -> None:
        while True:
            await sweep(
                self.store, self.jobs_dir, keep_hours=self.limits.keep_hours,
                budget_mb=self.limits.disk_budget_mb,
            )  # fmt: skip
            await asyncio.sleep(self.limits.sweep_interval_s)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ public API

    async def submit(
        self, request: StoryRequest, origin: Origin, *, keep_files: bool = False
    ) -> Job:
        """Check limits and the request, store the job, queue it; returns at once."""
        await self.check_limits(origin, makes_clips=request.animate)
        self.pipeline.validate(request)
        return await self._enqueue(JobKind.STORY, request, origin, keep_files=keep_files)

    async def submit_video(
        self,
        request: VideoRequest,
        origin: Origin,
        *,
        image: bytes | None = None,
        keep_files: bool = False,
    ) -> Job:
        """A video job: `image` (PNG or JPEG) is its first frame, stored with the job."""
        await self.check_limits(origin, makes_clips=True)
        self.pipeline.videos.validate(request)
        if image is not None:
            image = await asyncio.to_thread(imaging.first_frame, image, request.aspect.size)
            request = request.model_copy(update={"has_image": True})

        async def store_picture(job_id: JobId) -> None:
            if image is not None:
                workdir = self.workdir(job_id)
                await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
                await asyncio.to_thread(write_atomic, workdir / INPUT_PICTURE, image)

        return await self._enqueue(
            JobKind.VIDEO, request, origin, keep_files=keep_files, before_queue=store_picture
        )

    async def _enqueue(
        self,
        kind: JobKind,
        request: StoryRequest | VideoRequest,
        origin: Origin,
        *,
        keep_files: bool,
        before_queue: Callable[[JobId], Awaitable[None]] | None = None,
    ) -> Job:
        job = Job(
            id=JobId(uuid.uuid4().hex[:10]),
            kind=kind,
            origin=origin,
            request=request,
            metadata={"keep_files": keep_files},
        )
        if before_queue is not None:
            await before_queue(job.id)
        await self.store.create(job)
        async with self._has_work:
            self._queue.append(job.id)
            self._has_work.notify()
        await self._announce_positions()
        return job

    async def subscribe(self, job_id: JobId) -> AsyncGenerator[ProgressEvent, None]:
        """The job's events: first its current state, then every new one until it ends."""
        queue: asyncio.Queue[ProgressEvent] = asyncio.Queue()
        self._subscribers[job_id].append(queue)
        try:
            current = await self._current_state(job_id)
            yield current
            if isinstance(current, _TERMINAL):
                return
            while True:
                event = await queue.get()
                yield event
                if isinstance(event, _TERMINAL):
                    return
        finally:
            self._subscribers[job_id].remove(queue)
            if not self._subscribers[job_id]:
                del self._subscribers[job_id]

    async def cancel(self, job_id: JobId) -> Job:
        """Cancel a queued or running job; a finished job is returned unchanged."""
        job = await self.store.get(job_id)
        if job.status.finished:
            return job
        if job_id in self._queue:
            self._queue.remove(job_id)
            await self._finish_cancelled(job_id)
            await self._announce_positions()
        elif (task := self._running.get(job_id)) is not None:
            self._cancel_requested.add(job_id)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return await self.store.get(job_id)

    async def remember(self, job_id: JobId, **extra: str) -> Job:
        """Store ids a front end needs later (e.g. its progress message) with the job's origin."""
        job = await self.store.get(job_id)
        origin = replace(job.origin, extra={**job.origin.extra, **extra})
        await self.store.update(job_id, origin=origin)
        return replace(job, origin=origin)

    async def get(self, job_id: JobId) -> Job:
        """A job by id (`JobNotFound` otherwise)."""
        return await self.store.get(job_id)

    async def recent(self, origin: Origin, limit: int = 5) -> list[Job]:
        """A user's newest jobs."""
        return await self.store.recent(
            platform=origin.platform, user_id=origin.user_id, limit=limit
        )

    @property
    def queue_depth(self) -> int:
        """How many jobs wait for a free slot (running ones not counted)."""
        return len(self._queue)

    def queue_position(self, job_id: JobId) -> int | None:
        """1 for the next job to start; None if not queued."""
        try:
            return self._queue.index(job_id) + 1
        except ValueError:
            return None

    def workdir(self, job_id: JobId) -> Path:
        """The folder holding a job's checkpoints and outputs."""
        return self.jobs_dir / job_id

    # ------------------------------------------------------------------ limits

    async def check_limits(self, origin: Origin, *, makes_clips: bool) -> None:
        """Raise `LimitReached` if `origin` may not start a job now (`submit` checks too; a
        front end calls this first when it would otherwise fetch a user's file in vain)."""
        if origin.platform == "cli":
            return  # the local user owns the machine
        ids = {origin.user_id, origin.chat_id} - {""}
        if ids & self.limits.admin_ids:
            return
        if self.limits.allowed_ids and not ids & self.limits.allowed_ids:
            raise LimitReached("This bot is private: ask its owner to add you to the allow-list.")
        platform, user_id = origin.platform, origin.user_id
        in_flight = await self.store.count(
            platform=platform, user_id=user_id, statuses=_UNFINISHED
        )
        if in_flight >= self.limits.user_jobs_in_flight:
            raise LimitReached(
                f"You already have {in_flight} story or video in progress (the limit is "
                f"{self.limits.user_jobs_in_flight}); wait for it to finish or cancel it.",
                retry_after_s=60,  # a guess: jobs take about a minute
            )
        await self._check_daily(origin, self.limits.user_jobs_per_day, "stories", clips=False)
        if makes_clips:
            await self._check_daily(
                origin, self.limits.animated_per_day, "animated videos", clips=True
            )

    async def _check_daily(self, origin: Origin, limit: int, what: str, *, clips: bool) -> None:
        """A rolling 24 h limit; the refusal says when the oldest counted job frees a slot."""
        since = datetime.now(UTC) - timedelta(days=1)
        platform, user_id = origin.platform, origin.user_id
        today = await self.store.count(
            platform=platform, user_id=user_id, since=since, clips=clips
        )
        if today < limit:
            return
        if limit == 0:
            raise LimitReached(f"Making {what} is turned off on this bot.")
        oldest = (
            await self.store.oldest_since(
                platform=platform, user_id=user_id, since=since, clips=clips
            )
            or since
        )
        wait = oldest + timedelta(days=1) - datetime.now(UTC)
        raise LimitReached(
            f"You have made {today} {what} in the last 24 hours (the limit is {limit}); "
            f"the next one frees up in {_duration(wait)}.",
            retry_after_s=max(1.0, wait.total_seconds()),
        )

    # ------------------------------------------------------------------ running

    async def _work(self) -> None:
        name = asyncio.current_task().get_name()  # type: ignore[union-attr]
        while not self._stopping:
            async with self._has_work:
                await self._has_work.wait_for(lambda: bool(self._queue))
                job_id = self._queue.popleft()
            await self._announce_positions()
            task = asyncio.create_task(self._execute(job_id), name=f"storybot-job-{job_id}")
            self._running[job_id] = task
            self._busy_workers.add(name)
            try:
                # Shielded: cancelling one job (runner.cancel) must not kill its worker.
                await asyncio.shield(task)
            except asyncio.CancelledError:
                if self._stopping:  # the worker itself is stopping: stop the job too
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    raise
            finally:
                self._running.pop(job_id, None)
                self._busy_workers.discard(name)

    async def _execute(self, job_id: JobId) -> None:
        job = await self.store.get(job_id)
        if job.status.finished:
            return
        started = job.started_at or datetime.now(UTC)
        await self.store.update(job_id, status=JobStatus.PROCESSING, started_at=started)
        steps = _StoreSteps(self.store, job_id, await self.store.steps(job_id))
        stage_times: dict[str, float] = {}
        sink = self._sink(job_id, stage_times)
        try:
            result = await self._run_with_retries(job, sink, steps)
        except asyncio.CancelledError:
            if job_id in self._cancel_requested:
                self._cancel_requested.discard(job_id)
                await asyncio.shield(self._finish_cancelled(job_id))
            raise
        except CoreError as exc:
            await self._finish_failed(job_id, exc.message)
            return
        await self._finish_completed(job, result, stage_times)

    async def _run_with_retries(
        self, job: Job, sink: ProgressSink, steps: _StoreSteps
    ) -> JobResult:
        """Re-run the job after a transient failure; checkpoints skip finished steps."""
        workdir = self.workdir(job.id)
        for attempt in range(self.limits.step_retries + 1):
            try:
                if isinstance(job.request, VideoRequest):
                    return await self.pipeline.make_video(
                        job.id, job.request, workdir, sink, steps
                    )
                return await self.pipeline.run(job.id, job.request, workdir, sink, steps)
            except ProviderUnavailable as exc:
                if attempt == self.limits.step_retries:
                    raise
                delay = self.limits.step_retry_delay_s * 2**attempt
                log.info("job %s: transient failure (%s); retrying in %.0f s", job.id, exc, delay)
                await sink(ProviderWaiting(job.id, "the provider", delay, "retrying a step"))
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _sink(self, job_id: JobId, stage_times: dict[str, float]) -> ProgressSink:
        loop = asyncio.get_running_loop()
        started: dict[Stage, float] = {}

        async def sink(event: ProgressEvent, /) -> None:
            match event:
                case StageStarted(stage=stage, percent=percent):
                    started.setdefault(stage, loop.time())
                    await self.store.update(
                        job_id, status=_STAGE_STATUS[stage], percent=percent,
                        message=f"{stage.value} 0/{event.total}",
                    )  # fmt: skip
                case StageProgressed(stage=stage, done=done, total=total, percent=percent):
                    if done == total and stage in started:
                        stage_times[stage.value] = round(loop.time() - started[stage], 3)
                    await self.store.update(
                        job_id, percent=percent, message=f"{stage.value} {done}/{total}"
                    )
                case SceneAnimating(scene=scene, total=total, phase=phase, elapsed_s=elapsed):
                    status = JobStatus.DOWNLOADING if phase is ClipPhase.DOWNLOADING else None
                    await self.store.update(
                        job_id, **({"status": status} if status else {}),
                        message=f"animation: scene {scene}/{total} {phase.value}, {elapsed:.0f} s",
                    )  # fmt: skip
                case ProviderWaiting(provider=provider, retry_in_s=delay, reason=reason):
                    await self.store.update(
                        job_id, message=f"waiting for {provider} ({reason}), {delay:.0f} s"
                    )
                case _:
                    pass
            await self._publish(event)

        return sink

    async def _publish(self, event: ProgressEvent) -> None:
        self._last_event[event.job_id] = event
        for queue in self._subscribers.get(event.job_id, []):
            queue.put_nowait(event)
        if isinstance(event, _TERMINAL):
            self._last_event.pop(event.job_id, None)

    async def _announce_positions(self) -> None:
        for position, job_id in enumerate(list(self._queue), start=1):
            await self._publish(Queued(job_id, position))

    async def _current_state(self, job_id: JobId) -> ProgressEvent:
        job = await self.store.get(job_id)
        match job.status:
            case JobStatus.COMPLETED:
                return JobSucceeded(job_id, _result_of(job))
            case JobStatus.FAILED:
                return JobFailed(job_id, job.error or "the job failed")
            case JobStatus.CANCELLED:
                return JobCancelled(job_id)
            case JobStatus.PENDING:
                return Queued(job_id, self.queue_position(job_id) or 1)
            case _:
                return self._last_event.get(job_id) or StageStarted(
                    job_id, Stage.STORY, 1, job.percent
                )

    # ------------------------------------------------------------------ endings

    async def _finish_completed(
        self, job: Job, result: JobResult, stage_times: dict[str, float]
    ) -> None:
        if not job.metadata.get("keep_files"):
            await asyncio.to_thread(_remove_work_files, self.workdir(job.id))
        outputs = _outputs(result)
        sizes = [(await asyncio.to_thread(path.stat)).st_size for path in outputs[:-1]]
        metadata: dict[str, Any] = {
            **job.metadata,
            "providers": self.pipeline.providers.label,
            "models": self.pipeline.providers.models,
            "stage_s": stage_times,
            "file_size": sizes[0],
            "file_sizes": sizes,
            "duration_s": round(result.duration_s, 3),
            "width": result.width,
            "height": result.height,
            "notes": list(result.notes),
        }
        if isinstance(result, StoryVideo):
            metadata |= {
                "title": result.story.title,
                "prompt": result.story.theme,
                "animated": result.animated,
                "scene_starts_s": list(result.scene_starts_s),
                "story": result.story.model_dump(mode="json"),
            }
        else:
            metadata["prompt"] = result.prompt
        local = job.origin.platform in LOCAL_PLATFORMS  # the stored file is the delivery
        await self.store.update(
            job.id, status=JobStatus.COMPLETED, percent=100, message="done", error=None,
            completed_at=datetime.now(UTC), outputs=outputs,
            metadata=metadata, delivery=Delivery.DELIVERED if local else Delivery.PENDING,
        )  # fmt: skip
        await self._publish(JobSucceeded(job.id, result))
        await self._finished(job.id)
        if not local:
            self._spawn(self._deliver(await self.store.get(job.id), result))

    async def _finish_failed(self, job_id: JobId, reason: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self.workdir(job_id), True)
        await self.store.clear_steps(job_id)
        await self.store.update(
            job_id, status=JobStatus.FAILED, error=reason, message="failed",
            completed_at=datetime.now(UTC),
        )  # fmt: skip
        await self._publish(JobFailed(job_id, reason))
        await self._finished(job_id)

    async def _finish_cancelled(self, job_id: JobId) -> None:
        await asyncio.to_thread(shutil.rmtree, self.workdir(job_id), True)
        await self.store.clear_steps(job_id)
        await self.store.update(
            job_id, status=JobStatus.CANCELLED, message="cancelled",
            completed_at=datetime.now(UTC),
        )  # fmt: skip
        await self._publish(JobCancelled(job_id))
        await self._finished(job_id)

    async def _deliver(self, job: Job, result: JobResult) -> None:
        """Hand the output to its front end: at least once, a bounded number of tries in all.

        `delivering` is recorded before each upload and `delivered` right after the platform
        confirms it, so a crash in between re-sends on the next start (the only duplicate
        window; a front end may name one more, see `DeliveryUnconfirmed`). Attempts are counted
        in the store, so restarts never loop a hopeless delivery. `DeliveryRefused` and
        `DeliveryUnconfirmed` end the delivery at once: another try cannot help, or could send
        a second copy.
        """
        handler = self._handlers.get(job.origin.platform)
        if handler is None:
            return  # stays `pending` until that front end registers
        attempts = job.delivery_attempts
        while attempts < self.limits.delivery_attempts:
            attempts += 1
            await self.store.update(
                job.id, delivery=Delivery.DELIVERING, delivery_attempts=attempts
            )
            try:
                await handler(job, result)
            except DeliveryRefused as exc:
                log.warning("job %s: not delivered: %s", job.id, exc)
                break
            except DeliveryUnconfirmed as exc:
                log.warning("job %s: delivery unconfirmed: %s", job.id, exc)
                await self.store.update(job.id, delivery=Delivery.UNCONFIRMED)
                return
            except Exception:  # a front end's failure must not kill the runner; logged
                log.exception("job %s: delivery attempt %d failed", job.id, attempts)
                if attempts < self.limits.delivery_attempts:
                    await asyncio.sleep(self.limits.delivery_retry_delay_s * attempts)
                continue
            await self.store.update(job.id, delivery=Delivery.DELIVERED)
            return
        await self.store.update(job.id, delivery=Delivery.FAILED)
        log.error("job %s: delivery failed after %d attempts; giving up", job.id, attempts)


async def _guarded(hook: FinishHook, job: Job) -> None:
    try:
        await hook(job)
    except Exception:  # a listener's failure must not touch the runner; logged
        log.exception("job %s: a finish hook failed", job.id)


def _outputs(result: JobResult) -> tuple[Path, ...]:
    """The files a job keeps, the thumbnail last."""
    if isinstance(result, StoryVideo):
        return (result.video, result.thumbnail)
    return (*result.videos, result.thumbnail)


def _result_of(job: Job) -> JobResult:
    """Rebuild a finished job's result from the store (for late subscribers)."""
    meta = job.metadata
    *videos, thumbnail = job.outputs
    if job.kind is JobKind.VIDEO:
        return VideoClips(
            videos=tuple(videos),
            thumbnail=thumbnail,
            duration_s=float(meta["duration_s"]),
            width=int(meta["width"]),
            height=int(meta["height"]),
            prompt=str(meta["prompt"]),
            notes=tuple(meta.get("notes", ())),
        )
    return StoryVideo(
        video=videos[0],
        thumbnail=thumbnail,
        duration_s=float(meta["duration_s"]),
        width=int(meta["width"]),
        height=int(meta["height"]),
        story=Story.model_validate(meta["story"]),
        scene_starts_s=tuple(meta.get("scene_starts_s", ())),
        notes=tuple(meta.get("notes", ())),
        animated=int(meta.get("animated", 0)),
    )


def _remove_work_files(workdir: Path) -> None:
    for path in workdir.iterdir():
        if path.name not in _KEEP_AFTER_SUCCESS:
            path.unlink(missing_ok=True)


def _duration(delta: timedelta) -> str:
    minutes = max(1, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
