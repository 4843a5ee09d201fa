import numpy as np

from core import audio
from core.models import Speech


def tone(seconds: float, rate: int) -> Speech:
    t = np.arange(int(seconds * rate)) / rate
    return Speech((np.sin(2 * np.pi * 300 * t) * 10000).astype("<i2").tobytes(), rate)


def test_wav_round_trip() -> None:
    """PCM wrapped as WAV reads back unchanged."""
    speech = tone(0.5, 24_000)
    assert audio.from_wav(audio.to_wav(speech)) == speech


def test_resample_keeps_duration_and_pitch() -> None:
    """22.05 kHz → 24 kHz keeps the length and the tone's frequency."""
    resampled = audio.resample(tone(1.0, 22_050), 24_000)
    assert resampled.sample_rate == 24_000
    assert abs(resampled.duration_s - 1.0) < 1e-3
    spectrum = np.abs(np.fft.rfft(np.frombuffer(resampled.pcm, dtype="<i2")))
    assert abs(np.argmax(spectrum) * 24_000 / (2 * (len(spectrum) - 1)) - 300) < 2


def test_join_is_sample_exact() -> None:
    """Joined audio is every narration plus its pause, to the sample, in order."""
    parts = [tone(0.5, 24_000), tone(0.75, 24_000), tone(0.3, 22_050)]
    joined, lengths = audio.join(parts, 0.4)
    pause = round(0.4 * 24_000)
    assert lengths == [12_000 + pause, 18_000 + pause, 7_200 + pause]
    assert len(joined.pcm) // 2 == sum(lengths)
    assert joined.pcm[:24_000] == parts[0].pcm
    assert joined.pcm[24_000 : 24_000 + pause * 2] == b"\x00" * pause * 2
