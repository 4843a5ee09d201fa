"""The bundled ffmpeg (from imageio-ffmpeg): running it off the event loop, and the small jobs
done on whole files — remuxing a fetched clip for chat apps, a first frame, shrinking to fit."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import tempfile
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

from core.errors import RenderError

log = logging.getLogger(__name__)


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped by imageio-ffmpeg (no system ffmpeg needed)."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


async def run_ffmpeg(args: list[str]) -> None:
    """Run ffmpeg without blocking the event loop; a failure becomes `RenderError`."""
    returncode, report = await ffmpeg_report(args)
    if returncode != 0:
        log.error("ffmpeg failed (%s): %s", returncode, report[-2000:])
        raise RenderError("the video could not be assembled")


async def ffmpeg_report(args: list[str]) -> tuple[int, str]:
    """Run ffmpeg; its exit code and what it wrote to stderr."""
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
    return process.returncode or 0, stderr.decode(errors="replace")


_FRAME_SIZE = re.compile(r"Stream #.*: Video: .*?, (\d{2,5})x(\d{2,5})")


async def remux_for_chat(data: bytes, out: Path, frame: tuple[int, int] | None = None) -> Path:
    """Store a fetched MP4 so chat apps play it inline as a video: `moov` first
    (`+faststart`), H.264 copied (anything else re-encoded to H.264 yuv420p), and an AAC track
    (silent if the clip has none: some apps show a soundless MP4 as a GIF). A clip of another
    size than `frame` is scaled to cover it and centre-cropped (never stretched). Atomic."""
    partial = out.with_name(f".{out.name}.partial.mp4")
    with tempfile.TemporaryDirectory(prefix="storybot-remux-") as tmp:
        source = Path(tmp) / "source.mp4"
        await asyncio.to_thread(source.write_bytes, data)
        _, report = await ffmpeg_report([ffmpeg_exe(), "-hide_banner", "-i", str(source)])
        inputs = ["-i", str(source)]
        if ": Audio:" in report:
            maps = ["-map", "0:v:0", "-map", "0:a:0", "-c:a", "copy"]
        else:
            inputs += ["-f", "lavfi", "-i", "anullsrc=r=24000:cl=mono"]
            maps = ["-map", "0:v:0", "-map", "1:a", "-c:a", "aac", "-b:a", "32k", "-shortest"]
        size = _FRAME_SIZE.search(report)
        width, height = frame or (0, 0)
        # A clip of another shape than the frame (16:9 for 16:10) is cropped to it; else kept.
        reframe = size is not None and width * int(size[2]) != height * int(size[1])
        if "Video: h264" in report and not reframe:
            video = ["-c:v", "copy"]
        else:
            video = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
        if reframe:
            video += ["-vf", f"scale={width}:{height}:force_original_aspect_ratio=increase"
                      f":flags=bicubic,crop={width}:{height},setsar=1"]  # fmt: skip
        await run_ffmpeg([
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *inputs,
            *maps, *video, "-movflags", "+faststart", str(partial),
        ])  # fmt: skip
    await asyncio.to_thread(os.replace, partial, out)
    return out


async def first_frame(video: Path) -> Image.Image:
    """The first frame of a video, as an RGB picture."""
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(video),
            "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    png, _ = await process.communicate()
    if process.returncode != 0 or not png:
        raise RenderError("the video could not be read")
    return Image.open(io.BytesIO(png)).convert("RGB")


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
