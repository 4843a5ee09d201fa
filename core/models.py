"""Value objects shared by the pipeline, the providers and the front ends."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal, NewType

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from core.cast import SEQUEL_THEME as SEQUEL_THEME
from core.cast import SequelBrief

# Re-exported: the front ends import value types from this module only.
from core.formats import VIDEO_ASPECTS as VIDEO_ASPECTS
from core.formats import Aspect as Aspect
from core.formats import Style as Style
from core.voicing import Line as Line
from core.voicing import VoiceMode as VoiceMode

JobId = NewType("JobId", str)

MAX_SCENES = 10
MAX_THEME_CHARS = 500
MAX_VIDEO_PROMPT_CHARS = 1000
MAX_VIDEOS = 4
VIDEO_SECONDS = (4, 8)  # the range users may ask for; each model rounds to what it makes

# Languages offered by name (prompts, autocomplete); any other code is passed on as it is.
LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "es": "Spanish", "de": "German", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "ru": "Russian", "uk": "Ukrainian",
    "tr": "Turkish", "ar": "Arabic", "hi": "Hindi", "ja": "Japanese", "ko": "Korean",
    "zh": "Chinese", "id": "Indonesian", "vi": "Vietnamese", "th": "Thai", "sv": "Swedish",
}  # fmt: skip


ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]
# A scene's narration: one line, or a cast's lines joined (each at most 400 characters).
NarrationText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=800)]


class Scene(BaseModel):
    """One page of the story: what to draw, what to say, who is in it."""

    model_config = ConfigDict(frozen=True)

    image_prompt: LongText
    narration: NarrationText
    character_description: LongText
    lines: tuple[Line, ...] = ()  # in `cast` mode: who says what, in order (narration: joined)


class Story(BaseModel):
    """A validated story of 1..10 scenes."""

    model_config = ConfigDict(frozen=True)

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160)]
    theme: Annotated[str, StringConstraints(min_length=1, max_length=MAX_THEME_CHARS)]
    style: Style
    language: str
    scenes: list[Scene] = Field(min_length=1, max_length=MAX_SCENES)
    voices: dict[str, str] = Field(default_factory=dict)  # speaker → voice, in `cast` mode


class StoryRequest(BaseModel):
    """What a user asked for; validated before any work starts."""

    model_config = ConfigDict(frozen=True)

    theme: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_THEME_CHARS)
    ]
    scenes: int = Field(default=5, ge=1, le=MAX_SCENES)
    aspect: Aspect = Aspect.LANDSCAPE
    style: Style = Style.STORYBOOK
    voice: str | None = None
    language: str = "en"
    captions: bool = True
    animate: bool = False
    hero: bool = False  # a photo of the hero is stored with the job (`core.cast.HERO_PHOTO`)
    sequel: SequelBrief | None = None  # the story this one continues
    preview: bool = False  # stop at a storyboard (story and pictures) for the user's approval
    voices: VoiceMode = VoiceMode.NARRATOR  # one narrator, or a voice per character

    @field_validator("language")
    @classmethod
    def _language_code(cls, value: str) -> str:
        value = value.strip().lower().replace("_", "-")
        if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", value):
            raise ValueError("language must be a code such as en, fr or pt-br")
        return value

    @property
    def base_language(self) -> str:
        """The language without its region: `pt-br` → `pt`."""
        return self.language.split("-", 1)[0]


class VideoRequest(BaseModel):
    """A `/video` job: a prompt (and optionally a first-frame picture, stored with the job)
    becomes one or more short clips."""

    model_config = ConfigDict(frozen=True)

    prompt: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_VIDEO_PROMPT_CHARS),
    ]
    aspect: Aspect = Aspect.LANDSCAPE
    duration_s: int = Field(default=8, ge=VIDEO_SECONDS[0], le=VIDEO_SECONDS[1])
    negative_prompt: str | None = Field(default=None, max_length=500)
    people: bool = False
    count: int = Field(default=1, ge=1, le=MAX_VIDEOS)
    has_image: bool = False

    @field_validator("aspect")
    @classmethod
    def _video_aspect(cls, value: Aspect) -> Aspect:
        if value not in VIDEO_ASPECTS:
            raise ValueError(f"videos are {', '.join(VIDEO_ASPECTS)}")
        return value


@dataclass(frozen=True, slots=True)
class Speech:
    """Narration audio: signed 16-bit little-endian mono PCM at `sample_rate`."""

    pcm: bytes
    sample_rate: int = 24_000

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.pcm) / 2 / self.sample_rate


@dataclass(frozen=True, slots=True)
class Voice:
    """A narrator voice as listed by `storybot voices`."""

    name: str
    language: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ClipRequest:
    """One animation: a prompt, optionally a first-frame picture, and the clip's shape."""

    prompt: str
    aspect: Aspect
    duration_s: float  # wanted; the animator rounds it to what its model allows
    image: bytes | None = None  # PNG or JPEG of the first frame
    negative_prompt: str | None = None
    people: bool = False
    count: int = 1
    sound: bool = True  # ask for the clip's own sound (costs more where the model makes it)


class StoryVideo(BaseModel):
    """The finished product of one story job. Files are named within the job's folder of the
    artifact store (`JobService.file` gives a local copy)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["story"] = "story"
    video: str
    thumbnail: str
    duration_s: float
    width: int
    height: int
    story: Story
    scene_starts_s: tuple[float, ...]
    notes: tuple[str, ...] = ()
    subtitles: str | None = None
    animated: int = 0  # scenes shown as clips rather than stills

    @property
    def video_files(self) -> tuple[str, ...]:
        """The video(s), in order."""
        return (self.video,)

    @property
    def files(self) -> tuple[str, ...]:
        """Every file the job keeps: the video, the thumbnail, the subtitles."""
        return (self.video, self.thumbnail, *([self.subtitles] if self.subtitles else []))


class VideoClips(BaseModel):
    """The finished product of one video job: one MP4 per generated video."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["video"] = "video"
    videos: tuple[str, ...]
    thumbnail: str
    duration_s: float  # of the first video
    width: int
    height: int
    prompt: str
    notes: tuple[str, ...] = ()

    @property
    def video_files(self) -> tuple[str, ...]:
        """The video(s), in order."""
        return self.videos

    @property
    def files(self) -> tuple[str, ...]:
        """Every file the job keeps: the videos and the thumbnail."""
        return (*self.videos, self.thumbnail)


# What a job makes.
JobResult = StoryVideo | VideoClips


# ---------------------------------------------------------------------------------- jobs


class JobStatus(StrEnum):
    """Where a job is, in the REST API's words."""

    PENDING = "pending"  # queued
    PROCESSING = "processing"  # writing the story
    GENERATING = "generating"  # pictures, narration, animation, assembly
    DOWNLOADING = "downloading"  # fetching remote results
    AWAITING_APPROVAL = "awaiting_approval"  # a storyboard waits for the user (no worker holds it)
    COMPLETED = "completed"  # the output exists
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """No more work will happen."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


UNFINISHED = (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.GENERATING, JobStatus.DOWNLOADING)


# The outbox consumer that POSTs an HTTP job's result to its webhook URL.
WEBHOOK = "webhook"
# Front ends whose output is the stored file itself: no delivery waits in the outbox for them.
LOCAL_PLATFORMS = frozenset({"cli", "http"})


class Delivery(StrEnum):
    """Whether a consumer of the outbox (a chat front end, the webhook) has the job yet."""

    PENDING = "pending"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    UNCONFIRMED = "unconfirmed"  # sent, but the platform never confirmed it; not re-sent
    FAILED = "failed"

    @property
    def settled(self) -> bool:
        """No more attempts will be made."""
        return self in (Delivery.DELIVERED, Delivery.UNCONFIRMED, Delivery.FAILED)


class JobKind(StrEnum):
    """What a job makes."""

    STORY = "story"
    VIDEO = "video"


@dataclass(frozen=True, slots=True)
class Origin:
    """Who asked, where, and the message ids the front end needs to answer there."""

    platform: str  # cli, telegram, discord, http
    user_id: str
    chat_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class JobOutcome(BaseModel):
    """A completed job's stored result: one versioned document, written and read by this
    model alone."""

    model_config = ConfigDict(frozen=True)

    version: Literal[1] = 1
    result: Annotated[StoryVideo | VideoClips, Field(discriminator="kind")]
    backend: str
    models: dict[str, str] = Field(default_factory=dict)
    stage_s: dict[str, float] = Field(default_factory=dict)
    file_sizes: tuple[int, ...] = ()  # of the videos, in order


@dataclass(frozen=True, slots=True)
class Job:
    """One job as the store holds it."""

    id: JobId
    kind: JobKind
    origin: Origin
    request: StoryRequest | VideoRequest
    status: JobStatus = JobStatus.PENDING
    percent: int = 0
    message: str = ""
    error: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    completed_at: datetime | None = None
    outcome: JobOutcome | None = None
    keep_files: bool = False
    files_removed: bool = False  # housekeeping removed its files
    cancel_requested: bool = False
    attempt: int = 0  # how many times a worker has claimed it
    delivery: Delivery = Delivery.PENDING  # to its own platform (see the outbox)
    delivery_attempts: int = 0

    @property
    def subject(self) -> str:
        """What the job is about: a story's theme, or a video's prompt."""
        request = self.request
        return request.theme if isinstance(request, StoryRequest) else request.prompt

    @property
    def result(self) -> JobResult | None:
        """What a completed job made."""
        return self.outcome.result if self.outcome is not None else None


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One try of an outbox consumer: when, and the HTTP status or the error it got."""

    at: datetime
    status: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One consumer's delivery of one job: its state and every attempt so far."""

    job_id: JobId
    consumer: str
    state: Delivery
    tries: int = 0  # started, including one a crash cut short
    attempts: tuple[DeliveryAttempt, ...] = ()  # finished tries


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the running back end offers, built once at start for the front ends."""

    backend: str  # offline, gemini, vertex
    voices: tuple[Voice, ...]
    languages: frozenset[str] | None  # story languages; None: any language code
    can_animate: bool = False  # animated stories
    can_make_videos: bool = False  # /video jobs
    remote: bool = False  # calls a paid service (slower, estimates differ)
    heroes: bool = False  # a photo's subject can be a story's hero

    def writes(self, language: str) -> bool:
        """Whether stories can be written in `language` (e.g. the user's own)."""
        base = language.strip().lower().replace("_", "-").split("-")[0]
        return bool(base) and (self.languages is None or base in self.languages)
