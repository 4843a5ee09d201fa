"""Story options as users type them (`scenes=5 aspect=9:16 …`), validated into a StoryRequest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from core.config import Settings
from core.errors import InvalidRequest
from core.models import MAX_SCENES, MAX_THEME_CHARS, Aspect, StoryRequest, Style

OPTION_HELP = {
    "scenes": f"1 to {MAX_SCENES}",
    "aspect": " | ".join(a.value for a in Aspect),
    "style": " | ".join(s.value for s in Style),
    "voice": "a narrator voice (see the list of voices)",
    "language": "a language code such as en, fr, es, de",
    "captions": "on | off",
    "animate": "on | off (brings each scene to life; slower, limited per day)",
}
_SWITCH = {"on": True, "off": False, "yes": True, "no": False, "true": True, "false": False}


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
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidRequest(f"{first['loc'][0]}: {first['msg']}") from None


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
        case "captions" | "animate":
            if value.lower() not in _SWITCH:
                raise InvalidRequest(f"{key} must be on or off")
            setattr(options, key, _SWITCH[value.lower()])
        case _:
            known = ", ".join(f"{name}=" for name in OPTION_HELP)
            raise InvalidRequest(f"unknown option '{key}' — the options are {known}")
