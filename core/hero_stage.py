"""The cast stage of a story, before it is written: a hero from the user's photo (described,
then drawn as a character sheet), or the reference picture a sequel carries over. Either way
the result is the picture every scene is drawn with (scene 1 included)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from core.cast import CAST_PICTURE, HERO_PHOTO, Hero
from core.errors import ArtifactMissing, ConfigurationError
from core.models import Story, StoryRequest
from core.providers import HeroDesigner
from core.steps import JobFiles

log = logging.getLogger(__name__)

_HERO = "hero.json"


@dataclass(frozen=True, slots=True)
class CastStart:
    """What the story starts from: its hero (with a photo), and the reference picture of
    every scene (the hero's character sheet, or a sequel's carried-over picture)."""

    hero: Hero | None = None
    reference: bytes | None = None


def check_designer(request: StoryRequest, designer: HeroDesigner | None) -> None:
    """Refuse, before any work, a hero photo the back end cannot use."""
    if request.hero and designer is None:
        raise ConfigurationError("this back end cannot make a hero from a photo")


async def cast_start(
    files: JobFiles, request: StoryRequest, designer: HeroDesigner | None
) -> CastStart:
    """The hero (checkpointed: the photo is looked at and drawn once), else a sequel's
    reference picture, else nothing (scene 1 becomes the reference, as before)."""
    if request.hero:
        return await _hero(files, request, designer)
    if request.sequel is not None:
        picture = files.path(CAST_PICTURE)
        if await asyncio.to_thread(picture.is_file):
            return CastStart(reference=await asyncio.to_thread(picture.read_bytes))
    return CastStart()


async def _hero(
    files: JobFiles, request: StoryRequest, designer: HeroDesigner | None
) -> CastStart:
    check_designer(request, designer)
    assert designer is not None
    saved = await files.reuse("hero", _HERO)
    sheet = files.path(CAST_PICTURE)
    if saved is not None and await asyncio.to_thread(sheet.is_file):
        hero = Hero.model_validate_json(await asyncio.to_thread(saved.read_bytes))
        return CastStart(hero, await asyncio.to_thread(sheet.read_bytes))
    photo_path = files.path(HERO_PHOTO)
    if not await asyncio.to_thread(photo_path.is_file):
        raise ArtifactMissing("the hero's photo is gone; please send it again")
    photo = await asyncio.to_thread(photo_path.read_bytes)
    hero = await designer.describe(photo, theme=request.theme, language=request.language)
    drawn = await designer.character_sheet(photo, hero, style=request.style)
    await asyncio.to_thread(sheet.write_bytes, drawn)
    await files.save("hero", _HERO, hero.model_dump_json().encode())  # the step: both exist
    log.info("job %s: hero %r described and drawn", files.job_id, hero.name)
    return CastStart(hero, drawn)


def titled(story: Story, request: StoryRequest) -> Story:
    """A sequel's title says which part it is: "… — Part 2"."""
    if request.sequel is None:
        return story
    suffix = f" — Part {request.sequel.part}"
    title = story.title if story.title.endswith(suffix) else story.title[:140] + suffix
    return story.model_copy(update={"title": title})
