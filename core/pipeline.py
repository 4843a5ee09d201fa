"""Pipeline: story → pictures and narration (concurrently) → clips, when animated → assembly;
and video jobs (core/clips.py). Orchestration only.

Every finished step leaves a checkpoint file in the job's folder and is recorded in a `StepLog`,
so a re-run of the same job (a runner retry, a restart) skips what is already done.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.assembly import assemble_story, cores, save_fitted
from core.casting import NARRATOR_FALLBACK, cast_problem, cast_voices, narrated
from core.clips import VideoJob, run_operation
from core.errors import ContentRejected, CoreError
from core.hero_stage import CastStart, cast_start, check_designer, titled
from core.limits import PipelineLimits
from core.models import (
    ClipRequest,
    JobId,
    Speech,
    Story,
    StoryRequest,
    StoryVideo,
    VideoClips,
    VideoRequest,
)
from core.narration import Narration, SceneSpeech
from core.progress import (
    ClipPhase,
    ProgressSink,
    ProviderWaiting,
    SceneAnimating,
    Stage,
    StageProgressed,
    StageStarted,
    set_waiting_reporter,
)
from core.providers import Illustrator, Providers
from core.safety import check_theme
from core.stage_meter import MEDIA_END, STORY_END, StageMeter
from core.steps import JobFiles, MemorySteps, StepLog, write_atomic
from core.storyboard import Drafted, Storyboard
from core.voicing import VoiceMode

log = logging.getLogger(__name__)

# Added to every clip prompt: story scenes want gentle motion, not action.
_CLIP_DIRECTION = (
    "Gentle, slow motion: the characters move a little, the camera drifts slowly. "
    "Keep the picture's characters, colours and style."
)


@dataclass
class _Run(JobFiles):
    """Everything one run of one story job carries through the stages."""

    request: StoryRequest = field(kw_only=True)
    sink: ProgressSink = field(kw_only=True)
    notes: list[str] = field(default_factory=list)


class Pipeline:
    """Makes one story video; emits typed progress events to a sink as it goes."""

    def __init__(self, providers: Providers, limits: PipelineLimits | None = None) -> None:
        self.providers = providers
        self.limits = limits or PipelineLimits()
        self._image_slots = asyncio.Semaphore(self.limits.image_concurrency)
        self.narration = Narration(providers, asyncio.Semaphore(self.limits.tts_concurrency))
        self._clip_slots = asyncio.Semaphore(self.limits.video_concurrency)
        self._encoder_slots = asyncio.Semaphore(cores())  # ffmpeg encoders, for every job
        self.videos = VideoJob(providers.animator, self.limits.video_deadline_s)

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
        check_designer(request, self.providers.designer)
        self.providers.writer.check_language(request.language)
        cast = self.providers.cast_narrator
        if request.voices is VoiceMode.CAST and cast is not None:
            cast.check_voice(request.voice, request.language)  # the narrator's, in the cast
        else:
            self.providers.narrator.check_voice(request.voice, request.language)

    async def run(
        self,
        job_id: JobId,
        request: StoryRequest,
        workdir: Path,
        sink: ProgressSink,
        steps: StepLog | None = None,
        board: Storyboard | None = None,
    ) -> StoryVideo | Drafted:
        """Run every stage not already in `steps`; raises `CoreError` on failure. A preview
        story stops after its pictures (`Drafted`) until its storyboard `board` is approved;
        the board's edited lines and redraw hints apply to the story.

        The caller (the job runner) emits the job's final event: success, failure or cancel.
        """
        run = _Run(
            job_id, workdir, steps if steps is not None else MemorySteps(),
            request=request, sink=sink,
        )  # fmt: skip
        with _waits_reported(job_id, sink):
            self.validate(request)
            await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
            start = await cast_start(run, request, self.providers.designer)
            story = await self._story(run, start)
            if board is not None:
                story = board.applied(story)
            progress = StageMeter(job_id, sink, len(story.scenes), animate=request.animate)
            if request.preview and not (board is not None and board.approved):
                await self._media(run, story, progress, start.reference, speak=False)
                return Drafted(story)  # narration and the rest wait for the user's approval
            pictures, spoken = await self._media(run, story, progress, start.reference)
            speeches = [scene.speech for scene in spoken]
            clips = await self._animate(run, story, pictures, speeches, progress)
            result = await self._assemble(run, story, pictures, spoken, clips)
        if request.voices is VoiceMode.CAST and not any(s.lines for s in story.scenes):
            run.notes.append(NARRATOR_FALLBACK)
        return result.model_copy(update={"notes": tuple(sorted(run.notes))})

    async def make_video(
        self,
        job_id: JobId,
        request: VideoRequest,
        workdir: Path,
        sink: ProgressSink,
        steps: StepLog | None = None,
    ) -> VideoClips:
        """Run a video job (a prompt to clips); raises `CoreError` on failure."""
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        files = JobFiles(job_id, workdir, steps if steps is not None else MemorySteps())
        with _waits_reported(job_id, sink):
            async with self._clip_slots:
                return await self.videos.run(job_id, request, files, sink)

    async def _story(self, run: _Run, start: CastStart) -> Story:
        await run.sink(StageStarted(run.job_id, Stage.STORY, 1, 0))
        saved = await run.reuse("story", "story.json")
        if saved is not None:
            story = Story.model_validate_json(await asyncio.to_thread(saved.read_bytes))
        else:
            story = titled(await self.providers.writer.write(run.request, start.hero), run.request)
            if run.request.voices is VoiceMode.CAST:
                story = self._cast(story, run.request)
            await run.save("story", "story.json", story.model_dump_json(indent=2).encode())
        await run.sink(StageProgressed(run.job_id, Stage.STORY, 1, 1, STORY_END))
        return story

    def _cast(self, story: Story, request: StoryRequest) -> Story:
        """A voice for every speaker, or one narrator if the lines cannot be cast."""
        narrator = self.providers.cast_narrator
        if narrator is None or cast_problem(story) is not None:
            return narrated(story)
        kept = request.sequel.voices if request.sequel is not None else None
        return cast_voices(
            story, narrator, language=request.language, narrator_voice=request.voice, kept=kept
        )

    async def _media(
        self,
        run: _Run,
        story: Story,
        progress: StageMeter,
        reference: bytes | None,
        *,
        speak: bool = True,
    ) -> tuple[list[Path], list[SceneSpeech]]:
        count = len(story.scenes)
        pictures: list[Path | None] = [None] * count
        speeches: list[SceneSpeech | None] = [None] * count
        loop = asyncio.get_running_loop()
        drawn: list[asyncio.Future[bytes]] = [loop.create_future() for _ in range(count)]
        providers = self.providers
        painter = (reference and providers.cast_illustrator) or providers.illustrator

        async def draw(index: int, reference: bytes | None) -> bytes:
            step, stem = f"picture:{index + 1}", f"scene_{index + 1:02d}"
            saved = await run.reuse(step, f"{stem}.png")
            original = await run.reuse(step, f"{stem}.source")
            if saved is not None and original is not None:
                data = await asyncio.to_thread(original.read_bytes)
            else:
                data = await self._picture(run, story, index, reference, drawn, painter)
                saved = await asyncio.to_thread(
                    save_fitted, data, run.request.aspect.size, run.path(f"{stem}.png")
                )
                await run.save(step, f"{stem}.source", data)  # marks the step: both files exist
            drawn[index].set_result(data)
            pictures[index] = saved
            await progress.item_done(Stage.PICTURES)
            return data

        async def draw_all() -> None:
            # The cast's picture keeps characters the same; without one, scene 1's does.
            first = reference if reference is not None else await draw(0, None)
            async with asyncio.TaskGroup() as group:
                for index in range(0 if reference is not None else 1, count):
                    group.create_task(draw(index, first))

        async def narrate(index: int) -> None:
            speeches[index] = await self.narration.scene(run, story, run.request, index)
            await progress.item_done(Stage.NARRATION)

        percent = progress.media_percent()
        await run.sink(StageStarted(run.job_id, Stage.PICTURES, count, percent))
        if speak:
            await run.sink(StageStarted(run.job_id, Stage.NARRATION, count, percent))
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(draw_all())
                for index in range(count if speak else 0):
                    group.create_task(narrate(index))
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
        painter: Illustrator,
    ) -> bytes:
        """Draw one scene; a blocked picture is rephrased once, then the previous one is reused."""
        scene = story.scenes[index]
        for attempt in range(2):
            try:
                async with self._image_slots:
                    return await painter.draw(
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

    async def _animate(
        self,
        run: _Run,
        story: Story,
        pictures: list[Path],
        speeches: list[Speech],
        progress: StageMeter,
    ) -> list[Path | None]:
        """Animate every scene at once (within the clip bound); a scene whose clip fails,
        is filtered or runs out of time keeps its still picture."""
        count = len(story.scenes)
        animator = self.providers.animator
        if not run.request.animate or animator is None:
            if run.request.animate:
                run.notes.append("This back end cannot animate, so every scene is a still.")
            return [None] * count
        await run.sink(StageStarted(run.job_id, Stage.ANIMATION, count, progress.media_end))

        async def one(index: int) -> tuple[Path | None, str]:
            clip = await self._clip(run, story, index, pictures[index], speeches[index], progress)
            await progress.item_done(Stage.ANIMATION)
            percent = progress.animation_percent()
            done = SceneAnimating(run.job_id, index + 1, count, ClipPhase.DONE, 0.0, percent)
            await run.sink(done)
            return clip

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(index)) for index in range(count)]
        except BaseExceptionGroup as group_error:
            raise _first_leaf(group_error) from None
        clips = [task.result()[0] for task in tasks]
        reasons = Counter(reason for _, reason in (task.result() for task in tasks) if reason)
        if reasons:
            why = reasons.most_common(1)[0][0]
            run.notes.append(
                f"{reasons.total()} of {count} scenes could not be animated ({why}) "
                "and show their picture."
            )
        return clips

    async def _clip(
        self,
        run: _Run,
        story: Story,
        index: int,
        picture: Path,
        speech: Speech,
        progress: StageMeter,
    ) -> tuple[Path | None, str]:
        """One scene's clip, or why it has none, from its checkpoints where they exist: a
        finished outcome, or a started operation (polled again rather than paid for twice)."""
        assert self.providers.animator is not None
        animator = self.providers.animator
        stem = f"scene_{index + 1:02d}"
        clip_path = run.path(f"{stem}.clip.mp4")
        outcome = await run.reuse(f"clip:{index + 1}", f"{stem}.clip.json")
        if outcome is not None:
            saved = json.loads(await asyncio.to_thread(outcome.read_text))
            return (clip_path if saved["animated"] else None), str(saved["reason"])
        scene, count = story.scenes[index], len(story.scenes)
        request = ClipRequest(
            prompt=f"{story.style.prompt}. {scene.image_prompt}. {_CLIP_DIRECTION}",
            aspect=run.request.aspect,
            duration_s=speech.duration_s + self.limits.scene_pause_s,
            image=await asyncio.to_thread(picture.read_bytes),
            negative_prompt=self.limits.negative_prompt,
            sound=self.limits.clip_audio,  # dropped anyway unless it is mixed in
        )
        reason = ""

        async def report(phase: ClipPhase, elapsed: float) -> None:
            percent = progress.animation_percent()
            await run.sink(SceneAnimating(run.job_id, index + 1, count, phase, elapsed, percent))

        try:
            async with self._clip_slots:
                videos = await run_operation(
                    animator, run, stem, request,
                    deadline_s=self.limits.video_deadline_s, report=report,
                )  # fmt: skip
            await asyncio.to_thread(write_atomic, clip_path, videos[0])
        except TimeoutError:
            reason = f"no clip within {self.limits.video_deadline_s:g} s"
        except CoreError as exc:
            reason = exc.message
        if reason:
            log.info("scene %d stays a still: %s", index + 1, reason)
        record = {"animated": not reason, "reason": reason, "animator": animator.name}
        await run.save(f"clip:{index + 1}", f"{stem}.clip.json", json.dumps(record).encode())
        return (None if reason else clip_path), reason

    async def _assemble(
        self,
        run: _Run,
        story: Story,
        pictures: list[Path],
        spoken: list[SceneSpeech],
        clips: list[Path | None],
    ) -> StoryVideo:
        await run.sink(StageStarted(run.job_id, Stage.ASSEMBLY, 1, MEDIA_END))
        result = await assemble_story(
            story, run.request, pictures, spoken, run.workdir, self.limits, clips,
            self._encoder_slots,
        )  # fmt: skip
        await run.sink(StageProgressed(run.job_id, Stage.ASSEMBLY, 1, 1, 100))
        return result


@contextlib.contextmanager
def _waits_reported(job_id: JobId, sink: ProgressSink) -> Iterator[None]:
    """Within: a provider's retry loop tells the job's sink why nothing moves."""

    async def waiting(provider: str, retry_in_s: float, reason: str) -> None:
        await sink(ProviderWaiting(job_id, provider, retry_in_s, reason))

    set_waiting_reporter(waiting)
    try:
        yield
    finally:
        set_waiting_reporter(None)


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error inside (nested) task-group errors: that is what users see."""
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
