"""The offline hero: a user's photo becomes the story's hero, cut out as a sticker."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.cast import Hero, SequelBrief
from core.errors import InvalidRequest
from core.models import Aspect, Scene, StoryRequest, Style
from core.providers.offline import OfflineHeroDesigner, OfflineIllustrator, OfflineStoryWriter
from core.providers.offline.art import draw_scene
from core.providers.offline.casting import scene_characters
from core.providers.offline.hero import DEFAULT_NAMES, PHOTO_KIND, name_in
from core.providers.offline.palette import colour_name
from core.providers.offline.sticker import read_sticker
from core.providers.offline.story import MAX_CHARACTERS

SMALL = (480, 270)
MAGENTA = (230, 20, 200)


def encode(image: Image.Image, kind: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def magenta_photo() -> bytes:
    """A saturated magenta shape on grey, as a JPEG like a phone's."""
    image = Image.new("RGB", (640, 480), (128, 128, 128))
    ImageDraw.Draw(image).ellipse((230, 110, 410, 420), fill=MAGENTA)
    return encode(image, "JPEG", quality=90)


def puppy_photo() -> bytes:
    """A brown shape with a cream patch on noisy green grass."""
    rng = np.random.default_rng(7)
    grass = rng.normal(0, 10, (480, 640, 3)) + np.array([90, 150, 70])
    image = Image.fromarray(np.clip(grass, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse((180, 150, 460, 380), fill=(140, 90, 50))
    draw.ellipse((220, 200, 330, 300), fill=(240, 225, 200))
    return encode(image, "JPEG", quality=90)


def magentaish(image: Image.Image) -> float:
    """The share of the picture that is strongly magenta."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return float(((r > 160) & (b > 130) & (g < 70)).mean())


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


@pytest.fixture
def designer() -> OfflineHeroDesigner:
    return OfflineHeroDesigner()


async def test_the_photo_is_the_hero_of_every_scene(designer: OfflineHeroDesigner) -> None:
    """Drawn with the sticker, every scene shows the photo's magenta subject; the same story
    without the photo shows none, and looks visibly different."""
    photo = magenta_photo()
    request = StoryRequest(theme="a journey to the moon", scenes=3)
    hero = await designer.describe(photo, theme=request.theme, language="en")
    sheet = await designer.character_sheet(photo, hero, style=request.style)
    story = await OfflineStoryWriter().write(request, hero)
    plain = await OfflineStoryWriter().write(request)
    illustrator = OfflineIllustrator()

    drawn = [
        decoded(await illustrator.draw(s, style=request.style, aspect=Aspect.LANDSCAPE,
                                       reference=sheet))
        for s in story.scenes
    ]  # fmt: skip
    assert all(magentaish(picture) > 0.02 for picture in drawn)
    with_photo = drawn[0]
    without = decoded(
        await illustrator.draw(plain.scenes[0], style=request.style, aspect=Aspect.LANDSCAPE)
    )
    assert magentaish(without) == 0
    difference = np.abs(np.asarray(with_photo, np.int16) - np.asarray(without, np.int16))
    assert (difference.max(axis=2) > 40).mean() > 0.05


async def test_only_the_hero_becomes_the_sticker(designer: OfflineHeroDesigner) -> None:
    """The theme's cat is the photo's hero: drawn as the sticker with it, as a creature (in the
    photo's colour) without; its friend the dog is drawn as a creature either way."""
    photo = magenta_photo()
    hero = await designer.describe(photo, theme="a cat and a dog", language="en")
    sticker = read_sticker(await designer.character_sheet(photo, hero, style=Style.ANIME))
    story = await OfflineStoryWriter().write(StoryRequest(theme="a cat and a dog", scenes=1), hero)
    scene = story.scenes[0]
    cast = scene_characters(scene)

    drawn = draw_scene(scene, Style.ANIME, SMALL, sticker=sticker)
    as_creature = draw_scene(scene, Style.ANIME, SMALL)
    hero_alone = draw_scene(scene, Style.ANIME, SMALL, characters=cast[:1], sticker=sticker)

    assert [(c.name, c.species, c.hero) for c in cast] == [
        (hero.name, "cat", True),
        (cast[1].name, "dog", False),
    ]
    assert cast[0].colour == "pink"  # the photo's magenta, as near as the palette goes
    assert magentaish(drawn) > 0.02
    assert magentaish(hero_alone) > 0.02
    assert magentaish(as_creature) == 0
    dog = np.abs(np.asarray(drawn, np.int16) - np.asarray(hero_alone, np.int16)).max(axis=2)
    assert (dog > 40).mean() > 0.03


@pytest.mark.parametrize("style", list(Style))
async def test_sticker_is_the_cut_out_subject_on_transparency(
    designer: OfflineHeroDesigner, style: Style
) -> None:
    """The character sheet is an RGBA PNG: transparent around, the subject opaque and in its
    own colours, a white outline between."""
    photo = magenta_photo()
    hero = await designer.describe(photo, theme="a walk", language="en")

    sheet = await designer.character_sheet(photo, hero, style=style)

    image = decoded(sheet)
    assert (image.format, image.mode, image.height) == ("PNG", "RGBA", 512)
    rgba = np.asarray(image)
    alpha = rgba[..., 3]
    assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0
    assert (alpha == 0).mean() > 0.1
    centre = rgba[rgba.shape[0] // 2, rgba.shape[1] // 2]
    assert centre[3] == 255
    assert colour_name((int(centre[0]), int(centre[1]), int(centre[2]))) == "magenta"
    white = (alpha == 255) & (rgba[..., :3].min(axis=2) > 235)
    assert white.mean() > 0.02
    assert sheet == await designer.character_sheet(photo, hero, style=style)  # deterministic


async def test_sticker_follows_the_photo_orientation(designer: OfflineHeroDesigner) -> None:
    """A phone photo stored sideways with an EXIF orientation is cut out upright."""
    image = Image.new("RGB", (400, 300), (128, 128, 128))
    ImageDraw.Draw(image).rectangle((250, 40, 370, 260), fill=(20, 20, 220))  # tall
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    photo = encode(image, "JPEG", exif=exif)

    sheet = decoded(await designer.character_sheet(photo, Hero(name="B", kind="k", looks="l"),
                                                   style=Style.STORYBOOK))  # fmt: skip

    assert sheet.width > sheet.height  # the tall shape lies down once turned upright


async def test_describe_names_the_photo_colours_and_the_theme_name(
    designer: OfflineHeroDesigner,
) -> None:
    """Name and kind from the theme; looks from the colours of the photo's subject."""
    hero = await designer.describe(
        puppy_photo(), theme="Biscuit the dog goes to the beach", language="en"
    )
    magenta = await designer.describe(magenta_photo(), theme="a day out", language="en")

    assert (hero.name, hero.kind) == ("Biscuit", "a dog")
    assert "brown" in hero.looks
    assert "cream" in hero.looks
    assert "green" not in hero.looks  # the grass is background
    assert "magenta" in magenta.looks
    assert magenta.kind == PHOTO_KIND
    assert magenta.name in DEFAULT_NAMES
    assert magenta == await designer.describe(magenta_photo(), theme="a day out", language="en")


@pytest.mark.parametrize(
    ("theme", "language", "name"),
    [
        ("Biscuit the dog goes to the beach", "en", "Biscuit"),
        ("a puppy called rex in the snow", "en", "Rex"),
        ("a picnic with Nala by the river", "en", "Nala"),
        ("Mimi le chat à la plage", "fr", "Mimi"),
        ("Bello der Hund im Wald", "de", "Bello"),
        ("Ein Abenteuer im Garten", "de", None),  # German capitalises every noun
        ("Visit the beach. A dog plays", "en", None),  # sentence starts are no names
        ("a day with Teddy at the Beach", "en", None),  # species and places are no names
    ],
)
def test_name_is_taken_from_the_theme_when_it_gives_one(
    theme: str, language: str, name: str | None
) -> None:
    """Only a name the theme clearly gives is taken; otherwise the photo picks a default."""
    assert name_in(theme, language) == name


@pytest.mark.parametrize(
    "photo",
    [
        encode(Image.new("RGB", (400, 300), (128, 128, 128))),
        encode(Image.new("RGB", (400, 300), (128, 128, 128)), "JPEG", quality=60),
        encode(Image.linear_gradient("L").resize((400, 300)).convert("RGB")),
    ],
    ids=["grey", "grey-jpeg", "smooth-gradient"],
)
async def test_photo_without_a_subject_is_refused(
    designer: OfflineHeroDesigner, photo: bytes
) -> None:
    """A (nearly) uniform photo shows no hero: a short one-line message says so."""
    with pytest.raises(InvalidRequest) as describing:
        await designer.describe(photo, theme="a cat", language="en")
    with pytest.raises(InvalidRequest) as sheeting:
        await designer.character_sheet(photo, Hero(name="A", kind="b", looks="c"),
                                       style=Style.STORYBOOK)  # fmt: skip

    message = str(describing.value)
    assert message == str(sheeting.value)
    assert "can't make out a hero" in message
    assert "\n" not in message
    assert len(message) < 120


async def test_a_file_that_is_not_a_picture_is_refused(designer: OfflineHeroDesigner) -> None:
    """Bytes that are no picture: a clear message, not a traceback."""
    with pytest.raises(InvalidRequest, match="not a picture"):
        await designer.describe(b"GIF89a not really", theme="a cat", language="en")


async def test_hero_leads_the_story(designer: OfflineHeroDesigner) -> None:
    """The hero is the first character: in the title, every narration and every prompt; the
    theme's creature it stands for is not doubled; the cast stays within the limit."""
    hero = Hero(name="Biscuit", kind="a dog", looks="mostly brown and cream")
    request = StoryRequest(theme="Biscuit the dog, a cat and an owl at the beach", scenes=6)

    story = await OfflineStoryWriter().write(request, hero)

    assert story.title.startswith("The Adventures of Biscuit, ")
    description = story.scenes[0].character_description
    assert description.startswith("Biscuit the dog: the hero from the photo, a dog, mostly brown")
    for scene in story.scenes:
        assert "Biscuit" in scene.narration
        assert scene.image_prompt.startswith("Biscuit the dog")
        cast = scene_characters(scene)
        assert (cast[0].name, cast[0].hero, cast[0].colour) == ("Biscuit", True, "brown")
        assert [c.species for c in cast].count("dog") == 1
        assert len(cast) <= MAX_CHARACTERS
        assert not any(c.hero for c in cast[1:])


async def test_without_a_hero_stories_are_unchanged() -> None:
    """No hero, no sequel: the very stories written before heroes existed (digests recorded
    from that code)."""
    recorded = {
        ("a cat and a dog", 5, "en"): "8d608a072c6d24b89a0e3ee0296cc08b"
        "1672d117b0d22fe6b0d625313b320175",
        ("Biscuit the dog goes to the beach", 4, "fr"): "0e224371b802d74a84cbba7f6f7696d1"
        "03e60c6a356ffaae08ee3390bcd8f508",
        ("a zorblat in space", 1, "de"): "9ac704969c766927afcfa42374cd234f"
        "7a12e4abe99169bbff218ef9d9d6d479",
    }
    for (theme, scenes, language), digest in recorded.items():
        request = StoryRequest(theme=theme, scenes=scenes, language=language)
        story = await OfflineStoryWriter().write(request, None)
        text = json.dumps(
            [story.title]
            + [[s.image_prompt, s.narration, s.character_description] for s in story.scenes]
        )
        assert hashlib.sha256(text.encode()).hexdigest() == digest


async def test_a_reference_that_is_no_sticker_changes_nothing() -> None:
    """A sequel's RGB scene picture, a JPEG, an opaque RGBA picture or unreadable bytes as the
    reference: the picture is byte for byte the one drawn without a reference."""
    story = await OfflineStoryWriter().write(StoryRequest(theme="a fox and an owl", scenes=2))
    scene = story.scenes[1]
    scenery = Image.new("RGB", (320, 180), (30, 160, 90))
    references = [
        encode(scenery),
        encode(scenery, "JPEG"),
        encode(scenery.convert("RGBA")),
        b"\x89PNG broken",
    ]
    illustrator = OfflineIllustrator()

    alone = await illustrator.draw(scene, style=Style.WATERCOLOR, aspect=Aspect.SQUARE)

    for reference in references:
        assert alone == await illustrator.draw(
            scene, style=Style.WATERCOLOR, aspect=Aspect.SQUARE, reference=reference
        )


async def test_sequel_brings_back_the_characters(designer: OfflineHeroDesigner) -> None:
    """A sequel's story keeps the characters of the story it continues, described as there."""
    hero = Hero(name="Biscuit", kind="a dog", looks="mostly brown and cream")
    first = await OfflineStoryWriter().write(
        StoryRequest(theme="Biscuit the dog and a cat", scenes=3), hero
    )
    characters = first.scenes[0].character_description
    brief = SequelBrief(
        of="job-1", part=2, title=first.title, summary="They made friends.", characters=characters
    )

    sequel = await OfflineStoryWriter().write(
        StoryRequest(theme="a trip to the snowy hills", scenes=3, sequel=brief)
    )

    assert sequel.title == first.title
    assert sequel.scenes[0].character_description == characters
    assert [c.name for c in scene_characters(sequel.scenes[0])] == [
        c.name for c in scene_characters(first.scenes[0])
    ]


def test_a_scene_without_the_hero_draws_no_sticker() -> None:
    """A scene without the hero (its prompt names only a friend) draws no sticker."""
    description = (
        "Pebble the hero: the hero from the photo, mostly magenta. "
        "Mimi the cat: a friendly orange cat with green eyes."
    )
    scene = Scene(
        image_prompt="Mimi the cat by the sparkling river",
        narration="Mimi swims.",
        character_description=description,
    )
    sticker = read_sticker(
        encode(Image.new("RGBA", (40, 80), (*MAGENTA, 255)).crop((-4, -4, 44, 84)))
    )

    assert sticker is not None
    assert magentaish(draw_scene(scene, Style.STORYBOOK, SMALL, sticker=sticker)) == 0


def test_a_description_that_marks_no_hero_gives_the_sticker_to_its_first_character() -> None:
    """Another writer's free-form description: its first character stands in for the hero."""
    scene = Scene(
        image_prompt="Whiskers and Buster in a flowery meadow",
        narration="They play.",
        character_description="Whiskers: a ginger cat. Buster: a golden puppy.",
    )
    sticker = read_sticker(
        encode(Image.new("RGBA", (40, 80), (*MAGENTA, 255)).crop((-4, -4, 44, 84)))
    )

    drawn = draw_scene(scene, Style.STORYBOOK, SMALL, sticker=sticker)
    only_buster = draw_scene(scene, Style.STORYBOOK, SMALL, characters=scene_characters(scene)[1:])

    assert magentaish(drawn) > 0.02
    assert magentaish(only_buster) == 0
