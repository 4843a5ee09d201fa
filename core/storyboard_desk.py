"""What a user does with a storyboard, from any front end: look at it, redraw a picture, change
a line, render the video. Redraws and the render go back to a worker (the job's finished steps
are kept, so only what changed is made); a storyboard left waiting too long is cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core import imaging
from core.admission import Admission
from core.artifacts import ArtifactStore
from core.dispatch import Dispatcher
from core.errors import NotAwaitingApproval, StoreUnavailable
from core.events import EventBus
from core.limits import JobLimits
from core.metrics import Metrics
from core.models import Job, JobStatus
from core.progress import JobCancelled
from core.storyboard import BoardScene, Storyboard, picture_name
from core.storyboard_sheet import SheetScene, contact_sheet
from core.storyboards import Storyboards
from core.voicing import Line
from core.worker import discard_files

log = logging.getLogger(__name__)

_PREVIEW_SIDE, _PREVIEW_BYTES = 1280, 1_500_000  # a scene's picture as a chat shows it


class StoryboardDesk:
    """The storyboard actions of `JobService.storyboards`; callers check who may act."""

    def __init__(
        self,
        storyboards: Storyboards,
        dispatcher: Dispatcher,
        admission: Admission,
        artifacts: ArtifactStore,
    ) -> None:
        self._boards, self._dispatcher = storyboards, dispatcher
        self._admission, self._artifacts = admission, artifacts

    async def get(self, job: Job) -> Storyboard:
        """The job's storyboard (`NotAwaitingApproval` if it has none)."""
        board = await self._boards.get(job.id)
        if board is None:
            raise NotAwaitingApproval("that job has no storyboard")
        return board

    async def redraw(self, job: Job, scene: int, hint: str | None = None) -> Storyboard:
        """Draw scene `scene` again (with `hint` added to its prompt, the same reference
        picture as before); the job goes back to a worker and returns to the storyboard."""
        await self._admission.check_running(job.origin)
        board = await self._boards.change(
            job.id, lambda b: b.redrawn(scene, hint), rerun_step=f"picture:{scene}",
            status=JobStatus.PENDING,
        )  # fmt: skip
        await self._dispatcher.dispatch(job.id)
        return board

    async def edit(self, job: Job, scene: int, narration: str) -> BoardScene:
        """Scene `scene`'s new line (1–400 characters, fit for children: `InvalidRequest`)."""
        board = await self._boards.change(job.id, lambda b: b.edited(scene, narration))
        return board.scene(scene)

    async def edit_lines(self, job: Job, scene: int, lines: Sequence[Line]) -> BoardScene:
        """A cast's scene's new lines (each 1–400 characters, fit for children, by a speaker
        of the story: `InvalidRequest`)."""
        board = await self._boards.change(job.id, lambda b: b.edited_lines(scene, lines))
        return board.scene(scene)

    async def render(self, job: Job) -> Storyboard:
        """Make the video from the storyboard as it is: narration, animation if asked,
        assembly and delivery; nothing drawn is drawn again."""
        await self._admission.check_running(job.origin)
        board = await self._boards.change(
            job.id, lambda b: b.model_copy(update={"approved": True}), status=JobStatus.PENDING
        )
        await self._dispatcher.dispatch(job.id)
        return board

    async def picture(self, job: Job, scene: int) -> Path:
        """Scene `scene`'s picture as a local PNG (`SceneNotFound` out of range)."""
        (await self.get(job)).scene(scene)
        return await self._artifacts.local(job.id, picture_name(scene))

    async def preview(self, job: Job, scene: int) -> bytes:
        """Scene `scene`'s picture as a JPEG small enough for any chat."""
        path = await self.picture(job, scene)

        def shrink() -> bytes:
            image = imaging.open_picture(path.read_bytes())
            return imaging.thumbnail_jpeg(image, _PREVIEW_SIDE, _PREVIEW_BYTES)

        return await asyncio.to_thread(shrink)

    async def contact_sheet(self, job: Job) -> bytes:
        """Every scene's picture with its number and line under it, on one JPEG."""
        board = await self.get(job)
        scenes = [
            SheetScene(scene.index, await self.picture(job, scene.index), scene.script)
            for scene in board.scenes
        ]
        return await asyncio.to_thread(contact_sheet, scenes)


async def expire_storyboards(
    storyboards: Storyboards,
    artifacts: ArtifactStore,
    bus: EventBus,
    metrics: Metrics,
    *,
    ttl_h: float,
    consumers: Callable[[Job], Sequence[str]],
) -> list[Job]:
    """Cancel the storyboards left waiting longer than `ttl_h`: their files go, their
    `consumers` (the chat, the webhook) are told."""
    before = datetime.now(UTC) - timedelta(hours=ttl_h)
    expired = await storyboards.expire(before, consumers)
    for job in expired:
        log.info("job %s: its storyboard expired after %g h", job.id, ttl_h)
        metrics.job_ended(job, JobStatus.CANCELLED)
        await discard_files(artifacts, job.id)
        await bus.publish(JobCancelled(job.id))
    return expired


async def watch_storyboards(
    storyboards: Storyboards,
    artifacts: ArtifactStore,
    bus: EventBus,
    metrics: Metrics,
    limits: JobLimits,
    consumers: Callable[[Job], Sequence[str]],
) -> None:
    """Expire storyboards until cancelled, looking every tenth of their time to live (at
    least every second, at most as seldom as the sweep)."""
    ttl_h = limits.preview_ttl_h
    interval_s = min(max(1.0, ttl_h * 3600 / 10), limits.sweep_interval_s)
    while True:
        try:
            await expire_storyboards(
                storyboards, artifacts, bus, metrics, ttl_h=ttl_h, consumers=consumers
            )
        except StoreUnavailable:  # the next look will do
            log.warning("storyboards: the store is unreachable; expiry waits")
        await asyncio.sleep(interval_s)
