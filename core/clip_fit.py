"""Animated scenes' clips: reading a clip's length and sound, and fitting it to its scene
(slowed at most 1.5x, then held on its last frame), as an ffmpeg filter chain."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import RenderError
from core.ffmpeg import ffmpeg_exe, ffmpeg_report

log = logging.getLogger(__name__)


# A clip shorter than its scene is slowed down at most this much, then held on its last frame.
MAX_SLOWDOWN = 1.5
CLIP_VOLUME = 0.3  # a clip's own sound, under the narration


@dataclass(frozen=True, slots=True)
class Clip:
    """An animated scene's video file: its length and whether it has a sound track."""

    path: Path
    duration_s: float
    has_audio: bool

    def fitting(self, scene_s: float) -> tuple[float, bool]:
        """How the clip fills a `scene_s`-second scene: the slow-down factor (1 when it is
        long enough and is only trimmed), and whether it then holds on its last frame."""
        if self.duration_s >= scene_s:
            return 1.0, False
        factor = min(MAX_SLOWDOWN, scene_s / self.duration_s)
        return factor, self.duration_s * factor < scene_s


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_MIN_CLIP_S = 0.1  # a picture file reads as a one-frame video (0.04 s): not a clip


async def probe_clip(path: Path) -> Clip:
    """Read a clip's length and whether it has sound from `ffmpeg -i`'s report; a file that
    is not a readable video raises `RenderError`."""
    _, report = await ffmpeg_report(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)]  # no output: report only
    )
    streams = [line for line in report.splitlines() if line.lstrip().startswith("Stream #")]
    video = any(": Video:" in s and "(attached pic)" not in s for s in streams)
    found = _DURATION.search(report)
    hours, minutes, seconds = found.groups() if found else ("0", "0", "0")
    duration_s = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if not video or duration_s < _MIN_CLIP_S:
        log.warning("not a readable clip: %s: %s", path.name, report[-500:])
        raise RenderError("an animated scene could not be read")
    return Clip(path, duration_s, any(": Audio:" in s for s in streams))


def fit_clip(
    clip: Clip, total: int, size: tuple[int, int], fps: int, *, first: int = 0, count: int
) -> str:
    """Frames `first`..`first + count` of `clip` fitted to a `total`-frame scene: slowed (or
    trimmed) and held as `Clip.fitting` says, at `fps`, scaled to cover `size`, centre-cropped.

    Frames are picked by index after the fitting, so the tail of a scene that the next
    segment blends from is exactly the continuation of that scene's own segment.
    """
    width, height = size
    factor, _ = clip.fitting(total / fps)
    slow = f"setpts={factor:.6f}*(PTS-STARTPTS)" if factor != 1 else "setpts=PTS-STARTPTS"
    return ",".join(
        [
            f"{slow},fps={fps}",
            # Always an endless hold of the last frame (the trim ends it): it shows only when
            # the clip runs out, but then every frame of the scene is filled even if the
            # container reported the clip longer than its pictures last.
            "tpad=stop=-1:stop_mode=clone",
            # Trim before scaling: frames outside the segment are never scaled.
            f"trim=start_frame={first}:end_frame={first + count},setpts=PTS-STARTPTS",
            f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=bicubic",
            f"crop={width}:{height},setsar=1,format=yuv420p",
        ]
    )
