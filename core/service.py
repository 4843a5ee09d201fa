"""JobService: what every front end uses — submit, cancel, look up, follow progress, receive
finished jobs from the outbox and read their files. Front ends import this module and the value
modules (`core.models`, `core.progress`, `core.errors`, `core.config`) only."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from pathlib import Path

from core import imaging
from core.admission import Admission
from core.artifacts import SAVE_TO_CLOUD, ArtifactStore, StoredCopy
from core.cast import CAST_PICTURE, HERO_PHOTO, Cast
from core.casts import Casts
from core.clips import INPUT_PICTURE
from core.dispatch import Dispatcher
from core.errors import JobNotFound
from core.events import EventBus
from core.ffmpeg import first_frame, shrink_to_fit
from core.inbox import Inbox
from core.leadership import Leadership, SoleProcess
from core.metrics import Metrics, renditions_fitted
from core.models import (
    UNFINISHED,
    Capabilities,
    DeliveryRecord,
    Job,
    JobId,
    JobKind,
    JobStatus,
    Origin,
    StoryRequest,
    VideoRequest,
)
from core.outbox import DeliveryPolicy, Outbox
from core.outbox import Handler as DeliveryHandler
from core.progress import (
    HANDED_OVER,
    TERMINAL,
    AwaitingApproval,
    JobCancelled,
    JobFailed,
    JobSucceeded,
    ProgressEvent,
    Queued,
    Stage,
    StageStarted,
    decode_event,
)
from core.store import JobStore
from core.storyboard_desk import StoryboardDesk
from core.storyboards import Storyboards
from core.voicing import VoiceMode
from core.worker import end_cancelled

__all__ = ["SAVE_TO_CLOUD", "DeliveryHandler", "DeliveryPolicy", "JobService", "StoredCopy"]

_CANCEL_LOOK_S, _CANCEL_WAITS = 0.5, 20  # how long `cancel` waits for the job to stop
# Checks a request before it is stored (the pipeline's validation).
Validate = Callable[[StoryRequest | VideoRequest], None]


class JobService:
    """The one entry to jobs for every front end; built by `core.bootstrap`."""

    def __init__(
        self,
        store: JobStore,
        dispatcher: Dispatcher,
        bus: EventBus,
        artifacts: ArtifactStore,
        outbox: Outbox,
        admission: Admission,
        validate: Validate,
        capabilities: Capabilities,
        delivery_policy: DeliveryPolicy | None = None,
        leadership: Leadership | None = None,
        metrics: Metrics | None = None,
        casts: Casts | None = None,
    ) -> None:
        self._store, self._dispatcher, self._bus = store, dispatcher, bus
        # A preview story's storyboard: redraw, edit, render (`core.storyboard_desk`).
        self.storyboards = StoryboardDesk(
            Storyboards(store.database), dispatcher, admission, artifacts
        )
        self._artifacts, self._outbox, self._admission = artifacts, outbox, admission
        self._validate, self._policy = validate, delivery_policy or DeliveryPolicy()
        self._leadership = leadership or SoleProcess()
        self._inbox = Inbox(store.database)
        self._casts = casts or Casts(store.database, artifacts, keep_days=30)
        self.metrics = metrics or Metrics()
        self.capabilities = capabilities

    # ------------------------------------------------------------------ submitting

    async def check_limits(self, origin: Origin, *, makes_clips: bool) -> None:
        """Raise `LimitReached` if `origin` may not start a job now (`submit_*` check too; a
        front end calls this first when it would otherwise fetch a user's file in vain)."""
        await self._admission.check(origin, makes_clips=makes_clips)

    async def submit_story(
        self,
        request: StoryRequest,
        origin: Origin,
        *,
        keep_files: bool = False,
        hero: bytes | None = None,
    ) -> Job:
        """Check limits and the request, store the job, queue it; returns at once. (The
        limits are checked first, then again under the user's lock as the job is stored.)
        `hero`: a photo whose subject becomes the main character, kept for this job only."""
        await self.check_limits(origin, makes_clips=request.animate)
        files = {}
        if hero is not None:
            files[HERO_PHOTO] = await asyncio.to_thread(imaging.hero_photo, hero)
            request = request.model_copy(update={"hero": True})
        self._validate(request)
        return await self._enqueue(
            JobKind.STORY, request, origin, keep_files=keep_files, files=files
        )

    async def submit_sequel(
        self,
        request: StoryRequest,
        origin: Origin,
        *,
        of: JobId | None = None,
        keep_files: bool = False,
    ) -> Job:
        """A story that continues story `of` (the user's own: `JobNotFound` otherwise), else
        the user's last story in that chat (`NoEarlierStory`): with its cast, reference
        picture, style, aspect, voice and language (`CastExpired` once they are gone)."""
        await self.check_limits(origin, makes_clips=request.animate)
        cast = await self._cast_of(origin, of)
        request = request.model_copy(update={
            "style": cast.style, "aspect": cast.aspect, "voice": cast.voice,
            "language": cast.language, "sequel": cast.brief(),
            # A story told by a cast goes on with the same voices.
            "voices": VoiceMode.CAST if cast.voices else request.voices,
        })  # fmt: skip
        self._validate(request)
        picture = await self._casts.picture(cast)
        return await self._enqueue(
            JobKind.STORY, request, origin, keep_files=keep_files, files={CAST_PICTURE: picture}
        )

    async def _cast_of(self, origin: Origin, of: JobId | None) -> Cast:
        if of is None:
            return await self._casts.latest(origin.platform, origin.user_id, origin.chat_id)
        job = await self._store.get(of)
        if (job.origin.platform, job.origin.user_id) != (origin.platform, origin.user_id):
            raise JobNotFound(f"no job with id {of}")  # another user's story is invisible
        return await self._casts.of_job(job)

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
        self._validate(request)
        files = {}
        if image is not None:
            frame = await asyncio.to_thread(imaging.first_frame, image, request.aspect.drawn.size)
            files[INPUT_PICTURE] = frame
            request = request.model_copy(update={"has_image": True})
        return await self._enqueue(
            JobKind.VIDEO, request, origin, keep_files=keep_files, files=files
        )

    async def _enqueue(
        self,
        kind: JobKind,
        request: StoryRequest | VideoRequest,
        origin: Origin,
        *,
        keep_files: bool,
        files: Mapping[str, bytes],
    ) -> Job:
        job = Job(JobId(uuid.uuid4().hex[:10]), kind, origin, request, keep_files=keep_files)
        # Counted and stored under the user's lock: concurrent submits (from any front end)
        # cannot both pass a limit of one.
        async with self._store.user_lock(origin.platform, origin.user_id):
            clips = isinstance(request, VideoRequest) or request.animate
            await self.check_limits(origin, makes_clips=clips)
            for name, data in files.items():  # the user's picture, a sequel's cast picture
                await self._artifacts.write(job.id, name, data)
            await self._store.create(job)
        self.metrics.job_submitted(job)
        await self._dispatcher.dispatch(job.id)
        return job

    async def resume(self, job_id: JobId) -> Job:
        """Queue an interrupted job again (a CLI job after Ctrl-C); it skips finished steps."""
        job = await self._store.get(job_id)
        if not job.status.finished:
            await self._dispatcher.dispatch(job_id)
        return job

    async def cancel(self, job_id: JobId) -> Job:
        """Cancel a queued or running job and wait until it has stopped; a finished job is
        returned unchanged."""
        if not await self._store.request_cancel(job_id):
            return await self._store.get(job_id)
        waiting = (await self._store.get(job_id)).status is JobStatus.AWAITING_APPROVAL
        if waiting or await self._dispatcher.withdraw(job_id):  # no worker holds it
            await end_cancelled(self._store, self._artifacts, self._bus, job_id, self.metrics)
            return await self._store.get(job_id)
        with self._bus.listen(job_id) as events:
            await self._dispatcher.cancel_requested(job_id)
            job = await self._store.get(job_id)
            # Its worker may be in another process (its events do not come here), or gone (the
            # job ends `cancelled` when a worker next claims it): look again, for a while.
            for _ in range(_CANCEL_WAITS):
                if job.status.finished:
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_CANCEL_LOOK_S):
                        while not isinstance(await events.get(), TERMINAL):
                            pass
                job = await self._store.get(job_id)
        return job

    # ------------------------------------------------------------------ looking up

    async def get(self, job_id: JobId) -> Job:
        """A job by id (`JobNotFound` otherwise)."""
        return await self._store.get(job_id)

    async def recent(self, origin: Origin | None = None, limit: int = 5) -> list[Job]:
        """A user's newest jobs (everyone's without `origin`)."""
        if origin is None:
            return await self._store.recent(limit=limit)
        return await self._store.recent(
            platform=origin.platform, user_id=origin.user_id, limit=limit
        )

    async def unfinished(self, platform: str) -> list[Job]:
        """A platform's queued or running jobs (to re-attach progress after a restart)."""
        jobs = await self._store.with_status(*UNFINISHED)
        return [job for job in jobs if job.origin.platform == platform]

    async def remember(self, job_id: JobId, **extra: str) -> None:
        """Store ids a front end needs later (e.g. its progress message) with the job."""
        await self._store.remember(job_id, **extra)

    async def queue_position(self, job_id: JobId) -> int | None:
        """1 for the next job to start; None if the job is not waiting."""
        return await self._dispatcher.position(job_id)

    async def queue_depth(self) -> int:
        """How many jobs wait for a free slot (running ones not counted)."""
        return await self._dispatcher.depth()

    async def metrics_text(self) -> bytes:
        """This process's metrics in Prometheus's text format (`core.metrics`)."""
        return await self.metrics.exposition(self.queue_depth)

    async def first_arrival(self, platform: str, update_id: str) -> bool:
        """True the first time a pushed update arrives, in any process sharing the store (a
        platform retries an update it got no answer for in time)."""
        return await self._inbox.first_arrival(platform, update_id)

    def lead(
        self, connection: str, standing_by: Callable[[], object] = lambda: None
    ) -> contextlib.AbstractAsyncContextManager[asyncio.Event]:
        """Wait until this process owns `connection` (e.g. "telegram": the one `getUpdates`
        consumer) among every process sharing the store, calling `standing_by` if another
        owns it now; the event is set if it is lost."""
        return self._leadership.lead(connection, standing_by)

    async def delivery(self, job_id: JobId, consumer: str) -> DeliveryRecord | None:
        """One consumer's delivery of a job (e.g. the webhook's tries)."""
        return await self._store.delivery(job_id, consumer)

    # ------------------------------------------------------------------ progress

    async def subscribe(self, job_id: JobId) -> AsyncGenerator[ProgressEvent, None]:
        """The job's events: first its current state, then every new one until it ends."""
        with self._bus.listen(job_id) as events:
            current = await self.state(job_id)
            yield current
            if isinstance(current, HANDED_OVER):
                return
            while True:
                event = await events.get()
                if event == current:  # the state read was this very event
                    continue
                yield event
                if isinstance(event, HANDED_OVER):
                    return

    async def state(self, job_id: JobId) -> ProgressEvent:
        """Where a job is now, as the event that says so (from any process)."""
        job = await self._store.get(job_id)
        match job.status:
            case JobStatus.COMPLETED if job.result is not None:
                return JobSucceeded(job_id, job.result)
            case JobStatus.FAILED | JobStatus.COMPLETED:
                return JobFailed(job_id, job.error or "the job failed")
            case JobStatus.CANCELLED:
                return JobCancelled(job_id)
            case JobStatus.PENDING:
                return Queued(job_id, await self._dispatcher.position(job_id) or 1)
            case JobStatus.AWAITING_APPROVAL:
                board = await self.storyboards.get(job)
                return AwaitingApproval(job_id, len(board.scenes))
        stored = await self._store.last_event(job_id)
        if stored is not None:
            return decode_event(stored)
        first = Stage.STORY if job.kind is JobKind.STORY else Stage.VIDEO  # claimed, not begun
        return StageStarted(job_id, first, 1, job.percent)

    # ------------------------------------------------------------------ delivery and files

    def deliver_with(
        self, consumer: str, handler: DeliveryHandler, policy: DeliveryPolicy | None = None
    ) -> None:
        """From now on, jobs waiting for `consumer` (a platform, or the webhook) go to
        `handler`, including those that ended while it was away."""
        metered = self.metrics.metered(consumer, handler)
        self._outbox.consume(consumer, metered, policy or self._policy)

    async def file(self, job: Job, name: str) -> Path:
        """A local copy of one of the job's files (`ArtifactMissing` once it expired)."""
        return await self._artifacts.local(job.id, name)

    async def videos(
        self, job: Job, limit_bytes: int | None = None, *, first: int = 0
    ) -> list[Path]:
        """The job's videos from index `first` as local files, each re-encoded under
        `limit_bytes` if bigger (`RenderError` when even the smallest rendition is too big)."""
        result = job.result
        if result is None:
            return []
        names = result.video_files[first:]
        paths = [await self._artifacts.local(job.id, name) for name in names]
        if limit_bytes is None:
            return paths
        fitted = []
        for path in paths:
            target = path.with_name(f"{path.stem}.{limit_bytes}.mp4")
            size = (result.width, result.height)
            fitted.append(
                await shrink_to_fit(
                    path, target, limit_bytes=limit_bytes, duration_s=result.duration_s, size=size
                )
            )
        await renditions_fitted(first, fitted)  # what a delivery uploads
        return fitted

    async def thumbnail(self, job: Job, index: int = 0) -> bytes:
        """A JPEG thumbnail of the job's video `index`: the job's own for the first, else one
        from that video's first frame."""
        result = job.result
        assert result is not None, "only a completed job has thumbnails"
        if index == 0:
            path = await self._artifacts.local(job.id, result.thumbnail)
            return await asyncio.to_thread(path.read_bytes)
        video = (await self.videos(job))[index]
        return await asyncio.to_thread(imaging.thumbnail_jpeg, await first_frame(video))

    async def discard_files(self, job_id: JobId) -> None:
        """Remove a finished job's files, the bucket's included (the CLI, once it copied them
        where the user wants; a user deleting the job)."""
        await self._store.files_removed(job_id)  # first: from now on, downloads answer 410
        await self._artifacts.remove(job_id)

    async def copies_in_bucket(self, job: Job) -> list[StoredCopy]:
        """Each video of a completed job in object storage, with a time-limited download URL
        (none without object storage, or once the files are gone)."""
        result = job.result
        if result is None or job.files_removed or not self._artifacts.in_bucket:
            return []
        names = result.video_files
        copies = [await self._artifacts.copy_in_bucket(job.id, name) for name in names]
        return [copy for copy in copies if copy is not None]
