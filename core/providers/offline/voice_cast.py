"""The offline cast's voices: the narrator in its language's eSpeak voice, each character in a
variant and pitch of that voice, on a ladder of pitches far enough apart to tell them apart."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rung:
    """A character voice: an eSpeak variant at a pitch (espeakPITCH, 0–99; 50 is its own)."""

    variant: str
    pitch: int
    description: str

    def voice(self, tag: str) -> str:
        """Its name in the voice `tag` (e.g. `en-us+f1@40`)."""
        return f"{tag}+{self.variant}@{self.pitch}"


# Variants with a narrow pitch range, at pitches whose medians (tests/pitch.py, cast
# intonation) lie at least 3.8 semitones apart and from the narrator's (about 95 Hz):
# characters 1-4 take the first four rungs, the others stand in when a voice is taken.
RUNGS = (
    Rung("belinda", 30, "a warm, gentle voice (about 175 Hz)"),
    Rung("m2", 70, "a bright, boyish voice (about 120 Hz)"),
    Rung("steph", 70, "a light, cheerful voice (about 230 Hz)"),
    Rung("f4", 95, "a tiny, squeaky voice (about 285 Hz)"),
    Rung("gene2", 70, "a soft, round voice (about 140 Hz)"),
    Rung("aunty", 40, "a kindly, lilting voice (about 150 Hz)"),
)
NARRATOR_DESCRIPTION = "the narrator: the language's own voice (about 95 Hz)"


def pick(tag: str, speaker: int, taken: Collection[str]) -> str:
    """The voice of speaker `speaker` (0: the narrator) in the voice `tag`, none of `taken`:
    the narrator's is `tag` itself, a character's the next free rung from its own."""
    used = {voice.casefold() for voice in taken}
    return next((v for v in _order(tag, speaker) if v.casefold() not in used), tag)


def _order(tag: str, speaker: int) -> list[str]:
    """The voices speaker `speaker` may get, best first (last: any pitch of the plain voice)."""
    rungs = [rung.voice(tag) for rung in RUNGS]
    if speaker > 0:
        start = (speaker - 1) % len(rungs)
        rungs = rungs[start:] + rungs[:start]
    first = [tag, *rungs] if speaker <= 0 else [*rungs, tag]
    return first + [f"{tag}@{pitch}" for pitch in range(100)]
