"""Value objects shared by the pipeline, the providers and the front ends."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NewType

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

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


class Aspect(StrEnum):
    """Output aspect ratio; the value is what users type and what the image APIs accept."""

    LANDSCAPE = "16:9"
    PORTRAIT = "9:16"
    SQUARE = "1:1"

    @property
    def size(self) -> tuple[int, int]:
        """Output frame size in pixels (width, height), both even."""
        return _ASPECT_SIZES[self]


_ASPECT_SIZES = {
    Aspect.LANDSCAPE: (1280, 720),
    Aspect.PORTRAIT: (720, 1280),
    Aspect.SQUARE: (1080, 1080),
}


class Style(StrEnum):
    """Art styles a user can pick; one style is kept for every scene of a story."""

    STORYBOOK = "storybook"
    WATERCOLOR = "watercolor"
    CARTOON_3D = "3d-cartoon"
    ANIME = "anime"
    CLAYMATION = "claymation"
    PAPER_CUTOUT = "paper-cutout"

    @property
    def prompt(self) -> str:
        """The style prefix sent to image models."""
        return _STYLE_PROMPTS[self]


_STYLE_PROMPTS = {
    Style.STORYBOOK: "Detailed children's storybook illustration, soft warm colours",
    Style.WATERCOLOR: "Children's book watercolour painting, soft washes, visible paper texture",
    Style.CARTOON_3D: "Cute 3D animated cartoon for kids, rounded shapes, soft studio lighting",
    Style.ANIME: "Gentle hand-drawn anime style for children, clean lines, bright pastel colours",
    Style.CLAYMATION: "Claymation stop-motion look for kids, plasticine characters, handmade sets",
    Style.PAPER_CUTOUT: "Layered paper cut-out collage for kids, flat shapes, paper texture",
}

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=800)]


class Scene(BaseModel):
    """One page of the story: what to draw, what to say, who is in it."""

    model_config = ConfigDict(frozen=True)

    image_prompt: LongText
    narration: ShortText
    character_description: LongText


class Story(BaseModel):
    """A validated story of 1..10 scenes."""

    model_config = ConfigDict(frozen=True)

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160)]
    theme: Annotated[str, StringConstraints(min_length=1, max_length=MAX_THEME_CHARS)]
    style: Style
    language: str
    scenes: list[Scene] = Field(min_length=1, max_length=MAX_SCENES)


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
        if value is Aspect.SQUARE:
            raise ValueError("videos are 16:9 or 9:16")
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


@dataclass(frozen=True, slots=True)
class StoryVideo:
    """The finished product of one story job."""

    video: Path
    thumbnail: Path
    duration_s: float
    width: int
    height: int
    story: Story
    scene_starts_s: tuple[float, ...]
    notes: tuple[str, ...] = field(default=())
    subtitles: Path | None = None
    animated: int = 0  # scenes shown as clips rather than stills


@dataclass(frozen=True, slots=True)
class VideoClips:
    """The finished product of one video job: one MP4 per generated video."""

    videos: tuple[Path, ...]
    thumbnail: Path
    duration_s: float  # of the first video
    width: int
    height: int
    prompt: str
    notes: tuple[str, ...] = field(default=())


# What a job makes.
JobResult = StoryVideo | VideoClips


def slugify(text: str, max_len: int = 48) -> str:
    """A file-name-safe ASCII slug of `text` (`"A cat & a dog!"` → `a-cat-a-dog`)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "story"
