"""Options as users type them (`scenes=5 aspect=9:16 …`), validated into a StoryRequest or a
VideoRequest; shared by every front end so they all accept and refuse the same things."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from core.config import Settings
from core.errors import InvalidRequest
from core.models import (
    MAX_SCENES,
    MAX_THEME_CHARS,
    MAX_VIDEO_PROMPT_CHARS,
    MAX_VIDEOS,
    VIDEO_ASPECTS,
    VIDEO_SECONDS,
    Aspect,
    StoryRequest,
    Style,
    VideoRequest,
    VoiceMode,
)

OPTION_HELP = {
    "scenes": f"1 to {MAX_SCENES}",
    "aspect": " | ".join(a.value for a in Aspect),
    "style": " | ".join(s.value for s in Style),
    "voice": "a narrator voice (see the list of voices)",
    "language": "a language code such as en, fr, es, de",
    "captions": "on | off",
    "animate": "on | off (brings each scene to life; slower, limited per day)",
    "preview": "on | off (see the scenes first: redraw a picture, change a line, then render)",
    "voices": "narrator | cast (a voice for every character; voice= is then the narrator's)",
}
_SWITCH = {"on": True, "off": False, "yes": True, "no": False, "true": True, "false": False}
HERO_THEME = "a happy adventure"  # a story asked for with a photo of its hero and no theme
NO_HEROES = "this back end cannot make a hero from a photo; send the story without one"
NEXT_THEME = "what happens next"  # a sequel asked for without saying what happens
# What a sequel takes from the story it continues rather than from the user.
_KEPT_BY_SEQUELS = ("aspect", "style", "voice", "language")


@dataclass
class StoryOptions:
    """What a user chose; None means "the default"."""

    scenes: int | None = None
    aspect: Aspect | None = None
    style: Style | None = None
    voice: str | None = None
    language: str | None = None
    captions: bool | None = None
    animate: bool | None = None
    preview: bool | None = None  # None: STORYBOT_PREVIEW_DEFAULT (the CLI always says)
    voices: VoiceMode | None = None  # None: STORYBOT_VOICES_DEFAULT

    def request(self, theme: str, settings: Settings, language: str | None = None) -> StoryRequest:
        """The request, with defaults from settings; `language` is the user's own, if known."""
        theme = theme.strip()
        if not theme:
            raise InvalidRequest("the theme is empty — say what the story is about")
        if len(theme) > MAX_THEME_CHARS:
            raise InvalidRequest(
                f"the theme is {len(theme)} characters long; please keep it under "
                f"{MAX_THEME_CHARS}"
            )
        try:
            return StoryRequest(
                theme=theme,
                scenes=self.scenes or settings.scenes,
                aspect=self.aspect or settings.aspect,
                style=self.style or settings.style,
                voice=self.voice or settings.voice,
                language=self.language or language or settings.language,
                captions=True if self.captions is None else self.captions,
                animate=bool(self.animate),
                preview=settings.preview_default if self.preview is None else self.preview,
                voices=self.voices or settings.voices_default,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidRequest(f"{first['loc'][0]}: {first['msg']}") from None


def sequel_request(
    options: StoryOptions, what_next: str, settings: Settings, language: str | None = None
) -> StoryRequest:
    """A sequel's request: scenes, captions and animation as chosen, `what_next` (or "what
    happens next") as its theme; the job service gives it the look, voice and language of the
    story it continues, so options that would change those are refused."""
    kept = [name for name in _KEPT_BY_SEQUELS if getattr(options, name) is not None]
    if kept:
        raise InvalidRequest(
            f"a sequel keeps the {kept[0]} of the story it continues; its options are "
            "scenes=, captions= and animate="
        )
    return options.request(what_next.strip() or NEXT_THEME, settings, language)


def parse_scenes(value: str) -> int:
    """A scene count from text, or `InvalidRequest`."""
    try:
        scenes = int(value)
    except ValueError:
        scenes = 0
    if not 1 <= scenes <= MAX_SCENES:
        raise InvalidRequest(f"scenes must be a number from 1 to {MAX_SCENES}, not '{value}'")
    return scenes


def parse_words(words: Sequence[str]) -> tuple[StoryOptions, str]:
    """Split `key=value` options (written before the theme) from the theme itself."""
    options = StoryOptions()
    rest = list(words)
    while rest and "=" in rest[0]:
        key, _, value = rest.pop(0).partition("=")
        set_option(options, key.strip().lower(), value.strip())
    return options, " ".join(rest)


def set_option(options: StoryOptions, key: str, value: str) -> None:
    """Validate and store one option; a bad key or value raises a one-line correction."""
    match key:
        case "scenes":
            options.scenes = parse_scenes(value)
        case "aspect":
            try:
                options.aspect = Aspect(value)
            except ValueError:
                raise InvalidRequest(f"aspect must be {OPTION_HELP['aspect']}") from None
        case "style":
            try:
                options.style = Style(value.lower())
            except ValueError:
                raise InvalidRequest(f"style must be {OPTION_HELP['style']}") from None
        case "voice":
            options.voice = value
        case "language" | "lang":
            options.language = value
        case "voices":
            try:
                options.voices = VoiceMode(value.lower())
            except ValueError:
                raise InvalidRequest(f"voices must be {OPTION_HELP['voices']}") from None
        case "captions" | "animate" | "preview":
            if value.lower() not in _SWITCH:
                raise InvalidRequest(f"{key} must be on or off")
            setattr(options, key, _SWITCH[value.lower()])
        case _:
            known = ", ".join(f"{name}=" for name in OPTION_HELP)
            raise InvalidRequest(f"unknown option '{key}' — the options are {known}")


VIDEO_OPTION_HELP = {
    "aspect": "16:9 | 16:10 | 9:16",
    "duration": f"{VIDEO_SECONDS[0]} to {VIDEO_SECONDS[1]} seconds",
    "negative": 'what the video should not show (quote several words: negative="rain, cars")',
    "people": "allow | deny",
    "count": f"1 to {MAX_VIDEOS} videos",
}


@dataclass
class VideoOptions:
    """What a user chose for a video; None means "the default"."""

    aspect: Aspect | None = None
    duration: int | None = None
    negative: str | None = None
    people: bool | None = None
    count: int | None = None

    def request(self, prompt: str) -> VideoRequest:
        """The request, or `InvalidRequest` with a one-line correction."""
        prompt = prompt.strip()
        if not prompt:
            raise InvalidRequest("the prompt is empty — say what the video should show")
        if len(prompt) > MAX_VIDEO_PROMPT_CHARS:
            raise InvalidRequest(
                f"the prompt is {len(prompt)} characters long; please keep it under "
                f"{MAX_VIDEO_PROMPT_CHARS}"
            )
        return VideoRequest(
            prompt=prompt,
            aspect=self.aspect or Aspect.LANDSCAPE,
            duration_s=self.duration or VIDEO_SECONDS[1],
            negative_prompt=self.negative or None,
            people=bool(self.people),
            count=self.count or 1,
        )


def parse_video_words(text: str) -> tuple[VideoOptions, str]:
    """Split `key=value` options (before the prompt; quotes group words) from the prompt."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()  # an unmatched quote: take the words as they are
    options = VideoOptions()
    while words and re.fullmatch(r"[A-Za-z_]+=.*", words[0]):
        key, _, value = words.pop(0).partition("=")
        set_video_option(options, key.strip().lower(), value.strip())
    return options, " ".join(words)


def set_video_option(options: VideoOptions, key: str, value: str) -> None:
    """Validate and store one video option; a bad key or value raises a one-line correction."""
    match key:
        case "aspect":
            if value not in VIDEO_ASPECTS:
                raise InvalidRequest(f"aspect must be {VIDEO_OPTION_HELP['aspect']}")
            options.aspect = Aspect(value)
        case "duration":
            options.duration = _number(value, "duration", *VIDEO_SECONDS, unit=" seconds")
        case "negative":
            options.negative = value[:500] or None
        case "people":
            allowed = {"allow": True, "deny": False, **_SWITCH}
            if value.lower() not in allowed:
                raise InvalidRequest("people must be allow or deny")
            options.people = allowed[value.lower()]
        case "count":
            options.count = _number(value, "count", 1, MAX_VIDEOS)
        case _:
            known = ", ".join(f"{name}=" for name in VIDEO_OPTION_HELP)
            raise InvalidRequest(f"unknown option '{key}' — the options are {known}")


def _number(value: str, name: str, low: int, high: int, unit: str = "") -> int:
    try:
        number = int(value.removesuffix("s"))
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise InvalidRequest(f"{name} must be a number from {low} to {high}{unit}, not '{value}'")
    return number
