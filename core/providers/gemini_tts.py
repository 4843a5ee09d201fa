"""Narration with a Gemini TTS model, in the request shape of the model that is in use: one
narrator's line, or a cast's lines (`cast` mode), at most two voices per request.

What Google documents (read 2026-12) for several speakers:

* Gemini 3.8 TTS (ai.google.dev/gemini-api/docs/speech-generation; Vertex AI:
  docs.cloud.google.com/gemini-enterprise-agent-platform/models/text-to-speech/overview):
  text is read verbatim, one part per speaker turn, each part naming its speaker in
  `speech_metadata.speaker` (style in `speech_metadata.style`), and `speechConfig.
  multiSpeakerVoiceConfig.speakerVoiceConfigs[]` giving each speaker (`speaker`) its voice
  (`voiceConfig.voice`). The migration guide (.../text-to-speech/migration-guide) sets this
  against earlier models: "speaker prefixes in one text block" there, "one part per turn, with
  speech_metadata.speaker" in 3.8.
* Earlier TTS models (docs.cloud.google.com/text-to-speech/docs/gemini-tts and the earlier
  speech-generation guide): one text, an instruction then a transcript of `Speaker: line` lines,
  the names matching `speakerVoiceConfigs[].speaker`, each with a prebuilt voice
  (`prebuiltVoiceConfig.voiceName`).
* How many: `MultiSpeakerVoiceConfig` "enables the use of up to two distinct voices in a single
  synthesis request ... Exactly two speaker voice configurations must be provided"
  (cloud.google.com/text-to-speech/docs/reference/rest/Shared.Types/MultiSpeakerVoiceConfig).
  So two speakers go in one multi-speaker request, one speaker in an ordinary single-voice one,
  and a scene with more speakers is spoken a line per request (by the pipeline).

No timestamps come back, so one answer of several lines is cut at its pauses (`core.turns`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from google.genai import types

from core import audio
from core.errors import InvalidRequest, ProviderUnavailable
from core.models import Speech, Voice
from core.providers.catalog import Role, version_of
from core.providers.gemini import response_parts
from core.providers.google_backend import GeminiBackend
from core.text import speakable
from core.turns import split_turns
from core.voices import GEMINI_DEFAULT_VOICE, GEMINI_VOICES, find_gemini_voice, pick_gemini_voice
from core.voicing import NARRATOR, VoicedLine

# How the narrator sounds. Gemini 3.8 TTS reads its text verbatim, so this goes in the part's
# `speech_metadata.style` (ai.google.dev/gemini-api/docs/speech-generation, migration guide);
# earlier models read an instruction written before a blank line and say only the line.
NARRATION_STYLE = "a warm, gentle storyteller reading a children's bedtime story"
_LEGACY_INSTRUCTION = (
    "Read the following line of a children's story aloud, as a warm storyteller. "
    "Say only the line: no introduction, no comment, no closing words.\n\n"
)
# The first TTS generation with structured speech metadata and verbatim text.
_STRUCTURED_FROM = (3, 8)
MAX_SPEAKERS = 2  # voices in one request (see above)
CHARACTER_STYLE = "a character of a children's bedtime story, saying their own line with feeling"
# Earlier models: what precedes the lines (a blank line, then the lines, one per line).
_LEGACY_LINES = (
    "Read the following lines of a children's story aloud, {who}. "
    "Say only the lines: no introduction, no comment, no closing words.\n\n"
)
_LEGACY_CONVERSATION = (
    "Read the following conversation of a children's story aloud: {names}. Say only what "
    "each speaker says, never their names: no introduction, no comment, no closing words.\n\n"
)


def structured_tts(model: str) -> bool:
    """Whether a TTS model takes style as `speech_metadata` and reads its text verbatim: 3.8
    and later (an id without a version is taken to be current)."""
    version = version_of(model)
    return not version or version >= _STRUCTURED_FROM


def tts_request(
    model: str, text: str, voice: str
) -> tuple[list[types.Content], types.GenerateContentConfig]:
    """The contents and config of one narration line for `model` (no sampling parameters:
    3.8 TTS rejects them)."""
    line = speakable(text)
    if structured_tts(model):
        part = types.Part(text=line, speech_metadata=types.SpeechMetadata(style=NARRATION_STYLE))
        speech = types.SpeechConfig(voice_config=types.VoiceConfig(voice=voice))
    else:
        part = types.Part(text=_LEGACY_INSTRUCTION + line)
        speech = prebuilt_voice(voice)
    config = types.GenerateContentConfig(response_modalities=["AUDIO"], speech_config=speech)
    return [types.Content(role="user", parts=[part])], config


def lines_request(
    model: str, lines: Sequence[VoicedLine]
) -> tuple[list[types.Content], types.GenerateContentConfig]:
    """The contents and config that speak `lines` (one or two speakers) in one request for
    `model`: a single-voice request for one speaker, a multi-speaker one for two."""
    aliases = speaker_aliases(lines)
    voices: dict[str, str] = {}  # alias → voice, in order of the first line of each
    for line in lines:
        voices.setdefault(aliases[_key(line)], line.voice)
    if not 1 <= len(voices) <= MAX_SPEAKERS:
        raise ValueError(f"one request speaks 1 to {MAX_SPEAKERS} voices, not {len(voices)}")
    structured = structured_tts(model)
    if len(voices) == 1:
        voice = lines[0].voice
        speech = (
            types.SpeechConfig(voice_config=types.VoiceConfig(voice=voice))
            if structured
            else prebuilt_voice(voice)
        )
    else:
        speech = types.SpeechConfig(
            multi_speaker_voice_config=types.MultiSpeakerVoiceConfig(
                speaker_voice_configs=[
                    types.SpeakerVoiceConfig(speaker=alias, voice_config=_voice(voice, structured))
                    for alias, voice in voices.items()
                ]
            )
        )
    config = types.GenerateContentConfig(response_modalities=["AUDIO"], speech_config=speech)
    if structured:
        parts = [
            types.Part(
                text=speakable(line.text),
                speech_metadata=types.SpeechMetadata(
                    speaker=aliases[_key(line)] if len(voices) > 1 else None,
                    style=NARRATION_STYLE if _key(line) == NARRATOR else CHARACTER_STYLE,
                ),
            )
            for line in lines
        ]
    else:
        parts = [types.Part(text=_legacy_text(lines, aliases, len(voices) > 1))]
    return [types.Content(role="user", parts=parts)], config


def speaker_aliases(lines: Sequence[VoicedLine]) -> dict[str, str]:
    """The name each speaker (case-folded) goes by in a request: "Narrator", or the character's
    name without the colons and line breaks a transcript cannot hold ("Speaker N" if that
    leaves nothing or a name already used)."""
    aliases: dict[str, str] = {}
    for line in lines:
        key = _key(line)
        if key in aliases:
            continue
        name = (
            "Narrator"
            if key == NARRATOR
            else " ".join(re.sub(r"[:\s]+", " ", line.speaker).split())
        )
        if not name or name.casefold() in {a.casefold() for a in aliases.values()}:
            name = f"Speaker {len(aliases) + 1}"
        aliases[key] = name[:40]
    return aliases


def _key(line: VoicedLine) -> str:
    return line.speaker.strip().casefold()


def _voice(voice: str, structured: bool) -> types.VoiceConfig:
    if structured:
        return types.VoiceConfig(voice=voice)
    return types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=voice))


def _legacy_text(lines: Sequence[VoicedLine], aliases: dict[str, str], multi: bool) -> str:
    """An earlier model's one text: an instruction, a blank line, then the lines (each after
    its speaker's name in a conversation)."""
    if multi:
        names = " and ".join(dict.fromkeys(aliases[_key(line)] for line in lines))
        head = _LEGACY_CONVERSATION.format(names=names)
        return head + "\n".join(f"{aliases[_key(line)]}: {speakable(line.text)}" for line in lines)
    narrator = _key(lines[0]) == NARRATOR
    if len(lines) == 1 and narrator:
        return _LEGACY_INSTRUCTION + speakable(lines[0].text)
    who = "as a warm storyteller" if narrator else "as the character who says them"
    return _LEGACY_LINES.format(who=who) + "\n".join(speakable(line.text) for line in lines)


def prebuilt_voice(voice: str) -> types.SpeechConfig:
    """A prebuilt voice in the speech config every model takes (TTS before 3.8, Live)."""
    return types.SpeechConfig(
        voice_config=types.VoiceConfig(
            prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=voice)
        )
    )


class GeminiNarrator:
    """Narrates with a Gemini TTS model and a prebuilt voice; returns 24 kHz mono PCM."""

    name = "gemini"
    max_speakers = MAX_SPEAKERS

    def __init__(self, backend: GeminiBackend, default_voice: str | None) -> None:
        self.backend = backend
        self.default_voice = find_gemini_voice(default_voice or "") or GEMINI_DEFAULT_VOICE

    def voices(self) -> list[Voice]:
        """The prebuilt Gemini voices (every voice speaks every language)."""
        return list(GEMINI_VOICES)

    def check_voice(self, voice: str | None, language: str) -> None:
        """Refuse a voice name Gemini does not have."""
        if voice is not None and find_gemini_voice(voice) is None:
            raise InvalidRequest(f"unknown voice '{voice}' — see `storybot voices`")

    def voice_name(self, voice: str | None) -> str:
        """The canonical name of `voice`, or the default voice."""
        return find_gemini_voice(voice or "") or self.default_voice

    def cast_voices(self) -> list[Voice]:
        """The voices a cast's speakers may get, with Google's descriptions."""
        return list(GEMINI_VOICES)

    def pick_voice(self, speaker: int, language: str, taken: Collection[str]) -> str:
        """The narrator's default voice for speaker 0, else one along `CAST_ORDER` from the
        speaker's number; never one of `taken`."""
        return pick_gemini_voice(speaker, taken, self.default_voice)

    async def speak(self, text: str, *, voice: str | None, language: str) -> Speech:
        """Speak one narration line."""
        name = self.voice_name(voice)

        async def request(model: str) -> types.GenerateContentResponse:
            contents, config = tts_request(model, text, name)
            return await self.backend.client.aio.models.generate_content(
                model=model, contents=contents, config=config
            )

        return first_audio(await self.backend.run(Role.TTS, request))

    async def speak_lines(self, lines: Sequence[VoicedLine], *, language: str) -> list[Speech]:
        """Speak a cast's lines in one request (two speakers: a multi-speaker one) and cut the
        answer into one Speech per line; more than two speakers: a request per line."""
        if len({_key(line) for line in lines}) > MAX_SPEAKERS:
            return [(await self.speak_lines([line], language=language))[0] for line in lines]
        if not lines:
            return []
        voiced = [
            VoicedLine(line.speaker, line.text, self.voice_name(line.voice)) for line in lines
        ]

        async def request(model: str) -> types.GenerateContentResponse:
            contents, config = lines_request(model, voiced)
            return await self.backend.client.aio.models.generate_content(
                model=model, contents=contents, config=config
            )

        speech = first_audio(await self.backend.run(Role.TTS, request))
        return split_turns(speech, [len(speakable(line.text)) for line in voiced])


def first_audio(response: types.GenerateContentResponse) -> Speech:
    """The first audio part of a TTS answer, as 24 kHz mono PCM."""
    for part in response_parts(response, "narration"):
        blob = part.inline_data
        if blob and blob.data and (blob.mime_type or "").startswith("audio/"):
            return pcm_speech(blob.data, blob.mime_type or "")
    raise ProviderUnavailable("Gemini returned no narration audio")


def pcm_speech(data: bytes, mime: str) -> Speech:
    """WAV (3.8 TTS answers a whole file) or raw L16 PCM (rate from the MIME type), as 24 kHz
    mono PCM. The bytes decide, since a MIME type may say PCM for a WAV body."""
    if data[:4] == b"RIFF" or "wav" in mime:
        return audio.resample(audio.from_wav(data))
    match = re.search(r"rate=(\d+)", mime)
    rate = int(match.group(1)) if match else audio.SAMPLE_RATE
    return audio.resample(Speech(data[: len(data) // 2 * 2], rate))
