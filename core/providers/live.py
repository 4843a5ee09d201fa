"""Narration through the Gemini Live API, as the cookbook does it, with TTS as the fallback."""

from __future__ import annotations

import asyncio
import logging

from google.genai import errors, types

from core.errors import ProviderUnavailable
from core.models import Speech, Voice
from core.providers.catalog import Role
from core.providers.gemini_tts import GeminiNarrator, pcm_speech, prebuilt_voice
from core.providers.google_backend import GeminiBackend
from core.text import speakable

log = logging.getLogger(__name__)

# The cookbook's lesson: without this, the model answers "OK, I will read…" before the line.
LIVE_INSTRUCTION = (
    "You are the narrator of a children's story. Read each line you are given aloud with a "
    "warm, expressive storyteller's voice, exactly as written. Don't say OK, I will do this or "
    "that: no introductions, no comments, no closing words. More lines are coming."
)


class LiveNarrator:
    """One Live session per narration line: text in, audio only out, the streamed 24 kHz PCM
    collected until the turn completes. A session that fails, returns no audio or runs past
    `timeout_s` is replaced by the TTS model's narration of the same line."""

    name = "gemini-live"

    def __init__(self, backend: GeminiBackend, fallback: GeminiNarrator, timeout_s: float) -> None:
        self.backend = backend
        self.fallback, self.timeout_s = fallback, timeout_s

    def voices(self) -> list[Voice]:
        """The prebuilt Gemini voices, shared by Live and TTS."""
        return self.fallback.voices()

    def check_voice(self, voice: str | None, language: str) -> None:
        """Refuse a voice name Gemini does not have."""
        self.fallback.check_voice(voice, language)

    async def speak(self, text: str, *, voice: str | None, language: str) -> Speech:
        """Narrate over Live, or with the TTS model when Live fails."""
        try:
            async with self.backend.slot(Role.LIVE), asyncio.timeout(self.timeout_s):
                model = await self.backend.models.model(Role.LIVE)
                return await self._session(model, text, voice)
        except Exception as exc:  # whatever Live does wrong, the TTS model takes over
            log.warning("Live narration failed (%s); using the TTS model", _why(exc))
        return await self.fallback.speak(text, voice=voice, language=language)

    async def _session(self, model: str, text: str, voice: str | None) -> Speech:
        config = types.LiveConnectConfig(
            response_modalities=[types.Modality.AUDIO],
            speech_config=prebuilt_voice(self.fallback.voice_name(voice)),
            system_instruction=types.Content(parts=[types.Part(text=LIVE_INSTRUCTION)]),
        )
        pcm, mime, complete = bytearray(), "", False
        async with self.backend.live.aio.live.connect(model=model, config=config) as session:
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text=speakable(text))]),
                turn_complete=True,
            )
            async for message in session.receive():
                content = message.server_content
                if content is None:
                    continue
                for part in (content.model_turn.parts if content.model_turn else None) or []:
                    blob = part.inline_data
                    if blob and blob.data and (blob.mime_type or "").startswith("audio/"):
                        pcm += blob.data
                        mime = mime or blob.mime_type or ""
                if content.turn_complete:
                    complete = True
                    break
        if not complete or not pcm:
            raise ProviderUnavailable("the Live session ended without a complete narration")
        return pcm_speech(bytes(pcm), mime)


def _why(exc: Exception) -> str:
    """A short, secret-free reason for the log."""
    if isinstance(exc, TimeoutError):
        return "no complete answer in time"
    if isinstance(exc, errors.APIError):
        return f"{exc.code} {exc.status or ''}".strip()
    return type(exc).__name__
