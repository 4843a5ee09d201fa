"""Gemini back end: story, pictures and narration through google-genai; SDK types stay here."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aiohttp
import httpx2
from google import genai
from google.auth.credentials import Credentials
from google.auth.exceptions import GoogleAuthError
from google.genai import errors, types
from pydantic import BaseModel, ValidationError

from core import audio
from core.config import ImageBackend, Settings
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
T = TypeVar("T")


class GeminiBackend:
    """One google-genai client shared by the providers, with retries and per-model limits.

    Modes: the Gemini Developer API (API key); Vertex AI with a project, location and
    application default credentials (`credentials` overrides ADC, e.g. in tests); or Vertex AI
    express mode (API key, no project). The Live API gets a client of its own because it
    always connects over `wss://` to its base URL's host (`GEMINI_LIVE_BASE_URL`).
    """

    def __init__(self, settings: Settings, *, credentials: Credentials | None = None) -> None:
        self.settings = settings
        self.credentials = credentials
        if settings.use_vertexai:
            self.name = "Vertex AI"
            self.key_hint = "GOOGLE_API_KEY (Vertex AI express mode)"
        else:
            self.name = "Gemini"
            self.key_hint = "GEMINI_API_KEY"
        if settings.google_key is None and not settings.vertex_project_mode:
            raise ConfigurationError(
                "Vertex AI needs GOOGLE_CLOUD_PROJECT (with application default credentials) "
                "or an API key in GOOGLE_API_KEY"
                if settings.use_vertexai
                else "Gemini needs an API key: set GEMINI_API_KEY"
            )
        if settings.image_backend is ImageBackend.IMAGEN and not settings.use_vertexai:
            raise ConfigurationError(
                "Imagen is served only by Vertex AI: set GOOGLE_GENAI_USE_VERTEXAI=true, "
                "or STORYBOT_IMAGE_BACKEND=gemini"
            )
        self.client = self._client(settings.gemini_base_url)
        self._live: genai.Client | None = None
        self.policy = RetryPolicy(
            budget_s=settings.retry_budget_s, attempt_timeout_s=settings.call_timeout_s
        )
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._limits = {
            settings.text_model: settings.text_concurrency,
            settings.picture_model: settings.image_concurrency,
            settings.tts_model: settings.tts_concurrency,
            settings.live_model: settings.tts_concurrency,
            settings.video_model: settings.video_concurrency,
        }

    def _client(self, base_url: str | None) -> genai.Client:
        settings = self.settings
        options = types.HttpOptions(
            base_url=base_url,
            api_version=None if settings.use_vertexai else API_VERSION,  # Vertex: v1beta1
            timeout=int(settings.call_timeout_s * 1000),  # milliseconds, per attempt
            # Our `with_retries` is the only retry loop (the Interactions API would add its own).
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        key = settings.google_key.get_secret_value() if settings.google_key else None
        if settings.vertex_project_mode:
            return genai.Client(
                vertexai=True,
                project=settings.google_cloud_project,
                location=settings.google_cloud_location,
                credentials=self.credentials,
                http_options=options,
            )
        # The key is passed explicitly: the SDK's own fallback would prefer GOOGLE_API_KEY.
        return genai.Client(vertexai=settings.use_vertexai, api_key=key, http_options=options)

    @property
    def live(self) -> genai.Client:
        """The Live API client (made on first use)."""
        if self._live is None:
            settings = self.settings
            self._live = self._client(settings.gemini_live_base_url or settings.gemini_base_url)
        return self._live

    async def call(self, model: str, request: Callable[[], Awaitable[T]]) -> T:
        """Run one SDK request with our retries, per-model limit and typed errors."""

        async def attempt() -> T:
            try:
                return await request()
            except errors.APIError as exc:
                raise _classify(exc, model, self) from None
            except (aiohttp.ClientError, httpx2.TransportError, ConnectionError) as exc:
                log.info("%s transport error: %s", self.name, type(exc).__name__)
                raise Retryable(
                    ProviderUnavailable(
                        f"{self.name} could not be reached; try again in a minute"
                    ),
                    None,
                    "connection lost",
                ) from None
            except GoogleAuthError as exc:
                log.info("Google credentials failed: %s", type(exc).__name__)
                raise ConfigurationError(
                    "Vertex AI could not get credentials: run `gcloud auth application-default "
                    "login` or set GOOGLE_APPLICATION_CREDENTIALS"
                ) from None

        async with self.slot(model):
            return await with_retries(attempt, provider=self.name, policy=self.policy)

    def slot(self, model: str) -> asyncio.Semaphore:
        """The semaphore bounding concurrent requests to `model`."""
        return self._slots.setdefault(model, asyncio.Semaphore(self._limits.get(model, 2)))

    async def generate(
        self, model: str, contents: Any, config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        """`generate_content` with our retries, time bounds and typed errors."""
        return await self.call(
            model,
            lambda: self.client.aio.models.generate_content(
                model=model, contents=contents, config=config
            ),
        )

    async def has_model(self, model: str) -> bool:
        """Whether `model` exists for these credentials (False on 404)."""
        try:
            await self.call(model, lambda: self.client.aio.models.get(model=model))
        except ModelNotFound:
            return False
        return True

    async def aclose(self) -> None:
        """Close the clients' connection pools."""
        await self.client.aio.aclose()
        if self._live is not None:
            await self._live.aio.aclose()


def _classify(exc: errors.APIError, model: str, backend: GeminiBackend) -> Exception:
    """Map an SDK error to our typed errors; never includes the request or its key."""
    return classify_status(exc.code, exc.status, exc.details, model, backend)


def classify_status(
    code: int | None, status: str | None, details: Any, model: str, backend: GeminiBackend
) -> Exception:
    """Map an HTTP failure of any Google API (`models`, Interactions) to our typed errors."""
    name = backend.name
    log.info("%s answered %s %s for %s", name, code, status, model)
    if code == 429:
        return Retryable(
            QuotaExceeded(f"the {name} quota is used up for now; try again later"),
            _retry_delay(details),
            "rate limited",
        )
    if code is None or code in _RETRYABLE_HTTP:
        return Retryable(
            ProviderUnavailable(f"{name} is overloaded right now; try again in a few minutes"),
            None,
            "overloaded",
        )
    if code in (401, 403) or "API_KEY_INVALID" in str(details):
        if backend.settings.vertex_project_mode:
            return ConfigurationError(
                f"Vertex AI refused the credentials for project "
                f"'{backend.settings.google_cloud_project}' ({status or code})"
            )
        return ConfigurationError(f"the {name} API key was rejected; check {backend.key_hint}")
    if code == 404:
        return ModelNotFound(f"the model '{model}' is not available to these credentials")
    return ProviderError(f"{name} refused the request ({status or code})")


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


def picture_prompt(scene: Scene, style: Style) -> str:
    """The picture prompt: style, scene and the story's repeated character description."""
    return (
        f"{style.prompt}. {scene.image_prompt}. Characters: {scene.character_description} "
        "No text, letters or captions in the picture."
    )


class GeminiIllustrator:
    """Draws scenes with a Gemini image model; scene 1's picture keeps characters consistent."""

    name = "gemini"

    def __init__(self, backend: GeminiBackend, model: str) -> None:
        self.backend, self.model = backend, model

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        """One picture in the requested aspect ratio."""
        prompt = picture_prompt(scene, style)
        parts: list[types.Part] = []
        if reference is not None:
            parts.append(types.Part.from_bytes(data=reference, mime_type=image_mime(reference)))
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


def image_mime(data: bytes) -> str:
    """The MIME type of PNG or JPEG bytes."""
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

    def speech_config(self, voice: str | None) -> types.SpeechConfig:
        """The prebuilt voice `voice` (or the default one) as the SDK's speech config."""
        name = find_gemini_voice(voice or "") or self.default_voice
        return types.SpeechConfig(
            voice_config=types.VoiceConfig(
                prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=name)
            )
        )

    async def speak(self, text: str, *, voice: str | None, language: str) -> Speech:
        """Speak one narration line."""
        config = types.GenerateContentConfig(
            response_modalities=["AUDIO"], speech_config=self.speech_config(voice)
        )
        response = await self.backend.generate(
            self.model, _NARRATION_INSTRUCTION + speakable(text), config
        )
        for part in _parts(response, "narration"):
            blob = part.inline_data
            if blob and blob.data and (blob.mime_type or "").startswith("audio/"):
                return pcm_speech(blob.data, blob.mime_type or "")
        raise ProviderUnavailable("Gemini returned no narration audio")


def pcm_speech(data: bytes, mime: str) -> Speech:
    """Raw L16 PCM (rate from the MIME type) or WAV, as 24 kHz mono PCM."""
    if "wav" in mime:
        return audio.resample(audio.from_wav(data))
    match = re.search(r"rate=(\d+)", mime)
    rate = int(match.group(1)) if match else audio.SAMPLE_RATE
    return audio.resample(Speech(data[: len(data) // 2 * 2], rate))
