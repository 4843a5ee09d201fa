"""Narrator voice names of the Gemini TTS models (prebuilt voices), with Google's descriptions."""

from __future__ import annotations

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
