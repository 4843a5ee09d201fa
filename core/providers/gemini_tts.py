"""Narration with a Gemini TTS model, in the request shape of the model that is in use."""

from __future__ import annotations

import re

from google.genai import types

from core import audio
from core.errors import InvalidRequest, ProviderUnavailable
from core.models import Speech, Voice
from core.providers.catalog import Role, version_of
from core.providers.gemini import response_parts
from core.providers.google_backend import GeminiBackend
from core.text import speakable
from core.voices import GEMINI_DEFAULT_VOICE, GEMINI_VOICES, find_gemini_voice

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

    async def speak(self, text: str, *, voice: str | None, language: str) -> Speech:
        """Speak one narration line."""
        name = self.voice_name(voice)

        async def request(model: str) -> types.GenerateContentResponse:
            contents, config = tts_request(model, text, name)
            return await self.backend.client.aio.models.generate_content(
                model=model, contents=contents, config=config
            )

        response = await self.backend.run(Role.TTS, request)
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
