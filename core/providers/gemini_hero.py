"""A hero from the user's photo with Gemini: the text model looks at the photo and describes
its subject; the image model draws it as a character sheet in the story's style. The photo
goes only into these two requests (no field the API does not define) and is never logged."""

from __future__ import annotations

from google.genai import types
from pydantic import BaseModel, ValidationError

from core.cast import Hero
from core.errors import ContentRejected, InvalidRequest, ProviderUnavailable
from core.models import LANGUAGE_NAMES, Style
from core.providers.catalog import Role
from core.providers.gemini import first_picture, image_mime, response_parts
from core.providers.google_backend import GeminiBackend

_DESCRIBE = """A family sent this photo: its subject is to be the hero of a children's story \
about: {theme}
Look at the photo's main subject (a pet, a toy, a drawing, a person...).
- clear_subject: false if no single subject can be made out clearly.
- name: the name the story's theme gives the hero; else a short friendly name that suits it, \
in {language}.
- kind: what it is, in a few English words (for example "a small brown dachshund" or \
"a knitted teddy bear").
- looks: its colours, shapes, markings and clothing in about 30 English words, so that an \
illustrator draws it the same way every time."""

_SHEET = """{style}. A character sheet of {description}. The character alone, full figure, \
facing the viewer, on a plain white background, drawn from the photo in this art style, \
keeping its colours and markings. No text, letters or captions."""

_REFUSED = "Gemini's safety filter refused that photo; please try another one"
_UNCLEAR = "I can't make out a clear hero in that photo; send one where it is easy to see"


class _HeroOut(BaseModel):
    clear_subject: bool
    name: str
    kind: str
    looks: str


class GeminiHeroDesigner:
    """Describes the photo's subject (text model), then draws its character sheet (image
    model), each from the photo."""

    name = "gemini"

    def __init__(self, backend: GeminiBackend) -> None:
        self.backend = backend

    async def describe(self, photo: bytes, *, theme: str, language: str) -> Hero:
        """The hero the photo shows; a refused photo or one without a clear subject stops
        here, before anything is drawn."""
        prompt = _DESCRIBE.format(
            theme=theme, language=LANGUAGE_NAMES.get(language.split("-")[0], language)
        )
        config = types.GenerateContentConfig(
            response_mime_type="application/json", response_schema=_HeroOut
        )
        try:
            response = await self.backend.generate(Role.TEXT, [_with_photo(photo, prompt)], config)
            text = "".join(
                p.text or "" for p in response_parts(response, "photo") if not p.thought
            )
        except ContentRejected:
            raise ContentRejected(_REFUSED) from None
        try:
            out = _HeroOut.model_validate_json(text)
            if not out.clear_subject:
                raise InvalidRequest(_UNCLEAR)
            return Hero(name=out.name.strip()[:60], kind=out.kind.strip()[:400],
                        looks=out.looks.strip()[:400])  # fmt: skip
        except ValidationError:
            raise ProviderUnavailable("Gemini could not describe the photo; try again") from None

    async def character_sheet(self, photo: bytes, hero: Hero, *, style: Style) -> bytes:
        """The hero alone on a plain background, square, in the story's style."""
        prompt = _SHEET.format(style=style.prompt, description=hero.description)
        config = types.GenerateContentConfig(
            response_modalities=["IMAGE"], image_config=types.ImageConfig(aspect_ratio="1:1")
        )
        try:
            response = await self.backend.generate(
                Role.IMAGE, [_with_photo(photo, prompt)], config
            )
            return first_picture(response, "character sheet", _REFUSED)
        except ContentRejected:
            raise ContentRejected(_REFUSED) from None


def _with_photo(photo: bytes, prompt: str) -> types.Content:
    return types.Content(
        role="user",
        parts=[
            types.Part.from_bytes(data=photo, mime_type=image_mime(photo)),
            types.Part.from_text(text=prompt),
        ],
    )
