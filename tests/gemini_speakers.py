"""Speakers in the fake Gemini's TTS requests: what it refuses and which turns it speaks.

As Google documents multi-speaker TTS (December 2026; see `core/providers/gemini_tts.py`):

* `speechConfig.multiSpeakerVoiceConfig.speakerVoiceConfigs` holds exactly two entries
  ("Exactly two speaker voice configurations must be provided"), each a `speaker` and a
  `voiceConfig` with a known voice (3.8: `voice` or `prebuiltVoiceConfig.voiceName`; earlier
  models: `prebuiltVoiceConfig.voiceName`), the two speakers different;
* with it, a 3.8 model takes one part per turn, each naming one of those speakers in
  `speechMetadata.speaker`; an earlier model takes one text whose transcript (after the last
  blank line) is `Speaker: line` lines, each speaker one of those;
* `voiceConfig` and `multiSpeakerVoiceConfig` together, or (3.8) a part naming a speaker in a
  single-voice request, are refused.

The exact wording of the real 400 messages for these cases is not documented (unverified).
Every refusal is 400 INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

Get = Callable[..., Any]  # `tests.gemini_requests.get_key`


@dataclass(frozen=True)
class Turn:
    """One turn the fake speaks: its speaker (None in a single-voice request), voice, text."""

    speaker: str | None
    voice: str | None
    text: str


def voice_of(voice_config: Any, structured: bool, get: Get) -> str | None:
    """The voice named in a `voiceConfig` (3.8 also reads `voice`)."""
    name = get(voice_config, "voice") if structured else None
    return name or get(get(voice_config, "prebuiltVoiceConfig"), "voiceName")


def speaker_voices(speech: Any, structured: bool, get: Get) -> list[tuple[str, str | None]]:
    """The (speaker, voice) entries of a `speechConfig`'s multi-speaker config, in order."""
    entries = get(get(speech, "multiSpeakerVoiceConfig"), "speakerVoiceConfigs") or []
    return [
        (
            str(get(entry, "speaker") or "").strip(),
            voice_of(get(entry, "voiceConfig"), structured, get),
        )
        for entry in entries
        if isinstance(entry, dict)
    ]


def transcript(parts: list[dict[str, Any]]) -> list[str]:
    """An earlier model's lines: what follows the last blank line, one per line."""
    text = "\n".join(p["text"] for p in parts if isinstance(p.get("text"), str))
    return [line.strip() for line in text.rsplit("\n\n", 1)[-1].split("\n") if line.strip()]


def check_speakers(
    structured: bool,
    config: dict[str, Any],
    parts: list[dict[str, Any]],
    get: Get,
    voices: Collection[str],
) -> str | None:
    """Why the real API would refuse the speakers of this TTS request (None: it would not)."""
    speech = get(config, "speechConfig") or {}
    multi = get(speech, "multiSpeakerVoiceConfig")
    named = [get(get(p, "speechMetadata"), "speaker") for p in parts]
    if multi is None:
        if structured and any(named):
            return "speech_metadata.speaker needs speech_config.multi_speaker_voice_config."
        return None
    if get(speech, "voiceConfig") is not None:
        return "speech_config: voice_config and multi_speaker_voice_config are mutually exclusive."
    entries = speaker_voices(speech, structured, get)
    if len(entries) != 2:
        return (
            "multi_speaker_voice_config: exactly two speaker_voice_configs must be provided, "
            f"not {len(entries)}."
        )
    for speaker, voice in entries:
        if not speaker:
            return "speaker_voice_configs[].speaker is required."
        if voice is None:
            return f"speaker_voice_configs[].voice_config: no voice for speaker {speaker}."
        if voice not in voices:
            return f"Voice name {voice} is not supported."
    speakers = [speaker for speaker, _ in entries]
    if speakers[0] == speakers[1]:
        return f"speaker_voice_configs name the speaker {speakers[0]} twice."
    if structured:
        stray = [str(s) for s in named if s not in speakers]
        if stray:
            return f"speech_metadata.speaker {stray[0]!r} is not one of {speakers}."
        return None
    for line in transcript(parts):
        name, colon, _ = line.partition(":")
        if not colon or name.strip() not in speakers:
            return f"The transcript line {line[:40]!r} does not start with one of {speakers}."
    return None


def speech_turns(body: dict[str, Any], structured: bool, get: Get) -> list[Turn]:
    """The turns a (valid) TTS request speaks: 3.8, one per part; earlier models, one per line
    of the transcript (without the speaker's name in a conversation)."""
    contents = get(body, "contents")
    items = contents if isinstance(contents, list) else [contents] if contents else []
    parts = [p for c in items for p in (get(c, "parts") or []) if isinstance(p, dict)]
    speech = get(get(body, "generationConfig"), "speechConfig") or {}
    voices = dict(speaker_voices(speech, structured, get))
    single = voice_of(get(speech, "voiceConfig"), structured, get)
    if structured:
        turns = []
        for part in parts:
            if isinstance(part.get("text"), str):
                speaker = get(get(part, "speechMetadata"), "speaker")
                turns.append(Turn(speaker, voices.get(speaker, single), part["text"]))
        return turns
    if voices:
        return [
            Turn(name.strip(), voices.get(name.strip()), text.strip())
            for name, _, text in (line.partition(":") for line in transcript(parts))
        ]
    return [Turn(None, single, line) for line in transcript(parts)]
