"""`storybot doctor`: checks credentials, model visibility, ffmpeg, eSpeak and chat tokens."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.config import ProviderChoice, Settings
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


_WHY = {
    "setting": "your setting", "preferred": "preferred", "discovered": "discovered",
    "unverified": "not verified: the model list could not be read",
}  # fmt: skip


async def _gemini(settings: Settings, credentials: Credentials | None) -> list[Check]:
    from core.providers.catalog import LABEL, SETTING, Role
    from core.providers.google_backend import GeminiBackend, check_model_settings
    from core.providers.startup import StartupCheck

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
        check_model_settings(settings)
        backend = GeminiBackend(
            settings.model_copy(update={"retry_budget_s": 15.0}), credentials=credentials
        )
    except CoreError as exc:
        return [*checks, Check("configuration", False, exc.message)]
    checks.append(Check("credentials", True, auth))
    try:
        statuses = await StartupCheck(backend.models, settings).statuses()
    except CoreError as exc:
        return [*checks, Check("models", False, exc.message)]
    finally:
        await backend.aclose()
    for status in statuses:
        role, choice = status.role, status.choice
        if choice is not None:
            checks.append(Check(LABEL[role], True, f"{choice.model} ({_WHY[choice.why]})"))
        elif role is Role.IMAGEN:
            checks.append(Check(LABEL[role], True, "none available; the image model draws"))
        else:
            missing = f"none available — set {SETTING[role]}"
            if role is Role.VIDEO:
                missing += "; animated stories will show stills"
            checks.append(Check(LABEL[role], not status.required, missing))
    return checks
