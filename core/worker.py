"""Worker: claims a job, runs the pipeline with checkpoints, retries transient failures, honours
a cancel recorded in the store, records the typed result and hands delivery to the outbox.
It never calls a front end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from core.artifacts import ArtifactStore
from core.cast import HERO_PHOTO
from core.casts import Casts
from core.errors import (
    CoreError,
    ProviderUnavailable,
    StorageUnavailable,
    StoreUnavailable,
    Superseded,
)
from core.events import EventBus
from core.limits import JobLimits
from core.metrics import Metrics, StageClock
from core.models import (
    LOCAL_PLATFORMS,
    WEBHOOK,
    Job,
    JobId,
    JobOutcome,
    JobResult,
    JobStatus,
    StoryVideo,
    VideoRequest,
)
from core.pipeline import Pipeline
from core.progress import (
    AwaitingApproval,
    ClipPhase,
    JobCancelled,
    JobFailed,
    JobSucceeded,
    ProgressEvent,
    ProgressSink,
    ProviderWaiting,
    SceneAnimating,
    Stage,
    StageProgressed,
    StageStarted,
    encode_event,
)
from core.store import JobStore
from core.storyboard import Drafted, Storyboard, board_consumer
from core.storyboards import Storyboards

log = logging.getLogger(__name__)

_STAGE_STATUS = {
    Stage.STORY: JobStatus.PROCESSING,
    Stage.PICTURES: JobStatus.GENERATING,
    Stage.NARRATION: JobStatus.GENERATING,
    Stage.ANIMATION: JobStatus.GENERATING,
    Stage.VIDEO: JobStatus.GENERATING,
    Stage.ASSEMBLY: JobStatus.GENERATING,
}
_UNEXPECTED = "something went wrong on our side; please try again"
# Kept after a story completes besides its outputs: the story itself (for sequels).
_KEEP_WITH_OUTPUTS = ("story.json",)


def consumers_of(job: Job, status: JobStatus, *, default_webhook: bool) -> list[str]:
    """Who waits in the outbox for a job that ended with `status`: its chat platform (for a
    completed job), and the webhook (an HTTP job with a URL, completed or failed). A job whose
    storyboard is ready (or expired) waits for their storyboard consumers."""
    waiting = []
    chat = job.origin.platform not in LOCAL_PLATFORMS
    has_url = default_webhook or "webhook_url" in job.origin.extra
    webhook = job.origin.platform == "http" and has_url
    if status is JobStatus.AWAITING_APPROVAL:
        return [
            board_consumer(c)
            for c, wanted in ((job.origin.platform, chat), (WEBHOOK, webhook))
            if wanted
        ]
    if status is JobStatus.COMPLETED and chat:
        waiting.append(job.origin.platform)
    if webhook and status is not JobStatus.CANCELLED:
        waiting.append(WEBHOOK)
    return waiting


@dataclass
class _Run:
    """One claimed attempt of one job."""

    job: Job
    clock: StageClock
    stage_times: dict[str, float] = field(default_factory=dict)
    cancelled_by_request: bool = False


class Worker:
    """Runs jobs handed to it by a dispatcher: `await worker.execute(job_id)`."""

    def __init__(
        self,
        store: JobStore,
        pipeline: Pipeline,
        artifacts: ArtifactStore,
        bus: EventBus,
        limits: JobLimits,
        *,
        default_webhook: bool = False,
        metrics: Metrics | None = None,
        casts: Casts | None = None,
    ) -> None:
        self.store, self.pipeline, self.artifacts, self.bus = store, pipeline, artifacts, bus
        self.limits, self.default_webhook = limits, default_webhook
        self.metrics = metrics or Metrics()
        self.casts = casts
        self.storyboards = Storyboards(store.database)
        self._wakeups: dict[JobId, asyncio.Event] = {}

    def wake(self, job_id: JobId) -> None:
        """A cancel was just recorded for `job_id`: look now rather than at the next poll."""
        if (event := self._wakeups.get(job_id)) is not None:
            event.set()

    async def execute(self, job_id: JobId) -> None:
        """Run one job to its end: completed, failed or cancelled. If this coroutine is itself
        cancelled (the process stops), the job is left as it is and resumes from its
        checkpoints on the next start."""
        job = await self.store.claim(job_id)
        if job is None:
            current = await self.store.get(job_id)
            if current.cancel_requested and not current.status.finished:  # before it started
                await self._cancelled(job_id)
            return
        try:
            await self._claimed(job)
        finally:  # however the run ends, its scratch folder goes (the store keeps what counts)
            await self.artifacts.release(job_id)

    async def _claimed(self, job: Job) -> None:
        job_id = job.id
        run = _Run(job, self.metrics.stage_clock())
        task = asyncio.create_task(self._made(run), name=f"storybot-job-{job_id}")
        self._wakeups[job_id] = asyncio.Event()
        watcher = asyncio.create_task(self._watch_cancel(run, task))
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        finally:
            watcher.cancel()
            self._wakeups.pop(job_id, None)
        try:
            await self._settle(run, task)
        except StoreUnavailable:  # the job stays as it is: it runs again once the store is back
            raise
        except Exception:  # a bug while ending it: the job still ends; the log has the cause
            log.exception("job %s: could not record its end", job_id)
            await self._failed(run.job, _UNEXPECTED)

    async def _settle(self, run: _Run, task: asyncio.Task[JobResult | Drafted]) -> None:
        if task.cancelled():
            if run.cancelled_by_request:
                await self._cancelled(run.job.id)
                return
            raise asyncio.CancelledError
        if (error := task.exception()) is not None:
            if isinstance(error, StoreUnavailable):  # not the job's fault: it runs again
                raise error
            if isinstance(error, Superseded):  # another worker took it over: leave it be
                log.warning("%s; this worker stops it and writes nothing more", error)
                return
            if isinstance(error, CoreError):
                await self._failed(run.job, error.message)
                return
            # A bug: the job ends (no user waits forever); the traceback is for the log only.
            log.error("job %s: unexpected error", run.job.id, exc_info=error)
            await self._failed(run.job, _UNEXPECTED)
            return
        result = task.result()
        if isinstance(result, Drafted):
            await self._drafted(run.job, result)
        else:
            await self._completed(run, result)

    async def _watch_cancel(self, run: _Run, task: asyncio.Task[JobResult | Drafted]) -> None:
        """Cancel the run once a cancel request is in the store: woken at once by `wake`, else
        found by polling, so a request from another process is seen too."""
        wakeup = self._wakeups[run.job.id]
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.limits.cancel_poll_s):
                    await wakeup.wait()
            wakeup.clear()
            if await self.store.cancel_requested(run.job.id):
                run.cancelled_by_request = True
                task.cancel()
                return

    async def _made(self, run: _Run) -> JobResult | Drafted:
        """The job's result, its outputs stored (before the job is recorded as completed)."""
        result = await self._attempts(run)
        await self.artifacts.persist(run.job.id)
        return result

    async def _attempts(self, run: _Run) -> JobResult | Drafted:
        """Re-run the job after a transient failure; checkpoints skip finished steps."""
        job, sink = run.job, self._sink(run)
        steps = _StoreSteps(self.store, self.artifacts, job, await self.store.steps(job.id))
        workdir = await self.artifacts.checkout(job.id)  # from the store: it may have moved
        for attempt in range(self.limits.step_retries + 1):
            try:
                if isinstance(job.request, VideoRequest):
                    return await self.pipeline.make_video(
                        job.id, job.request, workdir, sink, steps
                    )
                board = await self.storyboards.get(job.id) if job.request.preview else None
                return await self.pipeline.run(
                    job.id, job.request, workdir, sink, steps, board=board
                )
            except ProviderUnavailable as exc:
                if attempt == self.limits.step_retries:
                    raise
                delay = self.limits.step_retry_delay_s * 2**attempt
                log.info("job %s: transient failure (%s); retrying in %.0f s", job.id, exc, delay)
                await sink(ProviderWaiting(job.id, "the provider", delay, "retrying a step"))
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _sink(self, run: _Run) -> ProgressSink:
        loop = asyncio.get_running_loop()
        started: dict[Stage, float] = {}
        job = run.job

        async def sink(event: ProgressEvent, /) -> None:
            status: JobStatus | None = None
            percent: int | None = None
            message = ""
            match event:
                case StageStarted(stage=stage, percent=percent):
                    started.setdefault(stage, loop.time())
                    status, message = _STAGE_STATUS[stage], f"{stage.value} 0/{event.total}"
                case StageProgressed(stage=stage, done=done, total=total, percent=percent):
                    if done == total and stage in started:
                        run.stage_times[stage.value] = round(loop.time() - started[stage], 3)
                    message = f"{stage.value} {done}/{total}"
                case SceneAnimating(scene=scene, total=total, phase=phase, elapsed_s=elapsed):
                    status = JobStatus.DOWNLOADING if phase is ClipPhase.DOWNLOADING else None
                    message = f"animation: scene {scene}/{total} {phase.value}, {elapsed:.0f} s"
                case ProviderWaiting(provider=provider, retry_in_s=delay, reason=reason):
                    message = f"waiting for {provider} ({reason}), {delay:.0f} s"
            recorded = await self.store.progressed(
                job.id, job.attempt, event=encode_event(event), message=message,
                status=status, percent=percent,
            )  # fmt: skip
            if not recorded:
                raise Superseded(f"job {job.id}: attempt {job.attempt} is no longer current")
            run.clock.saw(event)
            await self.bus.publish(event)

        return sink

    # ------------------------------------------------------------------ endings

    # The store is written first: files are touched only by the attempt that owns the job.

    async def _completed(self, run: _Run, result: JobResult) -> None:
        job = run.job
        providers = self.pipeline.providers
        outcome = JobOutcome(
            result=result,
            backend=providers.label,
            models=dict(providers.models),
            stage_s=run.stage_times,
            file_sizes=tuple([await self.artifacts.size(job.id, n) for n in result.video_files]),
        )
        waiting = consumers_of(job, JobStatus.COMPLETED, default_webhook=self.default_webhook)
        if not await self.store.complete(job.id, job.attempt, outcome, waiting):
            log.warning("job %s: a newer attempt owns it; this result is dropped", job.id)
            return
        run.clock.completed()
        self.metrics.job_ended(job, JobStatus.COMPLETED)
        await self._keep_cast(job, result)
        if not job.keep_files:  # the work files go, the user's photo among them
            await self.artifacts.keep_only(job.id, (*result.files, *_KEEP_WITH_OUTPUTS))
        else:  # kept for inspection (`--keep`), but the user's photo never outlives its job
            await self.artifacts.delete(job.id, HERO_PHOTO)
        await self.bus.publish(JobSucceeded(job.id, result))

    async def _drafted(self, job: Job, drafted: Drafted) -> None:
        """A preview story's pictures are drawn: it waits for its user, holding no slot."""
        board = await self.storyboards.get(job.id)
        if board is None:
            board = Storyboard.of_story(drafted.story, self.limits.preview_redraws)
        waiting = consumers_of(
            job, JobStatus.AWAITING_APPROVAL, default_webhook=self.default_webhook
        )
        if await self.storyboards.ready(job, board, waiting):
            # The hero is drawn (a checkpoint): the user's photo is not kept while it waits.
            await self.artifacts.delete(job.id, HERO_PHOTO)
            await self.bus.publish(AwaitingApproval(job.id, len(board.scenes)))

    async def _keep_cast(self, job: Job, result: JobResult) -> None:
        """A story's cast, kept for its sequels (a failure only costs the sequel)."""
        if self.casts is None or not isinstance(result, StoryVideo):
            return
        try:
            await self.casts.keep(job, result, self.artifacts.scratch(job.id))
        except (CoreError, OSError) as exc:
            log.warning("job %s: its cast could not be kept for sequels: %s", job.id, exc)

    async def _failed(self, job: Job, reason: str) -> None:
        waiting = consumers_of(job, JobStatus.FAILED, default_webhook=self.default_webhook)
        if await self.store.fail(job.id, job.attempt, reason, waiting):
            self.metrics.job_ended(job, JobStatus.FAILED)
            await discard_files(self.artifacts, job.id)
            await self.bus.publish(JobFailed(job.id, reason))

    async def _cancelled(self, job_id: JobId) -> None:
        await end_cancelled(self.store, self.artifacts, self.bus, job_id, self.metrics)


async def end_cancelled(
    store: JobStore, artifacts: ArtifactStore, bus: EventBus, job_id: JobId, metrics: Metrics
) -> None:
    """A job ends `cancelled` (once): its checkpoints and files go, its followers are told."""
    if await store.cancelled(job_id):
        metrics.job_ended(await store.get(job_id), JobStatus.CANCELLED)
        await discard_files(artifacts, job_id)
        await bus.publish(JobCancelled(job_id))


async def discard_files(artifacts: ArtifactStore, job_id: JobId) -> None:
    """Remove an ended job's files; a bucket out of reach leaves them to the expiry sweep."""
    try:
        await artifacts.remove(job_id)
    except StorageUnavailable:
        log.warning("job %s: its files stay until the expiry sweep (storage unreachable)", job_id)


class _StoreSteps:
    """The pipeline's StepLog, backed by the store's job_steps table."""

    def __init__(
        self, store: JobStore, artifacts: ArtifactStore, job: Job, finished: set[str]
    ) -> None:
        self.store, self.artifacts, self.job, self.finished = store, artifacts, job, finished

    def done(self, step: str) -> bool:
        return step in self.finished

    async def mark(self, step: str) -> None:
        # The step's files are stored before it is recorded as done: a worker on another
        # machine resuming the job finds every file of every finished step.
        await self.artifacts.persist(self.job.id)
        if not await self.store.mark_step(self.job.id, self.job.attempt, step):
            raise Superseded(f"job {self.job.id}: attempt {self.job.attempt} is no longer current")
        self.finished.add(step)
