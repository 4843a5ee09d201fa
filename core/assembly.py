"""Assembly of a story video from its pictures and narrations: narration joined sample-exact,
scenes timed to it, captions, the MP4 (its segments encoded side by side, one run per core, the
sound beside them, then one join that copies both), its thumbnail and its `.srt`."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from core import audio, captions, imaging
from core.captions import CaptionText, Colour
from core.clip_fit import Clip, probe_clip
from core.errors import RenderError
from core.ffmpeg import run_ffmpeg
from core.limits import PipelineLimits
from core.models import Scene, Story, StoryRequest, StoryVideo
from core.narration import SceneSpeech
from core.scene_graph import SceneInputs, build_segment_args
from core.soundtrack import build_join_args, build_soundtrack_args
from core.video import Caption, Cut, Timeline

log = logging.getLogger(__name__)


async def assemble_story(
    story: Story,
    request: StoryRequest,
    pictures: list[Path],
    spoken: list[SceneSpeech],
    workdir: Path,
    limits: PipelineLimits,
    clip_files: Sequence[Path | None] | None = None,
    encoders: asyncio.Semaphore | None = None,
) -> StoryVideo:
    """Join the narrations, time every scene to its narration (clips fitted to it), caption
    it, and encode the MP4, its thumbnail and its `.srt`; `encoders` bounds the segment runs
    of every job at once (one per core if not given)."""
    speeches = [scene.speech for scene in spoken]
    joined, lengths = audio.join(speeches, limits.scene_pause_s)
    narration = workdir / "narration.wav"
    await asyncio.to_thread(narration.write_bytes, audio.to_wav(joined))
    timeline = Timeline.from_samples(lengths, joined.sample_rate, limits.fps)
    size = request.aspect.size
    starts = [sum(lengths[:k]) / joined.sample_rate for k in range(len(lengths))]
    cues = [
        cue
        for start, said, scene in zip(starts, spoken, story.scenes, strict=True)
        for cue in _cues(scene, said, start)
    ]
    subtitles = workdir / "story.srt"
    await asyncio.to_thread(subtitles.write_text, captions.srt(cues), "utf-8")
    overlays: list[Caption | None] = [None] * len(pictures)
    colours = captions.speaker_colours(story.voices)
    if request.captions:
        # One thread, one after another: ~15 ms each, and no per-thread heap kept afterwards.
        overlays = await asyncio.to_thread(
            lambda: [
                _save_caption(_shown(scene, colours), size, workdir / f"caption_{i:02d}.png")
                for i, scene in enumerate(story.scenes, start=1)
            ]
        )
    crossfade = int(limits.scene_pause_s * limits.fps * 0.75) if limits.crossfade else 0
    cut = Cut(timeline, size, crossfade_frames=min(crossfade, min(timeline.scene_frames) - 1))
    clips = [
        await probe_clip(path) if path is not None else None
        for path in (clip_files or [None] * len(pictures))
    ]
    video = await assemble(
        pictures, overlays, narration, workdir / "story.mp4", cut, limits.music,
        clips=clips, clip_audio=limits.clip_audio, encoders=encoders,
    )  # fmt: skip
    thumbnail = workdir / "story.jpg"
    await asyncio.to_thread(_write_thumbnail, pictures[0], thumbnail)
    width, height = size
    return StoryVideo(
        video=video.name,
        thumbnail=thumbnail.name,
        duration_s=timeline.total_s,
        width=width,
        height=height,
        story=story,
        scene_starts_s=timeline.starts_s,
        subtitles=subtitles.name,
        animated=sum(clip is not None for clip in clips),
    )


def _cues(scene: Scene, said: SceneSpeech, start: float) -> list[tuple[float, float, str]]:
    """The scene's subtitles: its narration, or one cue per line of a cast (`Fox: Hello!`)."""
    if scene.lines and len(said.lines) == len(scene.lines):
        return [
            (start + begin, start + end, line.caption)
            for line, (begin, end) in zip(scene.lines, said.lines, strict=True)
        ]
    return [(start, start + said.speech.duration_s, scene.narration)]


def _shown(scene: Scene, colours: dict[str, Colour]) -> CaptionText:
    """What the scene's caption shows: its narration, or each line with its speaker's name in
    the speaker's colour."""
    if not scene.lines:
        return scene.narration
    return [
        captions.Said(None if line.by_narrator else line.speaker, line.text,
                      colours.get(line.speaker))
        for line in scene.lines
    ]  # fmt: skip


def _save_caption(text: CaptionText, size: tuple[int, int], path: Path) -> Caption | None:
    """The caption's band, cut out of its frame-sized overlay (corner on even pixels)."""
    overlay = captions.caption_overlay(text, size)
    if overlay is None:
        log.info("no caption font glyphs; scene left uncaptioned")
        return None
    box = overlay.getchannel("A").getbbox()
    if box is None:
        return None
    left, top = box[0] - box[0] % 2, box[1] - box[1] % 2
    overlay.crop((left, top, box[2], box[3])).save(path, "PNG", compress_level=1)
    return Caption(path, left, top)


def save_fitted(data: bytes, size: tuple[int, int], path: Path) -> Path:
    """Decode a picture once, fit it to the frame and store it for ffmpeg."""
    # PNG at the lowest compression: written once, read once by ffmpeg.
    partial = path.with_name(f".{path.name}.partial")
    imaging.fit(imaging.open_picture(data), size).save(partial, "PNG", compress_level=1)
    os.replace(partial, path)
    return path


def _write_thumbnail(picture: Path, out: Path) -> None:
    out.write_bytes(imaging.thumbnail_jpeg(imaging.open_picture(picture.read_bytes())))


def cores() -> int:
    """The cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


async def assemble(
    pictures: Sequence[Path],
    captions: Sequence[Caption | None],
    audio: Path,
    out: Path,
    cut: Cut,
    music: Path | None = None,
    clips: Sequence[Clip | None] | None = None,
    clip_audio: bool = False,
    encoders: asyncio.Semaphore | None = None,
) -> Path:
    """Encode the story video into `out`, atomically.

    One ffmpeg run per segment (the crossfade into a scene, then the scene), one per core at a
    time with one x264 thread each: on two cores as fast as two runs of several scenes and
    faster than one frame-threaded run (bench/assembly.py), while each run holds at most two
    pictures. The sound is encoded in a run of its own; a last run copies both into the MP4.
    Jobs assembling at once share `encoders`, so a worker never runs more ffmpeg encoders
    than it has cores, whatever the number of jobs.

    A scene with a clip in `clips` shows the clip instead of its picture; the clips' own sound
    is mixed in only with `clip_audio`."""
    if len(pictures) != cut.count or len(captions) != cut.count:
        raise RenderError("every scene needs a picture")
    if clips is not None and len(clips) != cut.count:
        raise RenderError("the animated scenes do not match the story")
    shown = clips or [None] * cut.count
    scenes = [SceneInputs(*inputs) for inputs in zip(pictures, captions, shown, strict=True)]
    _log_clips(scenes, cut)
    slots = min(cores(), cut.count)
    workdir = out.parent
    segments = [workdir / f".segment_{scene:02d}.mp4" for scene in range(cut.count)]
    sound = workdir / ".sound.m4a"
    listing = workdir / ".segments.ffconcat"
    running = encoders or asyncio.Semaphore(slots)

    async def encode(args: list[str]) -> None:
        async with running:
            await run_ffmpeg(args)

    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    try:
        async with asyncio.TaskGroup() as group:  # one failure stops the others
            # The sound first, then the longest segments, so the runs end close together;
            # never more runs at once than `running` allows (the sound is one of them).
            sound_args = build_soundtrack_args(audio, sound, cut, music, clips, clip_audio)
            group.create_task(encode(sound_args))
            threads = cores() // slots  # one x264 thread per run; a lone run gets every core
            for scene in sorted(range(cut.count), key=lambda k: -cut.segment_length(k)):
                args = build_segment_args(scene, scenes, cut, segments[scene], threads)
                group.create_task(encode(args))
        lines = ["ffconcat version 1.0", *(f"file '{path.name}'" for path in segments)]
        await asyncio.to_thread(listing.write_text, "\n".join(lines) + "\n")
        await run_ffmpeg(build_join_args(listing, sound, partial, cut))
        await asyncio.to_thread(os.replace, partial, out)
    except* RenderError as failed:
        raise failed.exceptions[0] from None
    finally:
        for leftover in (*segments, sound, listing, partial):
            await asyncio.to_thread(leftover.unlink, True)
    return out


def _log_clips(scenes: Sequence[SceneInputs], cut: Cut) -> None:
    for index, scene in enumerate(scenes):
        if scene.clip is not None:
            factor, hold = scene.clip.fitting(cut.scene_length(index) / cut.timeline.fps)
            log.info(
                "scene %d: a %.2f s clip, slowed %.2fx%s", index + 1, scene.clip.duration_s,
                factor, ", then held" if hold else "",
            )  # fmt: skip
