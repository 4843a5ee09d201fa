"""Splitting one spoken answer into its lines: a TTS request that speaks several lines at once
(a two-speaker conversation, or one voice's lines) answers one clip without timestamps, so the
line boundaries are found in the audio itself.

Each boundary is the longest pause (a run of low-energy frames) near where the lines' character
counts predict it; where no pause is near, the predicted position itself. Pure: PCM in, PCM out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.models import Speech

FRAME_S = 0.01  # energy is measured on 10 ms frames
QUIET = 0.08  # a frame is quiet below this share of the loud frames' level (95th percentile)
FLOOR = 40.0  # ...and always below this RMS (of 32767): dither and hiss are silence
MIN_PAUSE_S = 0.04  # shorter dips are inside a word, not between lines
NEAR = 0.6  # a pause counts as near when within this share of the shorter adjacent line
KEEP_S = 0.04  # silence each line keeps at a pause it is cut at


@dataclass(frozen=True, slots=True)
class Pause:
    """A run of quiet frames, in frames: [start, end)."""

    start: int
    end: int

    @property
    def length(self) -> int:
        """How many frames it lasts."""
        return self.end - self.start

    @property
    def middle(self) -> float:
        """Its centre, in frames."""
        return (self.start + self.end) / 2


def frame_levels(samples: np.ndarray, frame: int) -> np.ndarray:
    """The RMS level of each whole `frame`-sample frame (a partial last frame is dropped)."""
    count = samples.size // frame
    if count == 0:
        return np.zeros(0)
    frames = samples[: count * frame].astype(np.float64).reshape(count, frame)
    levels: np.ndarray = np.sqrt(np.mean(frames**2, axis=1))
    return levels


def quiet_frames(levels: np.ndarray) -> np.ndarray:
    """Which frames are quiet: below `QUIET` of the loud level, or below `FLOOR`."""
    if levels.size == 0:
        return np.zeros(0, dtype=bool)
    quiet: np.ndarray = levels < max(FLOOR, QUIET * float(np.percentile(levels, 95)))
    return quiet


def find_pauses(quiet: np.ndarray, min_frames: int) -> list[Pause]:
    """The runs of at least `min_frames` quiet frames between the first and last loud one."""
    loud = np.flatnonzero(~quiet)
    pauses: list[Pause] = []
    start: int | None = None
    for index in range(int(loud[0]) if loud.size else 0, int(loud[-1]) + 1 if loud.size else 0):
        if quiet[index] and start is None:
            start = index
        elif not quiet[index] and start is not None:
            if index - start >= min_frames:
                pauses.append(Pause(start, index))
            start = None
    return pauses


def boundaries(levels: np.ndarray, weights: Sequence[int], min_frames: int) -> list[Pause]:
    """Where each line ends and the next begins, as pauses in frames (a zero-length `Pause` at
    the predicted frame where no pause is near); one fewer than `weights`."""
    quiet = quiet_frames(levels)
    loud = np.flatnonzero(~quiet)
    first, last = (int(loud[0]), int(loud[-1]) + 1) if loud.size else (0, levels.size)
    pauses = find_pauses(quiet, min_frames)
    # Speech takes time in proportion to its characters: the predicted end of each line.
    shares = np.array([max(1, w) for w in weights], dtype=np.float64)
    shares /= shares.sum()
    sizes = [(last - first) * float(s) for s in shares]
    predicted = [first + (last - first) * float(f) for f in np.cumsum(shares)[:-1]]
    cuts: list[Pause] = []
    after = float(first)  # each boundary comes after the one before, before the next's place
    for k, at in enumerate(predicted):
        reach = NEAR * min(sizes[k], sizes[k + 1])
        before = predicted[k + 1] if k + 1 < len(predicted) else float(last)
        near = [p for p in pauses if abs(p.middle - at) <= reach and after < p.middle < before]
        if near:  # the longest; of equals, the nearest
            cut = max(near, key=lambda p: (p.length, -abs(p.middle - at)))
        else:
            frame = min(max(round(at), math.floor(after) + 1), last)
            cut = Pause(frame, frame)
        cuts.append(cut)
        after = cut.middle
    return cuts


def split_turns(speech: Speech, weights: Sequence[int]) -> list[Speech]:
    """`speech` cut into one clip per line, `weights` being the lines' character counts: each
    cut at the longest pause near its predicted place (the pause itself left out but for
    `KEEP_S` on each side), else at the predicted place."""
    if len(weights) <= 1:
        return [speech] * len(weights)
    samples = np.frombuffer(speech.pcm[: len(speech.pcm) // 2 * 2], dtype="<i2")
    frame = max(1, round(FRAME_S * speech.sample_rate))
    levels = frame_levels(samples, frame)
    if levels.size < len(weights):  # too short to measure: cut by the characters alone
        levels = np.zeros(len(weights))
        frame = max(1, samples.size // len(weights))
    cuts = boundaries(levels, weights, max(1, round(MIN_PAUSE_S / FRAME_S)))
    keep = round(KEEP_S / FRAME_S)
    edges: list[tuple[int, int]] = []  # each line's [start, end) in samples
    start = 0
    for cut in cuts:
        end = min(cut.start + keep, cut.end)
        edges.append((start, end * frame))
        start = max(cut.end - keep, end) * frame
    edges.append((start, samples.size))
    return [Speech(samples[a:b].tobytes(), speech.sample_rate) for a, b in edges]
