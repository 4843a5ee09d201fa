"""The offline illustrator: reading descriptions, and painting real pictures with Pillow."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from PIL import Image

from core.models import Aspect, Scene, Style
from core.providers.offline.art import OfflineIllustrator, draw_scene, setting
from core.providers.offline.casting import (
    Character,
    default_characters,
    parse_characters,
    scene_characters,
)
from core.providers.offline.vocabulary import GENERIC_SPECIES, SPECIES

OFFLINE_DESCRIPTION = (
    "Mimi the cat: a small orange cat with a red scarf. "
    "Rex the dog: a brown dog with floppy ears. "
    "Zib the zorblat: a friendly round purple zorblat with two little antennae. "
    "Art style: storybook."
)
GEMINI_DESCRIPTION = (
    "Whiskers: A playful ginger cat with big green eyes. "
    "Buster: A golden retriever puppy, floppy ears."
)
SMALL = (320, 180)


def scene(prompt: str, description: str = OFFLINE_DESCRIPTION) -> Scene:
    return Scene(
        image_prompt=prompt, narration="Once upon a time.", character_description=description
    )


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32)


# Reading the description ----------------------------------------------------------------------


def test_parse_offline_format_with_a_generic_creature() -> None:
    cast = parse_characters(OFFLINE_DESCRIPTION)

    assert [(c.name, c.species, c.colour) for c in cast] == [
        ("Mimi", "cat", "orange"),
        ("Rex", "dog", "brown"),
        ("Zib", GENERIC_SPECIES, "purple"),
    ]
    assert cast[2].label == "zorblat"
    assert cast[0].accessory == ("scarf", "red")


def test_parse_free_form_description() -> None:
    cast = parse_characters(GEMINI_DESCRIPTION)

    assert [(c.name, c.species, c.colour) for c in cast] == [
        ("Whiskers", "cat", "orange"),  # ginger counts as orange
        ("Buster", "dog", "golden"),
    ]


def test_parse_unnamed_species_in_order_deduplicated_and_capped() -> None:
    text = "A white bunny, a wise owl, another bunny, a grey mouse, a frog and a pig."
    cast = parse_characters(text)

    assert [c.species for c in cast] == ["rabbit", "owl", "mouse", "frog"]
    assert cast[0].colour == "white"
    assert cast[1].colour == SPECIES["owl"].colour  # the mouse's grey is not the owl's


def test_species_default_colour_and_other_languages() -> None:
    assert parse_characters("Luna le chat: un petit chat.")[0] == Character(
        "Luna", "cat", "cat", SPECIES["cat"].colour
    )


def test_no_characters_gives_two_stable_default_animals() -> None:
    assert parse_characters("Art style: watercolor.") == []
    first = default_characters("Art style: watercolor.")
    assert len(first) == 2
    assert first == default_characters("Art style: watercolor.")
    assert all(c.species in SPECIES for c in first)


def test_scene_characters_are_the_named_ones_or_everyone() -> None:
    only_rex = scene_characters(scene("Rex digs a hole in a cosy cottage garden"))
    everyone = scene_characters(scene("The friends walk in a leafy forest"))

    assert [c.name for c in only_rex] == ["Rex"]
    assert [c.name for c in everyone] == ["Mimi", "Rex", "Zib"]


def test_description_without_creatures_falls_back_to_the_prompt() -> None:
    cast = scene_characters(scene("A fox and an owl in a leafy forest", "Art style: anime."))

    assert [c.species for c in cast] == ["fox", "owl"]


def test_setting_reads_place_and_time_with_defaults() -> None:
    assert setting("Mimi on a sunny beach by the sea under the night sky") == ("beach", "night")
    assert setting("Rex in a little village at golden sunset") == ("village", "sunset")
    assert setting("Two friends having fun") == ("meadow", "afternoon")


# Drawing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("aspect", list(Aspect))
def test_draw_scene_has_exact_size(aspect: Aspect) -> None:
    image = draw_scene(
        scene("Mimi, Rex and Zib by the river at sunset"), Style.STORYBOOK, aspect.size
    )

    assert image.size == aspect.size
    assert image.mode == "RGB"


def test_draw_scene_is_deterministic() -> None:
    s = scene("Mimi and Zib in a snowy winter valley in the early morning")

    first = draw_scene(s, Style.WATERCOLOR, SMALL).tobytes()
    second = draw_scene(s, Style.WATERCOLOR, SMALL).tobytes()

    assert first == second


def test_drawing_is_a_picture_not_a_flat_card() -> None:
    image = draw_scene(
        scene("Mimi and Rex in a flowery meadow at bright midday"), Style.STORYBOOK, SMALL
    )

    assert len(image.getcolors(maxcolors=1 << 20) or []) > 2000
    assert pixels(image).std() > 30


def test_place_and_time_change_the_picture_a_lot() -> None:
    forest = draw_scene(scene("Mimi in a leafy forest at bright midday"), Style.STORYBOOK, SMALL)
    beach = draw_scene(
        scene("Mimi on a sunny beach by the sea at golden sunset"), Style.STORYBOOK, SMALL
    )

    assert np.abs(pixels(forest) - pixels(beach)).mean() > 30


@pytest.mark.parametrize("place", ["a flowery meadow", "a little village", "outer space"])
def test_night_is_darker_than_noon(place: str) -> None:
    noon = draw_scene(scene(f"Mimi in {place} at noon"), Style.STORYBOOK, SMALL)
    night = draw_scene(scene(f"Mimi in {place} at night"), Style.STORYBOOK, SMALL)

    assert pixels(night).mean() < pixels(noon).mean() - 15


def test_characters_are_drawn() -> None:
    s = scene("Mimi, Rex and Zib on rolling green hills in the warm afternoon")

    with_cast = pixels(draw_scene(s, Style.STORYBOOK, SMALL))
    set_only = pixels(draw_scene(s, Style.STORYBOOK, SMALL, characters=[]))

    changed = np.abs(with_cast - set_only).max(axis=2) > 40
    assert changed.mean() > 0.08  # three characters cover a good part of the frame


@pytest.mark.parametrize("species", [*SPECIES, GENERIC_SPECIES])
def test_every_species_is_drawn(species: str) -> None:
    cast = [Character("Solo", species, "glorp", "blue", ("hat", "red"))]
    s = scene("Solo by the sparkling river")

    alone = pixels(draw_scene(s, Style.STORYBOOK, SMALL, characters=cast))
    set_only = pixels(draw_scene(s, Style.STORYBOOK, SMALL, characters=[]))

    assert (np.abs(alone - set_only).max(axis=2) > 40).mean() > 0.015


@pytest.mark.parametrize("style", list(Style))
def test_styles_look_different_from_each_other(style: Style) -> None:
    s = scene("Mimi and Zib in a leafy forest at bright midday")

    image = pixels(draw_scene(s, style, SMALL))
    others = [pixels(draw_scene(s, o, SMALL)) for o in Style if o is not style]

    assert min(np.abs(image - other).mean() for other in others) > 2


def test_illustrator_returns_a_png_of_the_aspect_size() -> None:
    s = scene("Mimi and Rex in a little village at night")

    png = asyncio.run(OfflineIllustrator().draw(s, style=Style.ANIME, aspect=Aspect.PORTRAIT))

    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == Aspect.PORTRAIT.size
