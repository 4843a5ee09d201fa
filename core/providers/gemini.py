"""Gemini back end: story, pictures and narration through google-genai; SDK types stay here."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx2
from google import genai
from google.genai import errors, types
from pydantic import BaseModel, ValidationError

from core import audio
from core.config import Settings
from core.errors import (
    ConfigurationError,
    ContentRejected,
    InvalidRequest,
    InvalidStory,
    ModelNotFound,
    ProviderError,
    ProviderUnavailable,
    QuotaExceeded,
)
from core.models import LANGUAGE_NAMES, Aspect, Scene, Speech, Story, StoryRequest, Style, Voice
from core.providers.retry import Retryable, RetryPolicy, with_retries
from core.text import speakable
from core.voices import GEMINI_DEFAULT_VOICE, GEMINI_VOICES, find_gemini_voice

log = logging.getLogger(__name__)

API_VERSION = "v1beta"  # google-genai 3.x defaults to v1, which lacks preview models and aliases
_BLOCKED_FINISH = {
    "SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "RECITATION", "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "IMAGE_OTHER", "NO_IMAGE",
}  # fmt: skip
_RETRYABLE_HTTP = {408, 500, 502, 503, 504}


class GeminiBackend:
    """One google-genai client shared by the providers, with retries and per-model limits."""

    name = "Gemini"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        options = types.HttpOptions(
            base_url=settings.gemini_base_url,
            api_version=API_VERSION,
            timeout=int(settings.call_timeout_s * 1000),  # milliseconds, per attempt
        )
        key = settings.google_key
        if settings.use_vertexai:
            self.client = genai.Client(
                vertexai=True,
                api_key=key.get_secret_value()
                if key and not settings.google_cloud_project
                else None,
                project=settings.google_cloud_project,
                location=settings.google_cloud_location if settings.google_cloud_project else None,
                http_options=options,
            )
        elif key is None:
            raise ConfigurationError("Gemini needs an API key: set GEMINI_API_KEY")
        else:
            # Passed explicitly: the SDK's own fallback would prefer GOOGLE_API_KEY.
            self.client = genai.Client(api_key=key.get_secret_value(), http_options=options)
        self.policy = RetryPolicy(
            budget_s=settings.retry_budget_s, attempt_timeout_s=settings.call_timeout_s
        )
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._limits = {
            settings.text_model: settings.text_concurrency,
            settings.image_model: settings.image_concurrency,
            settings.tts_model: settings.tts_concurrency,
        }

    async def generate(
        self, model: str, contents: Any, config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        """`generate_content` with our retries, time bounds and typed errors."""

        async def attempt() -> types.GenerateContentResponse:
            try:
                return await self.client.aio.models.generate_content(
                    model=model, contents=contents, config=config
                )
            except errors.APIError as exc:
                raise _classify(exc, model) from None
            except (aiohttp.ClientError, httpx2.TransportError, ConnectionError) as exc:
                log.info("Gemini transport error: %s", type(exc).__name__)
                raise Retryable(
                    ProviderUnavailable("Gemini could not be reached; try again in a minute"),
                    None,
                    "connection lost",
                ) from None

        slots = self._slots.setdefault(model, asyncio.Semaphore(self._limits.get(model, 2)))
        async with slots:
            return await with_retries(attempt, provider=self.name, policy=self.policy)

    async def list_models(self) -> list[str]:
        """Names (without `models/`) of the models the key can see."""

        async def attempt() -> list[str]:
            try:
                pager = await self.client.aio.models.list(config={"page_size": 100})
                return [m.name.removeprefix("models/") async for m in pager if m.name]
            except errors.APIError as exc:
                raise _classify(exc, "models.list") from None

        return await with_retries(attempt, provider=self.name, policy=self.policy)

    async def aclose(self) -> None:
        """Close the client's connection pools."""
        await self.client.aio.aclose()


def _classify(exc: errors.APIError, model: str) -> Exception:
    """Map an SDK error to our typed errors; never includes the request or its key."""
    code = exc.code
    log.info("Gemini answered %s %s for %s", code, exc.status, model)
    if code == 429:
        return Retryable(
            QuotaExceeded("the Gemini quota is used up for now; try again later"),
            _retry_delay(exc.details),
            "rate limited",
        )
    if code in _RETRYABLE_HTTP:
        return Retryable(
            ProviderUnavailable("Gemini is overloaded right now; try again in a few minutes"),
            None,
            "overloaded",
        )
    if code in (401, 403) or "API_KEY_INVALID" in str(exc.details):
        return ConfigurationError("the Gemini API key was rejected; check GEMINI_API_KEY")
    if code == 404:
        return ModelNotFound(f"the model '{model}' is not available to this key")
    return ProviderError(f"Gemini refused the request ({exc.status or code})")


def _retry_delay(details: Any) -> float | None:
    """The `RetryInfo.retryDelay` of a 429 body ("15s", "1.5s") in seconds, if any."""
    try:
        entries = details["error"]["details"]
    except (KeyError, TypeError):
        return None
    for entry in entries if isinstance(entries, list) else []:
        if str(entry.get("@type", "")).endswith("RetryInfo"):
            match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(entry.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _parts(response: types.GenerateContentResponse, what: str) -> Iterator[types.Part]:
    """The parts of the first candidate, or `ContentRejected` if a safety filter blocked it."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        raise ContentRejected(f"the {what} was blocked by Gemini's safety filter")
    candidate = response.candidates[0] if response.candidates else None
    if candidate is None:
        raise ProviderUnavailable(f"Gemini returned no {what}")
    reason = candidate.finish_reason
    if reason is not None and str(getattr(reason, "value", reason)) in _BLOCKED_FINISH:
        raise ContentRejected(f"the {what} was blocked by Gemini's safety filter")
    yield from (candidate.content.parts or []) if candidate.content else []


class _SceneOut(BaseModel):
    image_prompt: str
    narration: str
    character_description: str


class _StoryOut(BaseModel):
    title: str
    scenes: list[_SceneOut]


class _RephrasedOut(BaseModel):
    image_prompt: str


_STORY_PROMPT = """You are an animation video producer for young children.
Write a story about: {theme}
It has exactly {count} scenes, with interactions between the characters, a beginning, a middle \
and an end. Title and narration are in {language}; image prompts and character descriptions \
are in English.

For each scene:
- image_prompt: a full description of the scene, the characters in it and the background in \
about 20 words. Progressively shift the scene as the story advances. No violence.
- narration: one sentence of narration for the scene.
- character_description: no people ever, only animals and objects. Describe every character \
(consistent names, features, colours, clothing) with one art style for a children's animation, \
in about 30 words. Repeat exactly the same character_description in every scene.
Art style for every picture: {style}."""

_FIX_PROMPT = (
    "That answer could not be used: {error}. Answer again as JSON matching the schema, "
    "with exactly {count} scenes."
)

_SOFTEN_PROMPT = (
    "A children's picture-book illustration prompt was refused by an image safety filter. "
    "Rewrite it so it is gentle and clearly harmless, keeping the characters, the place and the "
    "story moment. Rewrite this image prompt: {prompt}"
)


class GeminiStoryWriter:
    """Writes the story as structured JSON with a Gemini text model."""

    name = "gemini"

    def __init__(self, backend: GeminiBackend, model: str) -> None:
        self.backend, self.model = backend, model

    def check_language(self, language: str) -> None:
        """Gemini writes in any language."""

    async def write(self, request: StoryRequest) -> Story:
        """Ask for N scenes; a malformed or short answer is retried once with the error."""
        language = LANGUAGE_NAMES.get(request.base_language, f"the language '{request.language}'")
        prompt = _STORY_PROMPT.format(
            theme=request.theme,
            count=request.scenes,
            language=language,
            style=request.style.prompt,
        )
        contents: list[types.Content] = [_user(prompt)]
        config = types.GenerateContentConfig(
            response_mime_type="application/json", response_schema=_StoryOut, temperature=0.9
        )
        for attempt in range(2):
            response = await self.backend.generate(self.model, contents, config)
            text = "".join(p.text or "" for p in _parts(response, "story") if not p.thought)
            try:
                return _to_story(text, request)
            except ValueError as exc:
                log.info("story attempt %d unusable: %s", attempt + 1, exc)
                contents += [
                    types.Content(role="model", parts=[types.Part.from_text(text=text or "{}")]),
                    _user(_FIX_PROMPT.format(error=exc, count=request.scenes)),
                ]
        raise InvalidStory("the story model gave an unusable story twice; please try again")

    async def soften(self, scene: Scene) -> Scene:
        """Rephrase a picture prompt that a safety filter refused."""
        config = types.GenerateContentConfig(
            response_mime_type="application/json", response_schema=_RephrasedOut
        )
        response = await self.backend.generate(
            self.model, [_user(_SOFTEN_PROMPT.format(prompt=scene.image_prompt))], config
        )
        text = "".join(p.text or "" for p in _parts(response, "rephrased prompt"))
        try:
            prompt = _RephrasedOut.model_validate_json(text).image_prompt.strip()
        except ValidationError:
            prompt = ""
        if not prompt:
            raise ContentRejected("the picture was blocked and could not be rephrased")
        return scene.model_copy(update={"image_prompt": prompt[:800]})


def _to_story(text: str, request: StoryRequest) -> Story:
    """Validate the model's JSON into a Story of exactly N scenes, or raise ValueError."""
    try:
        raw = _StoryOut.model_validate_json(text)
    except ValidationError as exc:
        raise ValueError(_first_error(exc)) from None
    if len(raw.scenes) != request.scenes:
        raise ValueError(f"it has {len(raw.scenes)} scenes instead of {request.scenes}")
    try:
        return Story(
            title=raw.title,
            theme=request.theme,
            style=request.style,
            language=request.language,
            scenes=[Scene(**s.model_dump()) for s in raw.scenes],
        )
    except ValidationError as exc:
        raise ValueError(_first_error(exc)) from None


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "the answer"
    return f"{where}: {first['msg']}"


def _user(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part.from_text(text=text)])


class GeminiIllustrator:
    """Draws scenes with a Gemini image model; scene 1's picture keeps characters consistent."""

    name = "gemini"

    def __init__(self, backend: GeminiBackend, model: str) -> None:
        self.backend, self.model = backend, model

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        """One picture in the requested aspect ratio."""
        prompt = (
            f"{style.prompt}. {scene.image_prompt}. Characters: {scene.character_description} "
            "No text, letters or captions in the picture."
        )
        parts: list[types.Part] = []
        if reference is not None:
            parts.append(types.Part.from_bytes(data=reference, mime_type=_image_mime(reference)))
            prompt += " Keep every character exactly as they look in the reference picture."
        parts.append(types.Part.from_text(text=prompt))
        config = types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=types.ImageConfig(aspect_ratio=aspect.value),
        )
        response = await self.backend.generate(
            self.model, [types.Content(role="user", parts=parts)], config
        )
        for part in _parts(response, "picture"):
            blob = part.inline_data
            if (
                blob
                and blob.data
                and (blob.mime_type or "").startswith("image/")
                and not part.thought
            ):
                return blob.data
        raise ContentRejected("Gemini returned no picture for this scene")


def _image_mime(data: bytes) -> str:
    return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"


_NARRATION_INSTRUCTION = (
    "Read the following line of a children's story aloud, as a warm storyteller. "
    "Say only the line: no introduction, no comment, no closing words.\n\n"
)


class GeminiNarrator:
    """Narrates with a Gemini TTS model and a prebuilt voice; returns 24 kHz mono PCM."""

    name = "gemini"

    def __init__(self, backend: GeminiBackend, model: str, default_voice: str | None) -> None:
        self.backend, self.model = backend, model
        self.default_voice = find_gemini_voice(default_voice or "") or GEMINI_DEFAULT_VOICE

    def voices(self) -> list[Voice]:
        """The prebuilt Gemini voices (every voice speaks every language)."""
        return list(GEMINI_VOICES)

    def check_voice(self, voice: str | None, language: str) -> None:
        """Refuse a voice name Gemini does not have."""
        if voice is not None and find_gemini_voice(voice) is None:
            raise InvalidRequest(f"unknown voice '{voice}' — see `storybot voices`")

    async def speak(self, text: str, *, voice: str | None, language: str) -> Speech:
        """Speak one narration line."""
        name = find_gemini_voice(voice or "") or self.default_voice
        config = types.GenerateContentConfig(
            response_modalities=["AUDIO"],
            speech_config=types.SpeechConfig(
                voice_config=types.VoiceConfig(
                    prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=name)
                )
            ),
        )
        response = await self.backend.generate(
            self.model, _NARRATION_INSTRUCTION + speakable(text), config
        )
        for part in _parts(response, "narration"):
            blob = part.inline_data
            if blob and blob.data and (blob.mime_type or "").startswith("audio/"):
                return _speech(blob.data, blob.mime_type or "")
        raise ProviderUnavailable("Gemini returned no narration audio")


def _speech(data: bytes, mime: str) -> Speech:
    """Raw L16 PCM (rate from the MIME type) or WAV, as 24 kHz mono PCM."""
    if "wav" in mime:
        return audio.resample(audio.from_wav(data))
    match = re.search(r"rate=(\d+)", mime)
    rate = int(match.group(1)) if match else audio.SAMPLE_RATE
    return audio.resample(Speech(data[: len(data) // 2 * 2], rate))
