"""Video assembly: one ffmpeg run turns fitted stills and joined narration into an MP4."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg

from core.errors import RenderError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Where each scene starts and ends, in frames, from sample-exact narration lengths."""

    fps: int
    scene_frames: tuple[int, ...]  # frames per scene; sums to the video's frame count
    total_s: float  # exact audio length; the video is cut to it

    @classmethod
    def from_samples(cls, scene_samples: Sequence[int], sample_rate: int, fps: int) -> Timeline:
        """Frame counts by cumulative rounding, so picture changes never drift from the audio."""
        frames: list[int] = []
        elapsed = 0
        previous_frame = 0
        for samples in scene_samples:
            elapsed += samples
            boundary = round(elapsed * fps / sample_rate)
            frames.append(boundary - previous_frame)
            previous_frame = boundary
        return cls(fps, tuple(frames), elapsed / sample_rate)

    @property
    def starts_s(self) -> tuple[float, ...]:
        """Each scene's start time in seconds (on the frame grid)."""
        starts, frame = [], 0
        for count in self.scene_frames:
            starts.append(frame / self.fps)
            frame += count
        return tuple(starts)


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped by imageio-ffmpeg (no system ffmpeg needed)."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def concat_script(pictures: Sequence[Path], timeline: Timeline) -> str:
    """An ffconcat script that shows each picture for its scene's frames.

    `framerate 1000` gives the stills a millisecond time base (the default 1/25 s would round
    every scene change); the last picture is listed twice so its duration is honoured.
    """
    lines = ["ffconcat version 1.0"]
    for picture, frames in zip(pictures, timeline.scene_frames, strict=True):
        lines += [
            f"file '{picture.name}'",
            "option framerate 1000",
            f"duration {frames / timeline.fps:.6f}",
        ]
    lines += [f"file '{pictures[-1].name}'", "option framerate 1000"]
    return "\n".join(lines) + "\n"


def build_ffmpeg_args(concat: Path, audio: Path, out: Path, timeline: Timeline) -> list[str]:
    """Arguments for the one ffmpeg run: H.264 yuv420p + AAC (encoded once), faststart."""
    return [
        ffmpeg_exe(),
        "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", str(concat),
        "-i", str(audio),
        "-map", "0:v:0", "-map", "1:a:0",
        "-vf", f"fps={timeline.fps},format=yuv420p",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "22", "-tune", "stillimage",
        "-profile:v", "high", "-r", str(timeline.fps),
        "-c:a", "aac", "-b:a", "96k", "-ac", "1",
        "-t", f"{timeline.total_s:.6f}",
        "-movflags", "+faststart",
        str(out),
    ]  # fmt: skip


async def run_ffmpeg(args: list[str]) -> None:
    """Run ffmpeg without blocking the event loop; a failure becomes `RenderError`."""
    process = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, stderr = await process.communicate()
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        log.error(
            "ffmpeg failed (%s): %s", process.returncode, stderr.decode(errors="replace")[-2000:]
        )
        raise RenderError("the video could not be assembled")


async def assemble(pictures: Sequence[Path], audio: Path, out: Path, timeline: Timeline) -> Path:
    """Encode `pictures` (already fitted to the frame) over `audio` into `out`, atomically."""
    if len(pictures) != len(timeline.scene_frames):
        raise RenderError("every scene needs a picture")
    workdir = pictures[0].parent
    concat = workdir / "pictures.ffconcat"
    concat.write_text(concat_script(pictures, timeline))
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    await run_ffmpeg(build_ffmpeg_args(concat, audio, partial, timeline))
    os.replace(partial, out)
    return out


async def shrink_to_fit(
    video: Path, out: Path, *, limit_bytes: int, duration_s: float, size: tuple[int, int]
) -> Path:
    """Re-encode `video` to at most `limit_bytes`: lower bitrate first, then lower resolution.

    Shared by the chat front ends for their upload limits; raises `RenderError` if even the
    smallest rendition does not fit. The result stays chat-playable (H.264 yuv420p, AAC,
    faststart).
    """
    if await _size(video) <= limit_bytes:
        return video
    audio_bps = 48_000
    budget_bps = limit_bytes * 8 * 0.92 / max(duration_s, 0.1)  # 8 % for the container
    width, height = size
    for scale, share in ((1.0, 1.0), (1.0, 0.8), (0.75, 0.8), (0.5, 0.8), (0.5, 0.6)):
        video_bps = int((budget_bps - audio_bps) * share)
        if video_bps < 50_000:
            break
        w, h = _even(width * scale), _even(height * scale)
        args = [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-i", str(video), "-vf", f"scale={w}:{h},format=yuv420p",
            "-c:v", "libx264", "-preset", "veryfast", "-b:v", str(video_bps),
            "-maxrate", str(video_bps), "-bufsize", str(video_bps * 2),
            "-c:a", "aac", "-b:a", str(audio_bps), "-ac", "1",
            "-movflags", "+faststart", str(out),
        ]  # fmt: skip
        await run_ffmpeg(args)
        if (shrunk := await _size(out)) <= limit_bytes:
            log.info("shrunk %s to %d bytes at %dx%d", video.name, shrunk, w, h)
            return out
    raise RenderError(
        f"the video is too large to send here, even at a lower quality "
        f"(the limit is {limit_bytes / 1e6:.0f} MB)"
    )


async def _size(path: Path) -> int:
    return await asyncio.to_thread(os.path.getsize, path)


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)
