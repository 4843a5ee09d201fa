"""Pipeline: story → pictures and narration (concurrently) → assembly; orchestration only."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from core import audio, imaging
from core.config import Settings
from core.errors import ContentRejected, CoreError
from core.models import JobId, Speech, Story, StoryRequest, StoryVideo
from core.progress import (
    JobCancelled,
    JobFailed,
    JobSucceeded,
    ProgressSink,
    ProviderWaiting,
    Stage,
    StageProgressed,
    StageStarted,
    set_waiting_reporter,
)
from core.providers import Providers
from core.safety import check_theme
from core.video import Timeline, assemble

log = logging.getLogger(__name__)

# Share of the whole job each stage accounts for in the percent shown to users.
_STORY_END = 10
_MEDIA_END = 85  # pictures and narration together; a picture weighs three narrations
_PICTURE_WEIGHT = 3


@dataclass(frozen=True, slots=True)
class PipelineLimits:
    """Concurrency and timing limits of a pipeline."""

    image_concurrency: int = 3
    tts_concurrency: int = 4
    scene_pause_s: float = 0.4
    fps: int = 24

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelineLimits:
        """The limits configured by `STORYBOT_*` settings."""
        return cls(
            image_concurrency=settings.image_concurrency,
            tts_concurrency=settings.tts_concurrency,
            scene_pause_s=settings.scene_pause_s,
            fps=settings.fps,
        )


class _Progress:
    """Turns finished items into StageProgressed events with a whole-job percent."""

    def __init__(self, job_id: JobId, sink: ProgressSink, scenes: int) -> None:
        self.job_id, self.sink, self.scenes = job_id, sink, scenes
        self.done = {Stage.PICTURES: 0, Stage.NARRATION: 0}

    def media_percent(self) -> int:
        units = self.done[Stage.PICTURES] * _PICTURE_WEIGHT + self.done[Stage.NARRATION]
        total = self.scenes * (_PICTURE_WEIGHT + 1)
        return _STORY_END + (_MEDIA_END - _STORY_END) * units // total

    async def item_done(self, stage: Stage) -> None:
        self.done[stage] += 1
        await self.sink(
            StageProgressed(
                self.job_id, stage, self.done[stage], self.scenes, self.media_percent()
            )
        )


class Pipeline:
    """Makes one story video; emits typed progress events to a sink as it goes."""

    def __init__(self, providers: Providers, limits: PipelineLimits | None = None) -> None:
        self.providers = providers
        self.limits = limits or PipelineLimits()
        self._image_slots = asyncio.Semaphore(self.limits.image_concurrency)
        self._tts_slots = asyncio.Semaphore(self.limits.tts_concurrency)

    def validate(self, request: StoryRequest) -> None:
        """Refuse a request before any work: unfit theme, unsupported language, unknown voice."""
        check_theme(request.theme)
        self.providers.writer.check_language(request.language)
        self.providers.narrator.check_voice(request.voice, request.language)

    async def run(
        self, job_id: JobId, request: StoryRequest, workdir: Path, sink: ProgressSink
    ) -> StoryVideo:
        """Run every stage; emits JobSucceeded, JobFailed or JobCancelled at the end."""

        async def waiting(provider: str, retry_in_s: float, reason: str) -> None:
            await sink(ProviderWaiting(job_id, provider, retry_in_s, reason))

        set_waiting_reporter(waiting)
        try:
            self.validate(request)
            await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
            story = await self._story(job_id, request, workdir, sink)
            notes: list[str] = []
            pictures, speeches = await self._media(job_id, request, story, workdir, sink, notes)
            result = await self._assemble(
                job_id, request, story, pictures, speeches, workdir, sink
            )
            result = replace(result, notes=tuple(sorted(notes)))
        except CoreError as exc:
            await sink(JobFailed(job_id, exc.message))
            raise
        except asyncio.CancelledError:
            await asyncio.shield(sink(JobCancelled(job_id)))
            raise
        finally:
            set_waiting_reporter(None)
        await sink(JobSucceeded(job_id, result))
        return result

    async def _story(
        self, job_id: JobId, request: StoryRequest, workdir: Path, sink: ProgressSink
    ) -> Story:
        await sink(StageStarted(job_id, Stage.STORY, 1, 0))
        story = await self.providers.writer.write(request)
        (workdir / "story.json").write_text(story.model_dump_json(indent=2))
        await sink(StageProgressed(job_id, Stage.STORY, 1, 1, _STORY_END))
        return story

    async def _media(
        self,
        job_id: JobId,
        request: StoryRequest,
        story: Story,
        workdir: Path,
        sink: ProgressSink,
        notes: list[str],
    ) -> tuple[list[Path], list[Speech]]:
        count = len(story.scenes)
        progress = _Progress(job_id, sink, count)
        pictures: list[Path | None] = [None] * count
        speeches: list[Speech | None] = [None] * count

        loop = asyncio.get_running_loop()
        drawn: list[asyncio.Future[bytes]] = [loop.create_future() for _ in range(count)]

        async def draw(index: int, reference: bytes | None) -> bytes:
            data = await self._picture(index, story, request, reference, drawn, notes)
            drawn[index].set_result(data)
            pictures[index] = await asyncio.to_thread(
                save_fitted, data, request.aspect.size, workdir / f"scene_{index + 1:02d}.png"
            )
            await progress.item_done(Stage.PICTURES)
            return data

        async def draw_all() -> None:
            # Scene 1 first: its picture is the reference that keeps characters the same.
            first = await draw(0, None)
            async with asyncio.TaskGroup() as group:
                for index in range(1, count):
                    group.create_task(draw(index, first))

        async def speak(index: int) -> None:
            async with self._tts_slots:
                speech = await self.providers.narrator.speak(
                    story.scenes[index].narration, voice=request.voice, language=request.language
                )
            (workdir / f"scene_{index + 1:02d}.wav").write_bytes(audio.to_wav(speech))
            speeches[index] = speech
            await progress.item_done(Stage.NARRATION)

        percent = progress.media_percent()
        await sink(StageStarted(job_id, Stage.PICTURES, count, percent))
        await sink(StageStarted(job_id, Stage.NARRATION, count, percent))
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(draw_all())
                for index in range(count):
                    group.create_task(speak(index))
        except BaseExceptionGroup as group_error:
            raise _first_leaf(group_error) from None
        return [p for p in pictures if p is not None], [s for s in speeches if s is not None]

    async def _picture(
        self,
        index: int,
        story: Story,
        request: StoryRequest,
        reference: bytes | None,
        drawn: list[asyncio.Future[bytes]],
        notes: list[str],
    ) -> bytes:
        """Draw one scene; a blocked picture is rephrased once, then the previous one is reused."""
        scene = story.scenes[index]
        for attempt in range(2):
            try:
                async with self._image_slots:
                    return await self.providers.illustrator.draw(
                        scene, style=story.style, aspect=request.aspect, reference=reference
                    )
            except ContentRejected:
                if attempt == 0:
                    log.info("scene %d picture blocked; rephrasing", index + 1)
                    scene = await self.providers.writer.soften(scene)
        if index == 0:
            raise ContentRejected(
                "the first picture was blocked by the safety filter twice; try another theme"
            )
        notes.append(
            f"Scene {index + 1}'s picture was blocked by a safety filter, "
            "so it shows the previous picture."
        )
        return await drawn[index - 1]

    async def _assemble(
        self,
        job_id: JobId,
        request: StoryRequest,
        story: Story,
        pictures: list[Path],
        speeches: list[Speech],
        workdir: Path,
        sink: ProgressSink,
    ) -> StoryVideo:
        await sink(StageStarted(job_id, Stage.ASSEMBLY, 1, _MEDIA_END))
        result = await assemble_story(story, request, pictures, speeches, workdir, self.limits)
        await sink(StageProgressed(job_id, Stage.ASSEMBLY, 1, 1, 100))
        return result


async def assemble_story(
    story: Story,
    request: StoryRequest,
    pictures: list[Path],
    speeches: list[Speech],
    workdir: Path,
    limits: PipelineLimits,
) -> StoryVideo:
    """Join the narrations, time every scene to its narration, encode the MP4 and thumbnail."""
    joined, lengths = audio.join(speeches, limits.scene_pause_s)
    narration = workdir / "narration.wav"
    await asyncio.to_thread(narration.write_bytes, audio.to_wav(joined))
    timeline = Timeline.from_samples(lengths, joined.sample_rate, limits.fps)
    video = await assemble(pictures, narration, workdir / "story.mp4", timeline)
    thumbnail = workdir / "story.jpg"
    await asyncio.to_thread(_write_thumbnail, pictures[0], thumbnail)
    width, height = request.aspect.size
    return StoryVideo(
        video=video,
        thumbnail=thumbnail,
        duration_s=timeline.total_s,
        width=width,
        height=height,
        story=story,
        scene_starts_s=timeline.starts_s,
    )


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error inside (nested) task-group errors: that is what users see."""
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def save_fitted(data: bytes, size: tuple[int, int], path: Path) -> Path:
    """Decode a picture once, fit it to the frame and store it for ffmpeg."""
    # PNG at the lowest compression: written once, read once by ffmpeg, removed after success.
    imaging.fit(imaging.open_picture(data), size).save(path, "PNG", compress_level=1)
    return path


def _write_thumbnail(picture: Path, out: Path) -> None:
    out.write_bytes(imaging.thumbnail_jpeg(imaging.open_picture(picture.read_bytes())))
