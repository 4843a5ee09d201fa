"""Offline animation: a short clip made locally from a scene's picture, with no model."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from core.ffmpeg import ffmpeg_exe, run_ffmpeg
from core.imaging import fit, open_picture
from core.models import ClipRequest, Scene, Style
from core.progress import ClipPhase
from core.providers.offline.art import render_png

# Shorter than any narrated scene on purpose: the video assembly slows and holds it.
OFFLINE_CLIP_S = 3.0


def _camera(size: tuple[int, int], frames: int, fps: int, variant: int = 0) -> str:
    """A smooth push-in with a sideways drift (rightwards, or leftwards for odd `variant`s)
    and a slight rise, eased in and out."""
    width, height = size
    progress = f"(on/{max(frames - 1, 1)})"
    # Half linear, half smoothstep: the camera eases in and out, unlike a Ken Burns ramp, but
    # never stops, since a near-still crop steps by whole pixels and would stall, then jump.
    ease = f"(0.5*{progress}+0.5*(3*pow({progress},2)-2*pow({progress},3)))"
    pan = f"0.75-0.5*{ease}" if variant % 2 else f"0.25+0.5*{ease}"
    return (
        # 1.5x first: the crop then moves in steps of 2/3 output pixel, so motion does not jitter.
        f"format=yuv420p,scale={width * 3 // 2}:{height * 3 // 2}:flags=bicubic,"
        f"zoompan=z='1.04+0.16*{ease}'"
        f":x='(iw-iw/zoom)*({pan})'"
        f":y='(ih-ih/zoom)*(0.6-0.2*{ease})'"
        f":d={frames}:s={width}x{height}:fps={fps},setsar=1"
    )


async def render_clip(
    picture: bytes,
    size: tuple[int, int],
    *,
    duration_s: float = OFFLINE_CLIP_S,
    fps: int = 24,
    variant: int = 0,
) -> bytes:
    """An H.264 MP4 (yuv420p, no sound, +faststart) of `picture` (PNG or JPEG, any size)
    fitted to `size` (even sides) with a gentle camera move, `duration_s` long."""
    image = await asyncio.to_thread(lambda: fit(open_picture(picture), size))
    frames = max(1, round(duration_s * fps))
    workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="storybot-clip-"))
    try:
        still, clip = workdir / "still.png", workdir / "clip.mp4"
        await asyncio.to_thread(image.save, still, "PNG", compress_level=1)
        await run_ffmpeg(
            [
                ffmpeg_exe(),
                "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                "-i", str(still),  # one frame, decoded once; zoompan makes the rest
                "-vf", _camera(size, frames, fps, variant),
                "-an", "-c:v", "libx264", "-preset", "superfast", "-crf", "23",
                "-profile:v", "high", "-pix_fmt", "yuv420p",
                "-r", str(fps), "-frames:v", str(frames), "-movflags", "+faststart",
                str(clip),
            ]
        )  # fmt: skip
        return await asyncio.to_thread(clip.read_bytes)
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)


class OfflineAnimator:
    """Animates without a model: each clip is a local camera move over the first frame,
    always `OFFLINE_CLIP_S` long, so it exercises the same fitting as a real clip."""

    name = "offline"
    model = "offline camera move"

    def clip_length(self, wanted_s: float) -> float:
        """Always `OFFLINE_CLIP_S`."""
        return OFFLINE_CLIP_S

    async def start(self, request: ClipRequest) -> str:
        """Nothing remote to start: a local name."""
        return f"offline/{uuid.uuid4().hex[:12]}"

    async def wait(
        self,
        operation: str,
        request: ClipRequest,
        status: Callable[[ClipPhase], Awaitable[None]],
    ) -> list[bytes]:
        """Render the clips (one per requested video, each with its own camera move) from
        the picture, or from an offline drawing of the prompt."""
        await status(ClipPhase.GENERATING)
        picture = request.image
        if picture is None:
            text = request.prompt
            scene = Scene(image_prompt=text[:800], narration=text[:400],
                          character_description=text[:800])  # fmt: skip
            size = request.aspect.size  # drawn in the clip's own shape
            picture = await asyncio.to_thread(render_png, scene, Style.STORYBOOK, size)
        clips = [
            await render_clip(picture, request.aspect.size, variant=n)
            for n in range(request.count)
        ]
        await status(ClipPhase.DOWNLOADING)
        return clips
