"""What bench/assembly.py reads back from the videos it made: the picture quality of one
against another (SSIM), and the encoder settings a file was made with.

There is no ffprobe beside the bundled ffmpeg; PyAV opens the file with the same libavformat
and reports the same stream fields (codec, profile, pixel format, size, frame rate), and
x264 writes its own settings (preset-derived options, rate control, CRF) into the stream."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import av

from core.ffmpeg import ffmpeg_exe

_X264_OPTIONS = re.compile(rb"x264 - core \d+.*? - options: ([^\x00]*)")
# Threading differs by design (one thread per run, runs side by side); the rest must not.
_THREADING = {"threads", "lookahead_threads", "sliced_threads", "decimate"}


@dataclass(frozen=True, slots=True)
class EncoderSettings:
    """A video stream's format and the x264 options it was encoded with (threading aside)."""

    codec: str
    profile: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    x264: tuple[tuple[str, str], ...]

    def summary(self) -> str:
        """The settings a reader checks first."""
        options = dict(self.x264)
        return (
            f"{self.codec} {self.profile} {self.pix_fmt} {self.width}x{self.height} "
            f"{self.fps:g} fps, rc={options.get('rc')} crf={options.get('crf')} "
            f"subme={options.get('subme')} me={options.get('me')} ref={options.get('ref')}"
        )


def encoder_settings(video: Path) -> EncoderSettings:
    """Read a file's video stream format and x264's settings string back."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        fps = float(stream.average_rate or 0)
        fields = (context.name, context.profile or "", context.format.name)
        size = (context.width, context.height)
    found = _X264_OPTIONS.search(video.read_bytes())
    pairs = found.group(1).decode().split() if found else []
    options = tuple(
        (key, value)
        for key, _, value in (pair.partition("=") for pair in pairs)
        if key not in _THREADING
    )
    return EncoderSettings(*fields, *size, fps, options)


def mean_ssim(video: Path, reference: Path) -> float:
    """The mean SSIM (all planes) of `video`'s frames against `reference`'s, frame by frame."""
    report = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(video), "-i", str(reference),
         "-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    found = re.search(r"SSIM .*All:([\d.]+)", report)
    if found is None:
        raise SystemExit(f"no SSIM in ffmpeg's report: {report[-500:]}")
    return float(found.group(1))
