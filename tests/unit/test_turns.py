"""One spoken answer of several lines is cut into its lines at the pauses between them."""

from __future__ import annotations

import numpy as np
import pytest

from core.models import Speech
from core.turns import split_turns

RATE = 24_000


def tone(seconds: float, pitch: float = 200.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return level * np.sin(2 * np.pi * pitch * t)


def silence(seconds: float, hiss: float = 0.0, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(int(seconds * RATE))
    return hiss * noise


def words(count: int, pitch: float, gap: float = 0.06) -> np.ndarray:
    """`count` word-like tones with short gaps: the pauses inside one line."""
    parts: list[np.ndarray] = []
    for _ in range(count):
        parts += [tone(0.25, pitch), silence(gap)]
    return np.concatenate(parts[:-1])


def speech(*parts: np.ndarray) -> Speech:
    return Speech((np.concatenate(parts) * 32767).astype("<i2").tobytes(), RATE)


def seconds(clip: Speech) -> float:
    return len(clip.pcm) / 2 / RATE


def loud_pitch(clip: Speech) -> float:
    """The dominant frequency of a clip (its loud part)."""
    samples = np.frombuffer(clip.pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * RATE / samples.size)


def test_lines_are_cut_at_the_pauses_between_turns() -> None:
    """Three lines (two voices, 0.35 s between turns, 0.06 s between words) come back as three
    clips, each holding only its own voice and all of its words."""
    lead, gap = silence(0.1), silence(0.35)
    whole = speech(lead, words(4, 150), gap, words(2, 300), gap, words(5, 150), lead)
    lines = split_turns(whole, [24, 12, 30])
    assert len(lines) == 3
    assert [loud_pitch(line) for line in lines] == [
        pytest.approx(150, abs=5),
        pytest.approx(300, abs=5),
        pytest.approx(150, abs=5),
    ]
    # Each keeps its words (4 x 0.31 s and so on) and little of the 0.35 s pause.
    assert seconds(lines[1]) == pytest.approx(2 * 0.31 - 0.06 + 0.08, abs=0.03)
    assert sum(len(line.pcm) for line in lines) < len(whole.pcm) - 2 * 0.25 * RATE * 2


def test_the_longest_pause_near_the_prediction_wins_over_the_nearest() -> None:
    """The character counts put the boundary in the middle of a word gap of the first line;
    the longer pause a little later is the turn boundary."""
    first, second = words(6, 150, gap=0.08), words(3, 300)
    whole = speech(first, silence(0.4), second)
    # By characters the first line ends at half the audio, well inside its own words.
    lines = split_turns(whole, [30, 30])
    assert loud_pitch(lines[0]) == pytest.approx(150, abs=5)
    assert loud_pitch(lines[1]) == pytest.approx(300, abs=5)
    assert seconds(lines[0]) == pytest.approx(6 * 0.33 - 0.08 + 0.04, abs=0.03)


def test_hiss_in_the_pauses_is_still_silence() -> None:
    """A noise floor (as a real recording has) does not hide the pause."""
    hiss = 0.0008
    whole = speech(
        silence(0.1, hiss, 1), words(3, 200), silence(0.3, hiss, 2), words(3, 250),
        silence(0.1, hiss, 3),
    )  # fmt: skip
    first, second = split_turns(whole, [15, 15])
    assert loud_pitch(first) == pytest.approx(200, abs=5)
    assert loud_pitch(second) == pytest.approx(250, abs=5)


def test_without_a_pause_the_characters_decide() -> None:
    """Speech with no pause at all is cut where the character counts put the boundary."""
    whole = speech(tone(1.0, 150), tone(3.0, 300))
    first, second = split_turns(whole, [10, 30])
    assert seconds(first) == pytest.approx(1.0, abs=0.02)
    assert seconds(first) + seconds(second) == pytest.approx(4.0, abs=1e-6)


def test_one_line_and_no_audio() -> None:
    """One line is the whole clip; empty audio still gives one (empty) clip per line."""
    whole = speech(tone(0.5))
    assert split_turns(whole, [10]) == [whole]
    empty = split_turns(Speech(b"", RATE), [3, 4, 5])
    assert [line.pcm for line in empty] == [b"", b"", b""]
