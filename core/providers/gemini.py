"""Gemini back end: story writing and pictures through google-genai; SDK types stay here."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from google.genai import types
from pydantic import BaseModel, ValidationError

from core.cast import Hero
from core.errors import ContentRejected, InvalidStory, ProviderUnavailable
from core.models import LANGUAGE_NAMES, Aspect, Scene, Story, StoryRequest, Style
from core.providers.catalog import Role
from core.providers.google_backend import GeminiBackend
from core.voicing import VoiceMode

log = logging.getLogger(__name__)

_BLOCKED_FINISH = {
    "SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "RECITATION", "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "IMAGE_OTHER", "NO_IMAGE",
}  # fmt: skip


def response_parts(response: types.GenerateContentResponse, what: str) -> Iterator[types.Part]:
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
- character_description: {people}. Describe every character \
(consistent names, features, colours, clothing) with one art style for a children's animation, \
in about 30 words. Repeat exactly the same character_description in every scene.
Art style for every picture: {style}.{cast}"""

_HERO_LINES = """
The main character is {name}, {kind}, from a photo the family sent. Use the name {name} in the \
title and the narration, and describe {name} exactly like this in every character_description: \
{looks}"""

_SEQUEL_LINES = """
This story is part {part} and continues "{title}". What happened before: {summary}
Keep the same characters, with the same names and looks: {characters}
Carry on from where it ended; do not tell the first story again."""

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
    """Writes the story as structured JSON with a Gemini text model (in `cast` mode as lines
    and a cast of voices: `core.providers.gemini_cast`)."""

    name = "gemini"
    languages = None  # any language

    def __init__(self, backend: GeminiBackend, narrator_voice: str | None = None) -> None:
        self.backend = backend
        self.narrator_voice = narrator_voice  # the narrator's voice when a request names none

    def check_language(self, language: str) -> None:
        """Gemini writes in any language."""

    async def write(self, request: StoryRequest, hero: Hero | None = None) -> Story:
        """Ask for N scenes; a malformed or short answer is retried once with the error."""
        if request.voices is VoiceMode.CAST:
            # Imported here: the cast writer builds on this module's helpers.
            from core.providers.gemini_cast import write_cast

            return await write_cast(self.backend, request, hero, self.narrator_voice)
        language = LANGUAGE_NAMES.get(request.base_language, f"the language '{request.language}'")
        prompt = _STORY_PROMPT.format(
            theme=request.theme,
            count=request.scenes,
            language=language,
            style=request.style.prompt,
            people=people_rule(hero),
            cast=_cast_lines(request, hero),
        )
        contents: list[types.Content] = [_user(prompt)]
        # No sampling parameters: current Gemini models deprecate them (changelog 2026-07-21).
        config = types.GenerateContentConfig(
            response_mime_type="application/json", response_schema=_StoryOut
        )
        for attempt in range(2):
            response = await self.backend.generate(Role.TEXT, contents, config)
            text = "".join(
                p.text or "" for p in response_parts(response, "story") if not p.thought
            )
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
            Role.TEXT, [_user(_SOFTEN_PROMPT.format(prompt=scene.image_prompt))], config
        )
        text = "".join(p.text or "" for p in response_parts(response, "rephrased prompt"))
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


def people_rule(hero: Hero | None) -> str:
    """Who may be drawn: animals and objects, and the hero if a photo gave one."""
    if hero is not None:
        return f"apart from {hero.name}, no people, only animals and objects"
    return "no people ever, only animals and objects"


def _cast_lines(request: StoryRequest, hero: Hero | None) -> str:
    """What the writer is told of the hero from the photo and of the story a sequel continues."""
    lines = ""
    if hero is not None:
        lines += _HERO_LINES.format(name=hero.name, kind=hero.kind, looks=hero.looks)
    if (sequel := request.sequel) is not None:
        lines += _SEQUEL_LINES.format(
            part=sequel.part, title=sequel.title, summary=sequel.summary,
            characters=sequel.characters,
        )  # fmt: skip
    return lines


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

    def __init__(self, backend: GeminiBackend) -> None:
        self.backend = backend

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
            image_config=types.ImageConfig(aspect_ratio=aspect.drawn.value),
        )
        response = await self.backend.generate(
            Role.IMAGE, [types.Content(role="user", parts=parts)], config
        )
        return first_picture(response, "picture", "Gemini returned no picture for this scene")


def first_picture(response: types.GenerateContentResponse, what: str, missing: str) -> bytes:
    """The first picture of an image model's answer; `ContentRejected` (saying `missing`) when
    there is none."""
    for part in response_parts(response, what):
        blob = part.inline_data
        if blob and blob.data and (blob.mime_type or "").startswith("image/") and not part.thought:
            return blob.data
    raise ContentRejected(missing)


def image_mime(data: bytes) -> str:
    """The MIME type of PNG or JPEG bytes."""
    return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"
