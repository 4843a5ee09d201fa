"""The Gemini writer in `cast` mode: a story told by a narrator and its characters, each scene a
list of lines with their speakers, each character with a voice the writer chose from Google's
described voices (`core.voices`) to fit them. A sequel's characters keep their voices.

An answer whose lines cannot be cast (a scene without lines, an empty line, a speaker who is
neither the narrator nor a character, more than `MAX_CAST_VOICES` characters) is sent back once
with the reason; a second such answer is told by one narrator (`core.casting.narrated`: the
pipeline then adds its note). Narrator mode does not come here (`core.providers.gemini`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from google.genai import types
from pydantic import BaseModel, ValidationError

from core.cast import Hero
from core.casting import cast_problem, narrated
from core.errors import InvalidStory
from core.models import LANGUAGE_NAMES, Scene, Story, StoryRequest
from core.providers.catalog import Role
from core.providers.gemini import (
    _cast_lines,
    _first_error,
    _user,
    people_rule,
    response_parts,
)
from core.providers.google_backend import GeminiBackend
from core.voices import GEMINI_DEFAULT_VOICE, GEMINI_VOICES, find_gemini_voice, pick_gemini_voice
from core.voicing import MAX_CAST_VOICES, NARRATOR, Line, joined_text

log = logging.getLogger(__name__)


class _LineOut(BaseModel):
    speaker: str
    text: str


class _CharacterOut(BaseModel):
    name: str
    voice: str
    why: str


class _CastSceneOut(BaseModel):
    image_prompt: str
    lines: list[_LineOut]
    character_description: str


class _CastStoryOut(BaseModel):
    title: str
    characters: list[_CharacterOut]
    scenes: list[_CastSceneOut]


_CAST_PROMPT = """You are an animation video producer for young children.
Write a story about: {theme}
It has exactly {count} scenes, with interactions between the characters, a beginning, a middle \
and an end. A narrator and the characters tell it together: the characters say their own \
lines. Title and lines are in {language}; image prompts and character descriptions are in \
English.

characters: the characters who speak, at most {most}, each with:
- name: the character's name, written exactly as the speaker of their lines;
- voice: the voice from the list below that fits the character best; not {narrator} (the \
narrator's voice), and no two characters with the same voice;
- why: in a few words, why that voice fits.

For each scene:
- image_prompt: a full description of the scene, the characters in it and the background in \
about 20 words. Progressively shift the scene as the story advances. No violence.
- lines: the scene told in order, in 2 to 6 short lines of one or two sentences: the speaker \
"{narrator_name}" tells what happens, between the characters' own words; every other speaker is \
the name of one of the characters.
- character_description: {people}. Describe every character \
(consistent names, features, colours, clothing) with one art style for a children's animation, \
in about 30 words. Repeat exactly the same character_description in every scene.
Art style for every picture: {style}.{cast}{kept}

The voices (name: how it sounds):
{voices}"""

_KEPT_LINES = """
The characters of the earlier story keep their voices: {pairs}."""

_CAST_FIX = (
    "That answer could not be used: {error}. Answer again as JSON matching the schema, with "
    'exactly {count} scenes, every scene with lines, every speaker "narrator" or one of the '
    "characters."
)


def narrator_voice(request: StoryRequest, default: str | None) -> str:
    """The narrator's voice: the request's, a sequel's earlier narrator's, else `default`."""
    kept = request.sequel.voices if request.sequel is not None else {}
    for wanted in (request.voice, _folded(kept).get(NARRATOR), default):
        if wanted and (voice := find_gemini_voice(wanted)):
            return voice
    return GEMINI_DEFAULT_VOICE


def cast_prompt(request: StoryRequest, hero: Hero | None, narrator: str) -> str:
    """What the writer is asked in cast mode."""
    kept = {
        name: voice
        for name, voice in (request.sequel.voices if request.sequel is not None else {}).items()
        if name.casefold() != NARRATOR
    }
    pairs = ", ".join(f"{name}: {voice}" for name, voice in kept.items())
    return _CAST_PROMPT.format(
        theme=request.theme,
        count=request.scenes,
        language=LANGUAGE_NAMES.get(request.base_language, f"the language '{request.language}'"),
        most=MAX_CAST_VOICES,
        narrator=narrator,
        narrator_name=NARRATOR,
        style=request.style.prompt,
        people=people_rule(hero),
        cast=_cast_lines(request, hero),
        kept=_KEPT_LINES.format(pairs=pairs) if pairs else "",
        voices="\n".join(f"{voice.name}: {voice.description}" for voice in GEMINI_VOICES),
    )


async def write_cast(
    backend: GeminiBackend, request: StoryRequest, hero: Hero | None, default_voice: str | None
) -> Story:
    """Ask for the story as lines and a cast; repair once; then one narrator, or
    `InvalidStory` when not even that can be told."""
    narrator = narrator_voice(request, default_voice)
    contents: list[types.Content] = [_user(cast_prompt(request, hero, narrator))]
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=_CastStoryOut
    )
    untold: Story | None = None  # a story whose lines could not be cast, for one narrator
    for attempt in range(2):
        response = await backend.generate(Role.TEXT, contents, config)
        text = "".join(p.text or "" for p in response_parts(response, "story") if not p.thought)
        try:
            story, problem = read_cast(text, request, narrator)
        except ValueError as exc:
            problem = str(exc)
        else:
            if problem is None:
                return story
            untold = story
        log.info("cast story attempt %d unusable: %s", attempt + 1, problem)
        contents += [
            types.Content(role="model", parts=[types.Part.from_text(text=text or "{}")]),
            _user(_CAST_FIX.format(error=problem, count=request.scenes)),
        ]
    if untold is not None:
        log.info("the cast story's lines could not be cast twice: one narrator tells it")
        return narrated(untold)
    raise InvalidStory("the story model gave an unusable story twice; please try again")


def read_cast(text: str, request: StoryRequest, narrator: str) -> tuple[Story, str | None]:
    """The story in the model's JSON and why its lines cannot be cast (None: they can); raise
    ValueError when there is no story to tell at all. Empty lines are left out of the story
    (and reported); speakers are spelt as their character's name."""
    try:
        raw = _CastStoryOut.model_validate_json(text)
    except ValidationError as exc:
        raise ValueError(_first_error(exc)) from None
    if len(raw.scenes) != request.scenes:
        raise ValueError(f"it has {len(raw.scenes)} scenes instead of {request.scenes}")
    names = {c.name.strip().casefold(): c.name.strip() for c in raw.characters if c.name.strip()}
    names[NARRATOR] = NARRATOR
    problem: str | None = None
    scenes: list[Scene] = []
    try:
        for number, out in enumerate(raw.scenes, start=1):
            said = [line for line in out.lines if line.text.strip()]
            if len(said) < len(out.lines) and problem is None:
                problem = f"scene {number} has an empty line"
            if not said:
                raise ValueError(f"scene {number} has no lines")
            lines = tuple(
                Line(
                    speaker=names.get(line.speaker.strip().casefold(), line.speaker),
                    text=line.text,
                )
                for line in said
            )
            scenes.append(
                Scene(
                    image_prompt=out.image_prompt,
                    narration=joined_text(lines),
                    character_description=out.character_description,
                    lines=lines,
                )
            )
        story = Story(
            title=raw.title,
            theme=request.theme,
            style=request.style,
            language=request.language,
            scenes=scenes,
            voices=_voices(raw.characters, scenes, narrator, request),
        )
    except ValidationError as exc:
        raise ValueError(_first_error(exc)) from None
    return story, problem or cast_problem(story)


def _voices(
    characters: list[_CharacterOut], scenes: list[Scene], narrator: str, request: StoryRequest
) -> dict[str, str]:
    """The narrator's voice and each speaking character's: a sequel's earlier voice first,
    then the writer's choice if Google has it and no one has it yet, else a fixed pick."""
    kept = _folded(request.sequel.voices if request.sequel is not None else {})
    speaking = {
        line.speaker.casefold() for s in scenes for line in s.lines if not line.by_narrator
    }
    wanted: dict[str, str] = {}  # name → the voice asked for, kept voices first
    for character in characters:
        name, key = character.name.strip(), character.name.strip().casefold()
        if key in speaking and key != NARRATOR and key not in _folded(wanted):
            wanted[name] = kept.get(key) or find_gemini_voice(character.voice) or ""
    order = sorted(wanted, key=lambda name: name.casefold() not in kept)
    voices = {NARRATOR: narrator}
    for name in order:
        voice = wanted[name]
        if not voice or voice in voices.values():
            voice = pick_gemini_voice(len(voices), set(voices.values()), narrator)
        voices[name] = voice
    return {NARRATOR: narrator} | {name: voices[name] for name in wanted}


def _folded(voices: Mapping[str, str]) -> dict[str, str]:
    return {name.strip().casefold(): voice for name, voice in voices.items()}
