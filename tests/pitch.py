"""A pitch measurer for tests: the median fundamental frequency (F0) of speech's voiced frames
(YIN over 40 ms frames, 60–500 Hz), so a test can tell two voices apart by ear-like numbers."""

from __future__ import annotations

import math

import numpy as np

from core.models import Speech

MIN_HZ = 60.0
MAX_HZ = 500.0
FRAME_S = 0.04  # the analysis window of one F0 estimate
HOP_S = 0.01
_YIN_THRESHOLD = 0.15  # the first dip of the normalised difference below this: the period
_CLARITY = 0.7  # voiced frames only: 1 - the normalised difference at the chosen period
_LOUD = 0.1  # ... and at least this share of the 95th-percentile frame energy


def _samples(
    speech_or_pcm: Speech | bytes | np.ndarray, sample_rate: int | None
) -> tuple[np.ndarray, int]:
    """Mono float samples in [-1, 1] and their rate."""
    if isinstance(speech_or_pcm, Speech):
        pcm: bytes | np.ndarray = speech_or_pcm.pcm
        rate = sample_rate or speech_or_pcm.sample_rate
    else:
        if sample_rate is None:
            raise ValueError("raw PCM needs its sample rate")
        pcm, rate = speech_or_pcm, sample_rate
    if isinstance(pcm, bytes):
        return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768, rate
    return np.asarray(pcm, dtype=np.float64), rate


def frame_pitches(
    speech_or_pcm: Speech | bytes | np.ndarray, sample_rate: int | None = None
) -> np.ndarray:
    """The F0 (Hz) of every voiced frame, in order (YIN: de Cheveigné & Kawahara, 2002)."""
    x, rate = _samples(speech_or_pcm, sample_rate)
    window = round(FRAME_S * rate)
    min_lag, max_lag = math.floor(rate / MAX_HZ), math.ceil(rate / MIN_HZ)
    span, hop = window + max_lag, round(HOP_S * rate)
    if x.size < span:
        return np.zeros(0)
    starts = np.arange(0, x.size - span + 1, hop)
    frames = np.stack([x[s : s + span] for s in starts])
    energy = np.sqrt(np.mean(frames[:, :window] ** 2, axis=1))
    loud = energy >= _LOUD * max(float(np.percentile(energy, 95)), 1e-9)
    size = 1 << (span + window).bit_length()
    # d(τ) = Σ (x_j - x_{j+τ})² over the window = E(0) + E(τ) - 2 r(τ), r by FFT.
    head = np.fft.rfft(frames[:, :window], size)
    whole = np.fft.rfft(frames, size)
    r = np.fft.irfft(np.conj(head) * whole, size)[:, : max_lag + 1]
    squares = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames**2, axis=1)], axis=1)
    lags = np.arange(max_lag + 1)
    e_lag = squares[:, lags + window] - squares[:, lags]
    d = e_lag[:, :1] + e_lag - 2 * r
    d[:, 0] = 0
    running = np.cumsum(d[:, 1:], axis=1)
    cmnd = np.ones_like(d)
    cmnd[:, 1:] = d[:, 1:] * lags[1:] / np.maximum(running, 1e-12)
    pitches = []
    for row, is_loud in zip(cmnd, loud, strict=True):
        if not is_loud:
            continue
        tau = _period(row, min_lag, max_lag)
        if 1 - row[int(tau)] >= _CLARITY:
            pitches.append(rate / tau)
    return np.asarray(pitches)


def _period(cmnd: np.ndarray, min_lag: int, max_lag: int) -> float:
    """The first dip below the threshold (its local minimum), else the deepest dip; refined by
    a parabola through its neighbours."""
    below = np.nonzero(cmnd[min_lag:max_lag] < _YIN_THRESHOLD)[0]
    if below.size == 0:
        tau = min_lag + int(np.argmin(cmnd[min_lag:max_lag]))
    else:
        tau = min_lag + int(below[0])
        while tau + 1 < max_lag and cmnd[tau + 1] < cmnd[tau]:
            tau += 1
    if min_lag < tau < max_lag:
        a, b, c = cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]
        bend = a - 2 * b + c
        if bend > 0:
            return tau + float(np.clip(0.5 * (a - c) / bend, -0.5, 0.5))
    return float(tau)


def median_pitch_hz(
    speech_or_pcm: Speech | bytes | np.ndarray, sample_rate: int | None = None
) -> float:
    """The median F0 of the voiced frames (a Speech carries its rate; raw PCM needs it)."""
    pitches = frame_pitches(speech_or_pcm, sample_rate)
    if pitches.size == 0:
        raise ValueError("no voiced frames: is this speech?")
    return float(np.median(pitches))


def semitones(a_hz: float, b_hz: float) -> float:
    """How far apart two pitches are, in semitones (positive: `b` higher)."""
    return 12 * math.log2(b_hz / a_hz)
