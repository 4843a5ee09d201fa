"""Clips from an animator: the checkpointed long-running operation shared by animated stories
and video jobs, and the video job itself (a prompt, maybe a picture, to N MP4s)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core import imaging
from core.clip_fit import probe_clip
from core.errors import ConfigurationError, ProviderTimeout
from core.ffmpeg import first_frame, remux_for_chat
from core.models import ClipRequest, JobId, VideoClips, VideoRequest
from core.progress import ClipPhase, ProgressSink, SceneAnimating, Stage, StageStarted
from core.providers import Animator
from core.safety import check_theme
from core.steps import JobFiles

log = logging.getLogger(__name__)

# Told with every phase: the phase, and the seconds since the operation started.
PhaseReporter = Callable[[ClipPhase, float], Awaitable[None]]

INPUT_PICTURE = "input.picture"  # a video job's first frame, stored with the job at submit


async def run_operation(
    animator: Animator,
    files: JobFiles,
    key: str,
    request: ClipRequest,
    *,
    deadline_s: float,
    report: PhaseReporter,
) -> list[bytes]:
    """Start the operation (or take the one checkpointed under `key`), then wait for its clips.

    The operation's name is checkpointed the moment it exists, so a restart polls the same
    operation instead of paying for a new one; `deadline_s` counts from its first start,
    restarts included, and raises `TimeoutError` when it passes.
    """
    step, name = f"operation:{key}", f"{key}.operation.json"
    saved = await files.reuse(step, name)
    if saved is not None:
        record = json.loads(await asyncio.to_thread(saved.read_text))
        operation, started = str(record["name"]), float(record["started"])
        log.info("%s: resuming operation %s", key, operation)
    else:
        operation = await animator.start(request)
        started = time.time()
        record = {"name": operation, "started": started}
        await files.save(step, name, json.dumps(record).encode())

    async def status(phase: ClipPhase) -> None:
        await report(phase, time.time() - started)

    remaining = deadline_s - (time.time() - started)
    async with asyncio.timeout(max(remaining, 0.0)):
        return await animator.wait(operation, request, status)


@dataclass(frozen=True, slots=True)
class VideoJob:
    """Makes the clips of one video job with the providers' animator."""

    animator: Animator | None
    deadline_s: float

    def validate(self, request: VideoRequest) -> None:
        """Refuse before any work: an unfit prompt, or a back end without an animator."""
        check_theme(request.prompt)
        if self.animator is None:
            raise ConfigurationError("this back end cannot make videos")

    async def run(
        self, job_id: JobId, request: VideoRequest, files: JobFiles, sink: ProgressSink
    ) -> VideoClips:
        """Generate, fetch and store the videos (`video_1.mp4`…) and a thumbnail."""
        self.validate(request)
        assert self.animator is not None
        await sink(StageStarted(job_id, Stage.VIDEO, 1, 0))
        outputs = [files.path(f"video_{n}.mp4") for n in range(1, request.count + 1)]
        if await files.reuse("videos", "videos.json") is None:
            picture = files.path(INPUT_PICTURE)
            clip = ClipRequest(
                prompt=request.prompt,
                aspect=request.aspect,
                duration_s=request.duration_s,
                image=await asyncio.to_thread(picture.read_bytes) if request.has_image else None,
                negative_prompt=request.negative_prompt,
                people=request.people,
                count=request.count,
            )

            async def report(phase: ClipPhase, elapsed: float) -> None:
                percent = 90 if phase is ClipPhase.DOWNLOADING else min(85, int(elapsed / 3))
                await sink(SceneAnimating(job_id, 1, 1, phase, elapsed, percent))

            try:
                videos = await run_operation(
                    self.animator, files, "video", clip,
                    deadline_s=self.deadline_s, report=report,
                )  # fmt: skip
            except TimeoutError:
                raise ProviderTimeout(
                    f"the video was not ready within {self.deadline_s:g} s; try again later"
                ) from None
            videos = videos[: request.count]  # never more files than asked for
            outputs = outputs[: len(videos)]
            for path, data in zip(outputs, videos, strict=True):
                await remux_for_chat(data, path, request.aspect.size)
            await files.save("videos", "videos.json", json.dumps(len(videos)).encode())
        else:
            count = json.loads(await asyncio.to_thread(files.path("videos.json").read_text))
            outputs = outputs[: int(count)]
        first = await probe_clip(outputs[0])
        thumbnail = files.path("video.jpg")
        frame = await first_frame(outputs[0])
        await asyncio.to_thread(thumbnail.write_bytes, imaging.thumbnail_jpeg(frame))
        notes: tuple[str, ...] = ()
        if len(outputs) < request.count:
            notes = (f"{len(outputs)} of the {request.count} videos asked for were made.",)
        await sink(SceneAnimating(job_id, 1, 1, ClipPhase.DONE, 0.0, 100))
        return VideoClips(
            videos=tuple(path.name for path in outputs),
            thumbnail=thumbnail.name,
            duration_s=first.duration_s,
            width=frame.width,
            height=frame.height,
            prompt=request.prompt,
            notes=notes,
        )
