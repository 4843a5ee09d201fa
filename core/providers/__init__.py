"""Provider Protocols (story writer, illustrator, narrator, animator) and their selection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from core.cast import Hero
from core.config import ImageBackend, NarratorChoice, ProviderChoice, Settings
from core.models import Aspect, ClipRequest, Scene, Speech, Story, StoryRequest, Style, Voice
from core.progress import ClipPhase
from core.providers.offline import (
    OfflineAnimator,
    OfflineHeroDesigner,
    OfflineIllustrator,
    OfflineNarrator,
    OfflineStoryWriter,
)
from core.voicing import VoicedLine

if TYPE_CHECKING:
    from google.auth.credentials import Credentials


class StoryWriter(Protocol):
    """Writes a story of N scenes for a request."""

    name: str

    @property
    def languages(self) -> tuple[str, ...] | None:
        """The base language codes it writes; None: any."""
        ...

    def check_language(self, language: str) -> None:
        """Raise `UnsupportedLanguage` before any work if the language cannot be written."""
        ...

    async def write(self, request: StoryRequest, hero: Hero | None = None) -> Story:
        """Write and validate the story (`hero`: the main character, from the user's photo;
        `request.sequel`: the story it continues)."""
        ...

    async def soften(self, scene: Scene) -> Scene:
        """Rephrase a scene whose picture a safety filter refused."""
        ...


class HeroDesigner(Protocol):
    """Turns a user's photo of a pet, a toy or a drawing into the story's hero."""

    name: str

    async def describe(self, photo: bytes, *, theme: str, language: str) -> Hero:
        """What the photo's subject is and looks like, named (by the theme, if it names it).
        `InvalidRequest` when it shows no clear subject; `ContentRejected` when refused."""
        ...

    async def character_sheet(self, photo: bytes, hero: Hero, *, style: Style) -> bytes:
        """The hero alone, full figure, on a plain background, in the story's style: the
        reference picture of every scene."""
        ...


class Illustrator(Protocol):
    """Draws one scene as PNG (or JPEG) bytes, optionally matching a reference picture."""

    name: str

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        """Draw the scene in the style and aspect ratio."""
        ...


class Narrator(Protocol):
    """Speaks one narration line."""

    name: str

    def voices(self) -> list[Voice]:
        """The voices a user may pick."""
        ...

    def check_voice(self, voice: str | None, language: str) -> None:
        """Raise `InvalidRequest` for an unknown voice (before any work starts)."""
        ...

    async def speak(self, text: str, *, voice: str | None, language: str) -> Speech:
        """Return the narration as PCM."""
        ...


class CastNarrator(Protocol):
    """Speaks a cast's lines, each speaker in a voice of its own (`cast` mode)."""

    name: str
    max_speakers: int  # distinct speakers one request can voice (more: a request per line)

    def cast_voices(self) -> list[Voice]:
        """The voices a speaker may get, described (a writer picks among them)."""
        ...

    def check_voice(self, voice: str | None, language: str) -> None:
        """Raise `InvalidRequest` for an unknown voice."""
        ...

    def pick_voice(self, speaker: int, language: str, taken: Collection[str]) -> str:
        """A voice for speaker number `speaker` (0: the narrator, 1…: the characters in order)
        that is none of `taken`: the same answer every time for the same arguments."""
        ...

    async def speak_lines(self, lines: Sequence[VoicedLine], *, language: str) -> list[Speech]:
        """Speak `lines` (at most `max_speakers` distinct speakers) with as few requests as
        the back end allows; one Speech per line, in order, each only that line's audio."""
        ...


# Called by `Animator.wait` at every poll and before fetching the clips.
ClipStatus = Callable[[ClipPhase], Awaitable[None]]


class Animator(Protocol):
    """Turns a prompt (and a first-frame picture) into MP4 clips through a long-running
    operation: `start` returns the operation's name at once, so the caller can checkpoint it,
    and `wait` polls that operation (also after a restart) until its clips are ready."""

    name: str

    @property
    def model(self) -> str:
        """The video model in use now."""
        ...

    def clip_length(self, wanted_s: float) -> float:
        """The clip length the model will make for a wanted length (rounded up if it can)."""
        ...

    async def start(self, request: ClipRequest) -> str:
        """Start the operation; returns its name."""
        ...

    async def wait(self, operation: str, request: ClipRequest, status: ClipStatus) -> list[bytes]:
        """Poll until done; the MP4 bytes of each clip. Raises `ContentRejected` when the
        result was filtered, `ProviderError` when the operation failed."""
        ...


@dataclass(slots=True)
class Providers:
    """The providers one pipeline uses, and a label saying which back end they are."""

    writer: StoryWriter
    illustrator: Illustrator
    narrator: Narrator
    animator: Animator | None = None
    designer: HeroDesigner | None = None  # None: this back end takes no hero photo
    # Draws the scenes that must match a cast picture, when `illustrator` cannot (Imagen).
    cast_illustrator: Illustrator | None = None
    # Speaks `cast` stories (a voice per character): the TTS narrator even where the story
    # narrator is Live; None: this back end tells every story with one narrator.
    cast_narrator: CastNarrator | None = None
    label: str = "offline"
    close: Callable[[], Awaitable[None]] | None = None
    # What each step uses, for job metadata; the Gemini back end keeps it current as models
    # are resolved and replaced.
    models: dict[str, str] = field(default_factory=dict)
    # Resolves the models at start (Gemini); raises `ConfigurationError` when one is missing.
    prepare_models: Callable[[], Awaitable[None]] | None = None

    async def prepare(self) -> None:
        """Check, before any job, that every needed model exists (no-op offline)."""
        if self.prepare_models is not None:
            await self.prepare_models()

    async def aclose(self) -> None:
        """Close clients held by the providers (the offline ones hold none)."""
        if self.close is not None:
            await self.close()


def build_providers(settings: Settings, *, credentials: Credentials | None = None) -> Providers:
    """Pick the back end from settings (`STORYBOT_PROVIDER`, credentials).

    `credentials` replaces application default credentials in Vertex AI project mode.
    """
    match settings.active_provider:
        case ProviderChoice.OFFLINE | ProviderChoice.AUTO:
            models = {"story": "offline templates", "pictures": "offline Pillow drawing",
                      "narration": "eSpeak NG", "animation": "offline camera move"}  # fmt: skip
            narrator = OfflineNarrator()
            return Providers(
                OfflineStoryWriter(),
                OfflineIllustrator(),
                narrator,
                OfflineAnimator(),
                OfflineHeroDesigner(),
                cast_narrator=narrator,
                models=models,
            )
        case ProviderChoice.GEMINI:
            return _google(settings, credentials)


def _google(settings: Settings, credentials: Credentials | None) -> Providers:
    # Imported here: the SDK is slow to import and the offline back end does not need it.
    from core.providers.gemini import GeminiIllustrator, GeminiStoryWriter
    from core.providers.gemini_hero import GeminiHeroDesigner
    from core.providers.gemini_tts import GeminiNarrator
    from core.providers.google_backend import GeminiBackend, check_model_settings
    from core.providers.imagen import ImagenIllustrator
    from core.providers.live import LiveNarrator
    from core.providers.startup import StartupCheck
    from core.providers.veo import InteractionsAnimator, VeoAnimator

    check_model_settings(settings)
    backend = GeminiBackend(settings, credentials=credentials)
    gemini_pictures = GeminiIllustrator(backend)
    illustrator: Illustrator = (
        ImagenIllustrator(backend, gemini_pictures)
        if settings.image_backend is ImageBackend.IMAGEN
        else gemini_pictures
    )
    tts = GeminiNarrator(backend, settings.voice)
    narrator: Narrator = (
        LiveNarrator(backend, tts, settings.live_timeout_s)
        if settings.narrator is NarratorChoice.LIVE
        else tts
    )
    animator: Animator = (
        VeoAnimator(backend, settings.video_poll_s)
        if settings.use_vertexai
        else InteractionsAnimator(backend, settings.video_poll_s)
    )
    return Providers(
        GeminiStoryWriter(backend, settings.voice),
        illustrator,
        narrator,
        animator,
        GeminiHeroDesigner(backend),
        # Imagen takes no reference picture: scenes that must match a cast picture (a hero's
        # character sheet, a sequel's) are drawn by the Gemini image model.
        cast_illustrator=gemini_pictures,
        cast_narrator=tts,  # cast stories: spoken by the TTS model, even where narration is Live
        label="vertex" if settings.use_vertexai else "gemini",
        close=backend.aclose,
        models=backend.models.in_use,
        prepare_models=StartupCheck(backend.models, settings).run,
    )
