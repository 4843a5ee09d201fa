"""Narrator voice names of the Gemini TTS models (prebuilt voices), with Google's descriptions,
and the fixed order a cast of voices is picked along (`cast` mode)."""

from __future__ import annotations

from collections.abc import Collection

from core.models import Voice

GEMINI_DEFAULT_VOICE = "Sulafat"

_DESCRIPTIONS = (
    ("Zephyr", "bright"),
    ("Puck", "upbeat"),
    ("Charon", "informative"),
    ("Kore", "firm"),
    ("Fenrir", "excitable"),
    ("Leda", "youthful"),
    ("Orus", "firm"),
    ("Aoede", "breezy"),
    ("Callirrhoe", "easy-going"),
    ("Autonoe", "bright"),
    ("Enceladus", "breathy"),
    ("Iapetus", "clear"),
    ("Umbriel", "easy-going"),
    ("Algieba", "smooth"),
    ("Despina", "smooth"),
    ("Erinome", "clear"),
    ("Algenib", "gravelly"),
    ("Rasalgethi", "informative"),
    ("Laomedeia", "upbeat"),
    ("Achernar", "soft"),
    ("Alnilam", "firm"),
    ("Schedar", "even"),
    ("Gacrux", "mature"),
    ("Pulcherrima", "forward"),
    ("Achird", "friendly"),
    ("Zubenelgenubi", "casual"),
    ("Vindemiatrix", "gentle"),
    ("Sadachbia", "lively"),
    ("Sadaltager", "knowledgeable"),
    ("Sulafat", "warm"),
)  # fmt: skip
GEMINI_VOICES: tuple[Voice, ...] = tuple(Voice(name, "any", text) for name, text in _DESCRIPTIONS)


def find_gemini_voice(name: str) -> str | None:
    """The canonical spelling of a Gemini voice name, case-insensitively."""
    wanted = name.strip().lower()
    return next((v.name for v in GEMINI_VOICES if v.name.lower() == wanted), None)


# Every voice, ordered so that neighbours sound unlike each other (by Google's descriptions:
# upbeat, firm, informative, youthful, excitable, ...): a cast picks along it, so the first
# characters of a story get clearly different voices. The default narrator voice comes last.
CAST_ORDER = (
    "Puck", "Kore", "Charon", "Leda", "Fenrir", "Aoede", "Algenib", "Zephyr", "Orus",
    "Laomedeia", "Gacrux", "Achird", "Enceladus", "Sadachbia", "Iapetus", "Despina", "Schedar",
    "Callirrhoe", "Rasalgethi", "Vindemiatrix", "Umbriel", "Autonoe", "Alnilam", "Erinome",
    "Zubenelgenubi", "Pulcherrima", "Algieba", "Achernar", "Sadaltager", "Sulafat",
)  # fmt: skip


def pick_gemini_voice(speaker: int, taken: Collection[str], narrator: str) -> str:
    """The voice of speaker number `speaker` (0: the narrator, who gets `narrator`; 1…: the
    characters, along `CAST_ORDER` from their number), never one of `taken`."""
    if speaker == 0 and narrator not in taken:
        return narrator
    start = max(0, speaker - 1) % len(CAST_ORDER)
    ring = CAST_ORDER[start:] + CAST_ORDER[:start]
    return next((voice for voice in ring if voice not in taken), ring[0])
