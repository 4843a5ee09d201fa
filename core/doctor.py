"""`storybot doctor`: checks credentials, model visibility, ffmpeg, eSpeak and chat tokens."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.config import NarratorChoice, ProviderChoice, Settings
from core.errors import CoreError
from core.ffmpeg import ffmpeg_exe

if TYPE_CHECKING:
    from google.auth.credentials import Credentials


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report; a failed check makes `doctor` exit non-zero."""

    name: str
    ok: bool
    detail: str


async def diagnose(settings: Settings, *, credentials: Credentials | None = None) -> list[Check]:
    """Run every check for the active configuration (`credentials` replaces application
    default credentials in Vertex AI project mode)."""
    checks = [await _ffmpeg(), await _espeak()]
    if settings.active_provider is ProviderChoice.GEMINI:
        checks += await _gemini(settings, credentials)
    else:
        checks.append(Check("back end", True, "offline (set GEMINI_API_KEY to use Gemini)"))
    for name, token in (
        ("TELEGRAM_BOT_TOKEN", settings.telegram_bot_token),
        ("DISCORD_BOT_TOKEN", settings.discord_bot_token),
    ):
        checks.append(Check(name, True, "set" if token else "not set (that front end is off)"))
    return checks


async def _ffmpeg() -> Check:
    try:
        process = await asyncio.create_subprocess_exec(
            ffmpeg_exe(), "-version", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        output, _ = await process.communicate()
    except (OSError, RuntimeError) as exc:
        return Check("ffmpeg", False, f"cannot run the bundled ffmpeg: {exc}")
    first = output.decode(errors="replace").splitlines()[0] if output else "no output"
    return Check("ffmpeg", process.returncode == 0, first[:80])


async def _espeak() -> Check:
    from core.providers.offline import OfflineNarrator

    try:
        voices = await asyncio.to_thread(OfflineNarrator().voices)
    except (OSError, CoreError) as exc:
        return Check("eSpeak NG", False, f"cannot load the speech engine: {exc}")
    return Check("eSpeak NG", True, f"{len(voices)} offline voices")


_VEO_NEEDS_VERTEX = (
    "Veo is served only on Vertex AI by google-genai 3.x: animation needs "
    "GOOGLE_GENAI_USE_VERTEXAI=true, or a video-capable Gemini model in STORYBOT_VIDEO_MODEL"
)
_NO_ANIMATION = " — animated stories will show stills"
_IMAGEN_RETIRED = (
    " (Imagen models are being retired: set STORYBOT_IMAGEN_MODEL, "
    "or STORYBOT_IMAGE_BACKEND=gemini)"
)


async def _gemini(settings: Settings, credentials: Credentials | None) -> list[Check]:
    from core.providers.gemini import GeminiBackend

    if settings.vertex_project_mode:
        mode = (
            f"Vertex AI, project {settings.google_cloud_project} in "
            f"{settings.google_cloud_location}"
        )
        auth = "application default credentials"
    elif settings.use_vertexai:
        mode, auth = "Vertex AI express mode", "API key from GOOGLE_API_KEY/GEMINI_API_KEY"
    else:
        source = "GEMINI_API_KEY" if settings.gemini_api_key else "GOOGLE_API_KEY"
        mode, auth = "Gemini Developer API", f"API key from {source}"
    checks = [Check("back end", True, f"gemini ({mode})")]
    try:
        backend = GeminiBackend(
            settings.model_copy(update={"retry_budget_s": 15.0}), credentials=credentials
        )
    except CoreError as exc:
        return [*checks, Check("configuration", False, exc.message)]
    checks.append(Check("credentials", True, auth))
    roles = [
        ("text model", settings.text_model),
        (f"image model ({settings.image_backend.value})", settings.picture_model),
        ("TTS model", settings.tts_model),
    ]
    if settings.narrator is NarratorChoice.LIVE:
        roles.append(("Live narration model", settings.live_model))
    # Animation is opt-in: without a usable video model, stories are still made (as stills).
    video = "video model (animation)"
    if settings.use_vertexai or not settings.video_model.startswith("veo"):
        roles.append((video, settings.video_model))
    try:
        found = await asyncio.gather(*(backend.has_model(model) for _, model in roles))
    except CoreError as exc:
        return [*checks, Check("models", False, exc.message)]
    finally:
        await backend.aclose()
    for (role, model), ok in zip(roles, found, strict=True):
        detail = model if ok else f"{model} is not available to these credentials"
        if not ok and model == settings.imagen_model:
            detail += _IMAGEN_RETIRED
        if not ok and role == video:
            detail += _NO_ANIMATION
        checks.append(Check(role, ok or role == video, detail))
    if video not in (role for role, _ in roles):
        checks.append(Check(video, True, _VEO_NEEDS_VERTEX + _NO_ANIMATION))
    return checks
