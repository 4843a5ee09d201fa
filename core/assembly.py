"""Assembly of a story video from its pictures and narrations: narration joined sample-exact,
scenes timed to it, captions, the MP4, its thumbnail and its `.srt`."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from core import audio, captions, imaging
from core.limits import PipelineLimits
from core.models import Speech, Story, StoryRequest, StoryVideo
from core.video import Cut, Timeline, assemble, probe_clip

log = logging.getLogger(__name__)


async def assemble_story(
    story: Story,
    request: StoryRequest,
    pictures: list[Path],
    speeches: list[Speech],
    workdir: Path,
    limits: PipelineLimits,
    clip_files: Sequence[Path | None] | None = None,
) -> StoryVideo:
    """Join the narrations, time every scene to its narration (clips fitted to it), caption
    it, and encode the MP4, its thumbnail and its `.srt`."""
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
    clips = [
        await probe_clip(path) if path is not None else None
        for path in (clip_files or [None] * len(pictures))
    ]
    video = await assemble(
        pictures, overlays, narration, workdir / "story.mp4", cut, limits.music,
        clips=clips, clip_audio=limits.clip_audio,
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


def _save_caption(text: str, size: tuple[int, int], path: Path) -> Path | None:
    overlay = captions.caption_overlay(text, size)
    if overlay is None:
        log.info("no caption font glyphs for %r; scene left uncaptioned", text[:40])
        return None
    overlay.save(path, "PNG", compress_level=1)
    return path


def save_fitted(data: bytes, size: tuple[int, int], path: Path) -> Path:
    """Decode a picture once, fit it to the frame and store it for ffmpeg."""
    # PNG at the lowest compression: written once, read once by ffmpeg.
    partial = path.with_name(f".{path.name}.partial")
    imaging.fit(imaging.open_picture(data), size).save(partial, "PNG", compress_level=1)
    os.replace(partial, path)
    return path


def _write_thumbnail(picture: Path, out: Path) -> None:
    out.write_bytes(imaging.thumbnail_jpeg(imaging.open_picture(picture.read_bytes())))
