"""PCM helpers: WAV in and out, resampling, and joining narrations sample-exactly."""

from __future__ import annotations

import io
import wave

import numpy as np

from core.errors import RenderError
from core.models import Speech

SAMPLE_RATE = 24_000


def to_wav(speech: Speech) -> bytes:
    """Wrap PCM as a mono 16-bit WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(speech.sample_rate)
        out.writeframes(speech.pcm)
    return buffer.getvalue()


def from_wav(data: bytes) -> Speech:
    """Read a 16-bit PCM WAV (mono or stereo, which is averaged to mono)."""
    try:
        with wave.open(io.BytesIO(data), "rb") as src:
            if src.getsampwidth() != 2:
                raise RenderError("narration audio must be 16-bit PCM")
            channels, rate = src.getnchannels(), src.getframerate()
            frames = src.readframes(src.getnframes())
    except (wave.Error, EOFError) as exc:
        raise RenderError("narration audio is not a readable WAV file") from exc
    if channels > 1:
        samples = np.frombuffer(frames, dtype="<i2").reshape(-1, channels).mean(axis=1)
        frames = samples.astype("<i2").tobytes()
    return Speech(frames, rate)


def resample(speech: Speech, rate: int = SAMPLE_RATE) -> Speech:
    """Band-limited resampling (FFT) of a whole clip to `rate`; a no-op at the same rate."""
    if speech.sample_rate == rate or not speech.pcm:
        return Speech(speech.pcm, rate)
    samples = np.frombuffer(speech.pcm, dtype="<i2").astype(np.float64)
    n_in = samples.size
    n_out = round(n_in * rate / speech.sample_rate)
    spectrum = np.fft.rfft(samples)
    keep = min(spectrum.size, n_out // 2 + 1)
    out_spectrum = np.zeros(n_out // 2 + 1, dtype=np.complex128)
    out_spectrum[:keep] = spectrum[:keep]
    out = np.fft.irfft(out_spectrum, n=n_out) * (n_out / n_in)
    return Speech(np.clip(np.rint(out), -32768, 32767).astype("<i2").tobytes(), rate)


def join(
    speeches: list[Speech], pause_s: float, rate: int = SAMPLE_RATE
) -> tuple[Speech, list[int]]:
    """Concatenate narrations, each followed by `pause_s` of silence.

    Returns the joined audio and each scene's length in samples, so that scene boundaries in the
    video can be placed on exactly the sample where the next narration starts.
    """
    pause = b"\x00\x00" * round(pause_s * rate)
    parts: list[bytes] = []
    lengths: list[int] = []
    for speech in speeches:
        pcm = resample(speech, rate).pcm
        parts += [pcm, pause]
        lengths.append((len(pcm) + len(pause)) // 2)
    return Speech(b"".join(parts), rate), lengths


def join_lines(
    speeches: list[Speech], gaps_s: list[float], rate: int = SAMPLE_RATE
) -> tuple[Speech, list[tuple[float, float]]]:
    """One scene of a cast's lines: each line's audio, then `gaps_s[k]` of silence before
    line k+1 (one fewer gap than lines). Returns the joined audio and each line's start and
    end in seconds, on exact samples."""
    parts: list[bytes] = []
    times: list[tuple[float, float]] = []
    at = 0
    for k, speech in enumerate(speeches):
        if k:
            silence = b"\x00\x00" * round(gaps_s[k - 1] * rate)
            parts.append(silence)
            at += len(silence) // 2
        pcm = resample(speech, rate).pcm
        parts.append(pcm)
        times.append((at / rate, (at + len(pcm) // 2) / rate))
        at += len(pcm) // 2
    return Speech(b"".join(parts), rate), times
