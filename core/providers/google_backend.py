"""One google-genai client for every Google provider: modes, retries, per-role limits, typed
errors, and each role's model resolved at run time (`ModelResolver`). SDK types stay here and in
the providers that use it."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import httpx2
from google import genai
from google.auth.credentials import Credentials
from google.auth.exceptions import GoogleAuthError
from google.genai import errors, types

from core.config import Settings
from core.errors import (
    ConfigurationError,
    CredentialsRejected,
    ModelNotFound,
    ProviderError,
    ProviderUnavailable,
    QuotaExceeded,
)
from core.providers.catalog import ListedModel, Role
from core.providers.resolver import ModelResolver, check_setting
from core.providers.retry import Retryable, RetryPolicy, with_retries

log = logging.getLogger(__name__)

API_VERSION = "v1beta"  # google-genai 3.x defaults to v1, which lacks preview models and aliases
_RETRYABLE_HTTP = {408, 500, 502, 503, 504}
T = TypeVar("T")


def model_settings(settings: Settings) -> dict[Role, str | None]:
    """The model each role's setting names (None: not set)."""
    return {
        Role.TEXT: settings.text_model, Role.IMAGE: settings.image_model,
        Role.IMAGEN: settings.imagen_model, Role.TTS: settings.tts_model,
        Role.LIVE: settings.live_model, Role.VIDEO: settings.video_model,
    }  # fmt: skip


def check_model_settings(settings: Settings) -> None:
    """Refuse, before any request, a model setting that names a model of another role."""
    for role, model in model_settings(settings).items():
        check_setting(role, model)


class GeminiBackend:
    """One google-genai client shared by the providers, with retries and per-role limits.

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
        self.client = self._client(settings.gemini_base_url)
        self._live: genai.Client | None = None
        self.policy = RetryPolicy(
            budget_s=settings.retry_budget_s, attempt_timeout_s=settings.call_timeout_s
        )
        self.models = ModelResolver(
            self._list_models,
            settings=model_settings(settings),
            vertex=settings.use_vertexai,
            refresh_s=settings.model_refresh_h * 3600,
        )
        self._slots: dict[Role, asyncio.Semaphore] = {}
        self._limits = {
            Role.TEXT: settings.text_concurrency, Role.IMAGE: settings.image_concurrency,
            Role.IMAGEN: settings.image_concurrency, Role.TTS: settings.tts_concurrency,
            Role.LIVE: settings.tts_concurrency, Role.VIDEO: settings.video_concurrency,
        }  # fmt: skip

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
        """Run one SDK request with our retries and typed errors (`model` names the model in
        messages and logs)."""

        async def attempt() -> T:
            try:
                return await request()
            except errors.APIError as exc:
                raise classify_status(exc.code, exc.status, exc.details, model, self) from None
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
                raise CredentialsRejected(
                    "Vertex AI could not get credentials: run `gcloud auth application-default "
                    "login` or set GOOGLE_APPLICATION_CREDENTIALS"
                ) from None

        return await with_retries(attempt, provider=self.name, policy=self.policy)

    async def run(self, role: Role, request: Callable[[str], Awaitable[T]]) -> T:
        """Run `request(model)` with the role's current model, within the role's limit. A
        NOT_FOUND (the model retired meanwhile) re-resolves the role once and tries again on
        the next model; the call goes on."""
        async with self.slot(role):
            model = await self.models.model(role)
            try:
                return await self.call(model, lambda: request(model))
            except ModelNotFound:
                replacement = await self.models.retired(role, model)
                if replacement is None:
                    raise self.models.missing(role) from None
            return await self.call(replacement, lambda: request(replacement))

    def slot(self, role: Role) -> asyncio.Semaphore:
        """The semaphore bounding concurrent requests of a role."""
        return self._slots.setdefault(role, asyncio.Semaphore(self._limits[role]))

    async def generate(
        self, role: Role, contents: Any, config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        """`generate_content` on the role's model, with our retries, bounds and typed errors."""
        return await self.run(
            role,
            lambda model: self.client.aio.models.generate_content(
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

    async def _list_models(self, candidates: list[str]) -> list[ListedModel]:
        """Every model the key can see (Developer API); on Vertex AI, where listing publisher
        models is not dependable, which of `candidates` exist (`models.get` each)."""
        if self.settings.use_vertexai:
            found = await asyncio.gather(*(self.has_model(m) for m in candidates))
            return [ListedModel(m) for m, ok in zip(candidates, found, strict=True) if ok]

        async def listing() -> list[ListedModel]:
            pager = await self.client.aio.models.list(config={"page_size": 100})
            return [
                ListedModel(
                    (m.name or "").removeprefix("models/"), frozenset(m.supported_actions or ())
                )
                async for m in pager
                if m.name
            ]

        return await self.call("models.list", listing)

    async def aclose(self) -> None:
        """Close the clients' connection pools."""
        await self.client.aio.aclose()
        if self._live is not None:
            await self._live.aio.aclose()


def classify_status(
    code: int | None, status: str | None, details: Any, model: str, backend: GeminiBackend
) -> Exception:
    """Map an HTTP failure of any Google API (`models`, Interactions) to our typed errors;
    never includes the request or its key."""
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
            return CredentialsRejected(
                f"Vertex AI refused the credentials for project "
                f"'{backend.settings.google_cloud_project}' ({status or code})"
            )
        return CredentialsRejected(f"the {name} API key was rejected; check {backend.key_hint}")
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
