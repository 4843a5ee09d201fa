"""Offline illustrator: paints each scene with Pillow from the words of its prompt."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import Sequence

from PIL import Image

from core.models import Aspect, Scene, Style
from core.providers.offline.canvas import Canvas
from core.providers.offline.casting import (
    Character,
    digest,
    parse_characters,
    scene_characters,
)
from core.providers.offline.drawing import WHITE, mix
from core.providers.offline.finishing import finish
from core.providers.offline.places import PLACE_ART, paint_set
from core.providers.offline.sky import LIGHTS
from core.providers.offline.staging import STYLE_ART, draw_cast, draw_labels
from core.providers.offline.sticker import read_sticker
from core.providers.offline.vocabulary import find_place, find_time

SUPERSAMPLE = 2


def setting(prompt: str) -> tuple[str, str]:
    """The place and time of day a prompt asks for; a flowery meadow in the afternoon if unsaid."""
    place, time = find_place(prompt), find_time(prompt)
    return (place.id if place else "meadow"), (time.id if time else "afternoon")


def hero_index(scene: Scene, cast: Sequence[Character]) -> int | None:
    """Which of the scene's `cast` is the hero of the photo: the one introduced as such, else
    (a description that marks nobody) the first; None when the marked hero is not in the scene.
    """
    at = next((i for i, c in enumerate(cast) if c.hero), None)
    if at is not None or any(c.hero for c in parse_characters(scene.character_description)):
        return at
    return 0 if cast else None


def draw_scene(
    scene: Scene,
    style: Style,
    size: tuple[int, int],
    *,
    characters: Sequence[Character] | None = None,
    sticker: Image.Image | None = None,
) -> Image.Image:
    """Paint `scene` as an RGB image of exactly `size`; `characters=[]` paints the set alone.

    With a `sticker` (the hero's, from its photo) the hero stands in the scene as that sticker.
    """
    seed = int.from_bytes(digest(scene.image_prompt)[:8], "big")
    rng = random.Random(seed)
    place_id, time_id = setting(scene.image_prompt)
    light, art = LIGHTS[time_id], PLACE_ART[place_id]
    big = (size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE)
    canvas = Canvas(
        Image.new("RGB", big),
        Image.new("RGBA", big, (0, 0, 0, 0)),
        art.horizon * big[1],
        rng,
        light,
    )
    paint_set(canvas, place_id)
    cast = scene_characters(scene) if characters is None else list(characters)
    # the heroes catch a little more light than the set, so an orange fox stays orange at night
    hero_light = mix(light.tint, WHITE, 0.45)
    at = hero_index(scene, cast) if sticker is not None else None
    hero = (at, sticker) if at is not None and sticker is not None else None
    placed = draw_cast(canvas, cast, STYLE_ART[style], art.water, hero_light, hero)
    if hero is not None:  # the photo needs no name tag
        placed = [(ch, spot) for ch, spot in placed if ch is not cast[hero[0]]]
    image = canvas.sky
    image.paste(canvas.land.convert("RGB"), (0, 0), canvas.land.getchannel("A"))
    if art.front is not None:
        art.front(canvas, image)
    draw_labels(image, placed)
    image = image.resize(size, Image.Resampling.LANCZOS)
    return finish(image, style, seed)


def render_png(
    scene: Scene, style: Style, size: tuple[int, int], reference: bytes | None = None
) -> bytes:
    """`draw_scene` encoded as PNG bytes; a sticker `reference` stands in for the hero."""
    out = io.BytesIO()
    draw_scene(scene, style, size, sticker=read_sticker(reference)).save(
        out, "PNG", compress_level=3
    )
    return out.getvalue()


class OfflineIllustrator:
    """Draws scenes with Pillow: place, time of day and the named characters, known by shape."""

    name = "offline"

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        """PNG bytes of exactly `aspect.size`. A `reference` that is a sticker (a picture with
        transparent pixels: the offline hero designer's character sheet) is drawn as the hero;
        any other reference is unused (drawing is deterministic)."""
        return await asyncio.to_thread(render_png, scene, style, aspect.size, reference)
