"""Helpers that read a produced MP4 back (PyAV) so tests judge the file, not our intentions."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np


@dataclass
class Probe:
    """What a player would see in an MP4."""

    video_codec: str
    audio_codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    duration_s: float
    frames: list[np.ndarray]  # small grey frames, one per decoded video frame
    audio: np.ndarray  # mono float32
    sample_rate: int


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types in file order (e.g. ftyp, moov, mdat)."""
    boxes = []
    with path.open("rb") as f:
        while header := f.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0] - 8
            boxes.append(kind.decode("latin-1"))
            f.seek(size - 8, 1)
    return boxes


def probe(path: Path, *, frame_size: int = 32) -> Probe:
    """Decode every video frame (downscaled) and the whole audio track."""
    with av.open(str(path)) as container:
        vstream = container.streams.video[0]
        astream = container.streams.audio[0]
        duration = float(container.duration or 0) / av.time_base
        info = (
            vstream.codec_context.name, astream.codec_context.name, vstream.codec_context.pix_fmt,
            vstream.codec_context.width, vstream.codec_context.height, float(vstream.average_rate),
        )  # fmt: skip
        frames = [
            frame.to_ndarray(format="gray", width=frame_size, height=frame_size).astype(np.float32)
            for frame in container.decode(video=0)
        ]
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=24_000)
        chunks = []
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return Probe(*info, duration, frames, np.concatenate(chunks), 24_000)  # type: ignore[arg-type]


def change_frames(frames: list[np.ndarray], threshold: float = 8.0) -> list[int]:
    """Indices of frames that differ strongly from the frame before (scene cuts)."""
    return [
        i
        for i in range(1, len(frames))
        if float(np.abs(frames[i] - frames[i - 1]).mean()) > threshold
    ]


def envelope(signal: np.ndarray, rate: int, window_s: float = 0.02) -> np.ndarray:
    """RMS per window."""
    n = max(1, int(rate * window_s))
    usable = signal[: len(signal) // n * n].reshape(-1, n)
    return np.sqrt((usable.astype(np.float64) ** 2).mean(axis=1))


def best_lag(a: np.ndarray, b: np.ndarray, max_lag: int) -> tuple[int, float]:
    """The lag (samples, step 8) that best aligns `a` with `b`, and the correlation there."""
    best = (0, -1.0)
    n = min(len(a), len(b)) - 2 * max_lag
    ref = b[max_lag : max_lag + n]
    for lag in range(-max_lag, max_lag + 1, 8):
        seg = a[max_lag + lag : max_lag + lag + n]
        denom = float(np.linalg.norm(seg) * np.linalg.norm(ref)) or 1.0
        corr = float(np.dot(seg, ref)) / denom
        if corr > best[1]:
            best = (lag, corr)
    return best
