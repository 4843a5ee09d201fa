"""Pipeline: story → pictures and narration (concurrently) → assembly; orchestration only.

Every finished step leaves a checkpoint file in the job's folder and is recorded in a `StepLog`,
so a re-run of the same job (a runner retry, a restart) skips what is already done.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from core import audio, captions, imaging
from core.config import Settings
from core.errors import ContentRejected, CoreError
from core.models import JobId, Speech, Story, StoryRequest, StoryVideo
from core.progress import (
    ProgressSink,
    ProviderWaiting,
    Stage,
    StageProgressed,
    StageStarted,
    set_waiting_reporter,
)
from core.providers import Providers
from core.safety import check_theme
from core.video import Cut, Timeline, assemble

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
    crossfade: bool = True
    music: Path | None = None  # a background bed, ducked under the narration

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelineLimits:
        """The limits configured by `STORYBOT_*` settings."""
        return cls(
            image_concurrency=settings.image_concurrency,
            tts_concurrency=settings.tts_concurrency,
            scene_pause_s=settings.scene_pause_s,
            fps=settings.fps,
            music=settings.music_path,
        )


class StepLog(Protocol):
    """Which steps of a job are finished (their checkpoint files are complete)."""

    def done(self, step: str) -> bool:
        """Whether `step` finished before."""
        ...

    async def mark(self, step: str) -> None:
        """Record that `step` finished."""
        ...


@dataclass
class MemorySteps:
    """A StepLog kept in memory: enough for a one-off run."""

    finished: set[str] = field(default_factory=set)

    def done(self, step: str) -> bool:
        """Whether `step` finished before."""
        return step in self.finished

    async def mark(self, step: str) -> None:
        """Record that `step` finished."""
        self.finished.add(step)


@dataclass
class _Run:
    """Everything one run of one job carries through the stages."""

    job_id: JobId
    request: StoryRequest
    workdir: Path
    sink: ProgressSink
    steps: StepLog
    notes: list[str] = field(default_factory=list)

    def path(self, name: str) -> Path:
        return self.workdir / name

    async def reuse(self, step: str, name: str) -> Path | None:
        """The checkpoint file of a finished step, if it is still there."""
        path = self.path(name)
        exists = await asyncio.to_thread(path.exists)
        return path if self.steps.done(step) and exists else None

    async def save(self, step: str, name: str, data: bytes) -> Path:
        """Write a checkpoint atomically, then record the step as finished."""
        path = self.path(name)
        await asyncio.to_thread(_write_atomic, path, data)
        await self.steps.mark(step)
        return path


class _Progress:
    """Turns finished items into StageProgressed events with a whole-job percent."""

    def __init__(self, run: _Run, scenes: int) -> None:
        self.run, self.scenes = run, scenes
        self.done = {Stage.PICTURES: 0, Stage.NARRATION: 0}

    def media_percent(self) -> int:
        units = self.done[Stage.PICTURES] * _PICTURE_WEIGHT + self.done[Stage.NARRATION]
        total = self.scenes * (_PICTURE_WEIGHT + 1)
        return _STORY_END + (_MEDIA_END - _STORY_END) * units // total

    async def item_done(self, stage: Stage) -> None:
        self.done[stage] += 1
        event = StageProgressed(
            self.run.job_id, stage, self.done[stage], self.scenes, self.media_percent()
        )
        await self.run.sink(event)


class Pipeline:
    """Makes one story video; emits typed progress events to a sink as it goes."""

    def __init__(self, providers: Providers, limits: PipelineLimits | None = None) -> None:
        self.providers = providers
        self.limits = limits or PipelineLimits()
        self._image_slots = asyncio.Semaphore(self.limits.image_concurrency)
        self._tts_slots = asyncio.Semaphore(self.limits.tts_concurrency)

    def writes(self, language: str) -> bool:
        """Whether the story writer can write `language` (front ends use the user's own)."""
        try:
            self.providers.writer.check_language(language)
        except CoreError:
            return False
        return True

    def validate(self, request: StoryRequest) -> None:
        """Refuse a request before any work: unfit theme, unsupported language, unknown voice."""
        check_theme(request.theme)
        self.providers.writer.check_language(request.language)
        self.providers.narrator.check_voice(request.voice, request.language)

    async def run(
        self,
        job_id: JobId,
        request: StoryRequest,
        workdir: Path,
        sink: ProgressSink,
        steps: StepLog | None = None,
    ) -> StoryVideo:
        """Run every stage not already in `steps`; raises `CoreError` on failure.

        The caller (the job runner) emits the job's final event: success, failure or cancel.
        """
        run = _Run(job_id, request, workdir, sink, steps if steps is not None else MemorySteps())

        async def waiting(provider: str, retry_in_s: float, reason: str) -> None:
            await sink(ProviderWaiting(job_id, provider, retry_in_s, reason))

        set_waiting_reporter(waiting)
        try:
            self.validate(request)
            await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
            story = await self._story(run)
            pictures, speeches = await self._media(run, story)
            result = await self._assemble(run, story, pictures, speeches)
        finally:
            set_waiting_reporter(None)
        return replace(result, notes=tuple(sorted(run.notes)))

    async def _story(self, run: _Run) -> Story:
        await run.sink(StageStarted(run.job_id, Stage.STORY, 1, 0))
        saved = await run.reuse("story", "story.json")
        if saved is not None:
            story = Story.model_validate_json(await asyncio.to_thread(saved.read_bytes))
        else:
            story = await self.providers.writer.write(run.request)
            await run.save("story", "story.json", story.model_dump_json(indent=2).encode())
        await run.sink(StageProgressed(run.job_id, Stage.STORY, 1, 1, _STORY_END))
        return story

    async def _media(self, run: _Run, story: Story) -> tuple[list[Path], list[Speech]]:
        count = len(story.scenes)
        progress = _Progress(run, count)
        pictures: list[Path | None] = [None] * count
        speeches: list[Speech | None] = [None] * count
        loop = asyncio.get_running_loop()
        drawn: list[asyncio.Future[bytes]] = [loop.create_future() for _ in range(count)]

        async def draw(index: int, reference: bytes | None) -> bytes:
            step, stem = f"picture:{index + 1}", f"scene_{index + 1:02d}"
            saved = await run.reuse(step, f"{stem}.png")
            original = await run.reuse(step, f"{stem}.source")
            if saved is not None and original is not None:
                data = await asyncio.to_thread(original.read_bytes)
            else:
                data = await self._picture(run, story, index, reference, drawn)
                saved = await asyncio.to_thread(
                    save_fitted, data, run.request.aspect.size, run.path(f"{stem}.png")
                )
                await run.save(step, f"{stem}.source", data)  # marks the step: both files exist
            drawn[index].set_result(data)
            pictures[index] = saved
            await progress.item_done(Stage.PICTURES)
            return data

        async def draw_all() -> None:
            # Scene 1 first: its picture is the reference that keeps characters the same.
            first = await draw(0, None)
            async with asyncio.TaskGroup() as group:
                for index in range(1, count):
                    group.create_task(draw(index, first))

        async def speak(index: int) -> None:
            step, name = f"narration:{index + 1}", f"scene_{index + 1:02d}.wav"
            saved = await run.reuse(step, name)
            if saved is not None:
                speech = audio.from_wav(await asyncio.to_thread(saved.read_bytes))
            else:
                async with self._tts_slots:
                    speech = await self.providers.narrator.speak(
                        story.scenes[index].narration,
                        voice=run.request.voice,
                        language=run.request.language,
                    )
                await run.save(step, name, audio.to_wav(speech))
            speeches[index] = speech
            await progress.item_done(Stage.NARRATION)

        percent = progress.media_percent()
        await run.sink(StageStarted(run.job_id, Stage.PICTURES, count, percent))
        await run.sink(StageStarted(run.job_id, Stage.NARRATION, count, percent))
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
        run: _Run,
        story: Story,
        index: int,
        reference: bytes | None,
        drawn: list[asyncio.Future[bytes]],
    ) -> bytes:
        """Draw one scene; a blocked picture is rephrased once, then the previous one is reused."""
        scene = story.scenes[index]
        for attempt in range(2):
            try:
                async with self._image_slots:
                    return await self.providers.illustrator.draw(
                        scene, style=story.style, aspect=run.request.aspect, reference=reference
                    )
            except ContentRejected:
                if attempt == 0:
                    log.info("scene %d picture blocked; rephrasing", index + 1)
                    scene = await self.providers.writer.soften(scene)
        if index == 0:
            raise ContentRejected(
                "the first picture was blocked by the safety filter twice; try another theme"
            )
        run.notes.append(
            f"Scene {index + 1}'s picture was blocked by a safety filter, "
            "so it shows the previous picture."
        )
        return await drawn[index - 1]

    async def _assemble(
        self, run: _Run, story: Story, pictures: list[Path], speeches: list[Speech]
    ) -> StoryVideo:
        await run.sink(StageStarted(run.job_id, Stage.ASSEMBLY, 1, _MEDIA_END))
        result = await assemble_story(
            story, run.request, pictures, speeches, run.workdir, self.limits
        )
        await run.sink(StageProgressed(run.job_id, Stage.ASSEMBLY, 1, 1, 100))
        return result


async def assemble_story(
    story: Story,
    request: StoryRequest,
    pictures: list[Path],
    speeches: list[Speech],
    workdir: Path,
    limits: PipelineLimits,
) -> StoryVideo:
    """Join the narrations, time every scene to its narration, caption it, and encode the MP4,
    its thumbnail and its `.srt`."""
    joined, lengths = audio.join(speeches, limits.scene_pause_s)
    narration = workdir / "narration.wav"
    await asyncio.to_thread(narration.write_bytes, audio.to_wav(joined))
    timeline = Timeline.from_samples(lengths, joined.sample_rate, limits.fps)
    size = request.aspect.size
    starts = [sum(lengths[:k]) / joined.sample_rate for k in range(len(lengths))]
    cues = [
        (start, start + speech.duration_s, scene.narration)
        for start, speech, scene in zip(starts, speeches, story.scenes, strict=True)
    ]
    subtitles = workdir / "story.srt"
    await asyncio.to_thread(subtitles.write_text, captions.srt(cues), "utf-8")
    overlays: list[Path | None] = [None] * len(pictures)
    if request.captions:
        overlays = await asyncio.gather(
            *(
                asyncio.to_thread(
                    _save_caption, scene.narration, size, workdir / f"caption_{i:02d}.png"
                )
                for i, scene in enumerate(story.scenes, start=1)
            )
        )
    crossfade = int(limits.scene_pause_s * limits.fps * 0.75) if limits.crossfade else 0
    cut = Cut(timeline, size, crossfade_frames=min(crossfade, min(timeline.scene_frames) - 1))
    video = await assemble(pictures, overlays, narration, workdir / "story.mp4", cut, limits.music)
    thumbnail = workdir / "story.jpg"
    await asyncio.to_thread(_write_thumbnail, pictures[0], thumbnail)
    width, height = size
    return StoryVideo(
        video=video,
        thumbnail=thumbnail,
        duration_s=timeline.total_s,
        width=width,
        height=height,
        story=story,
        scene_starts_s=timeline.starts_s,
        subtitles=subtitles,
    )


def _save_caption(text: str, size: tuple[int, int], path: Path) -> Path | None:
    overlay = captions.caption_overlay(text, size)
    if overlay is None:
        log.info("no caption font glyphs for %r; scene left uncaptioned", text[:40])
        return None
    overlay.save(path, "PNG", compress_level=1)
    return path


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error inside (nested) task-group errors: that is what users see."""
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def save_fitted(data: bytes, size: tuple[int, int], path: Path) -> Path:
    """Decode a picture once, fit it to the frame and store it for ffmpeg."""
    # PNG at the lowest compression: written once, read once by ffmpeg.
    partial = path.with_name(f".{path.name}.partial")
    imaging.fit(imaging.open_picture(data), size).save(partial, "PNG", compress_level=1)
    os.replace(partial, path)
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _write_thumbnail(picture: Path, out: Path) -> None:
    out.write_bytes(imaging.thumbnail_jpeg(imaging.open_picture(picture.read_bytes())))
