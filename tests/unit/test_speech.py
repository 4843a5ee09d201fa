"""The offline narrator speaks: real eSpeak NG speech, not a tone or noise."""

import numpy as np
import pytest

from core.errors import InvalidRequest
from core.models import Speech
from core.providers.offline.speech import OfflineNarrator
from tests.probe import envelope


def samples(speech: Speech) -> np.ndarray:
    return np.frombuffer(speech.pcm, dtype="<i2").astype(np.float32) / 32768


def pauses(signal: np.ndarray, rate: int) -> int:
    """Count quiet gaps (≥ 40 ms below 10% of the peak RMS) between loud stretches."""
    env = envelope(signal, rate, 0.02)
    quiet = env < 0.1 * env.max()
    gaps, run = 0, 0
    seen_loud = False
    for q in quiet:
        if q:
            run += 1
        else:
            if seen_loud and run >= 2:
                gaps += 1
            seen_loud, run = True, 0
    return gaps


async def test_speech_is_24khz_and_depends_on_the_text() -> None:
    """Two different sentences give different audio; longer text gives longer audio."""
    narrator = OfflineNarrator()
    short = await narrator.speak("The cat sleeps.", voice=None, language="en")
    other = await narrator.speak("The dog barks.", voice=None, language="en")
    long = await narrator.speak(
        "The cat sleeps in the sun, and then the dog comes to play in the garden.",
        voice=None, language="en",
    )  # fmt: skip
    assert short.sample_rate == other.sample_rate == 24_000
    assert short.pcm != other.pcm
    assert long.duration_s > 2 * short.duration_s
    assert 0.5 < short.duration_s < 3


async def test_energy_envelope_shows_pauses_between_words() -> None:
    """Speech has gaps between words; a steady tone and white noise have none."""
    speech = await OfflineNarrator().speak(
        "One. Two. Three. Four. Five.", voice=None, language="en"
    )
    rate = speech.sample_rate
    assert pauses(samples(speech), rate) >= 4
    t = np.arange(rate * 2) / rate
    assert pauses(0.5 * np.sin(2 * np.pi * 440 * t), rate) == 0
    assert pauses(np.random.default_rng(1).uniform(-0.5, 0.5, rate * 2), rate) == 0


async def test_voices_and_languages() -> None:
    """Voices come from eSpeak; a variant can be appended; unknown voices are refused."""
    narrator = OfflineNarrator()
    names = {v.name for v in narrator.voices()}
    assert {"en-us", "fr-fr", "de", "es"} <= names
    narrator.check_voice("en-us+f3", "en")
    french = await narrator.speak("Le chat dort.", voice=None, language="fr")
    assert french.duration_s > 0.3
    with pytest.raises(InvalidRequest, match="storybot voices"):
        narrator.check_voice("klingon", "en")
    with pytest.raises(InvalidRequest, match="storybot voices"):
        narrator.check_voice("en-us+nosuchvariant", "en")
