"""Offline illustrator: paints each scene with Pillow from the words of its prompt."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from core.models import Aspect, Scene, Style
from core.providers.offline import creatures as cr
from core.providers.offline.creatures import Look
from core.providers.offline.drawing import RGB, WHITE, Ink, Pen, mix
from core.providers.offline.scenery import LIGHTS, PLACE_ART, Canvas, paint_set
from core.providers.offline.vocabulary import (
    COLOURS,
    GENERIC_SPECIES,
    SPECIES,
    find_place,
    find_time,
    species_for_word,
    words_of,
)

MAX_CHARACTERS = 4
SUPERSAMPLE = 2

# Reading the description ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Character:
    """A character to draw: its name, species id (or GENERIC_SPECIES), label and colour key."""

    name: str
    species: str
    label: str
    colour: str
    accessory: tuple[str, str] | None = None  # e.g. ("scarf", "red"); see ACCESSORIES


_COLOUR_WORDS: dict[str, str] = {key: key for key in COLOURS} | {
    w: key
    for key, words in {
        "orange": "ginger marmalade tangerine naranja roux rousse",
        "brown": "tan chocolate chestnut brun brune marron marrón braun",
        "grey": "gray silver silvery gris grise grau",
        "white": "snowy cream creamy blanc blanche blanco blanca weiß weiss",
        "black": "noir noire negro negra schwarz",
        "green": "emerald vert verte verde grün",
        "blue": "navy turquoise bleu bleue azul blau",
        "pink": "rosy rose rosa",
        "yellow": "lemon jaune amarillo amarilla gelb",
        "purple": "violet lilac lavender morado morada lila",
        "red": "scarlet crimson rouge rojo roja rot",
        "golden": "gold doré dorée dorado dorada",
    }.items()
    for w in words.split()
}
ACCESSORIES: dict[str, str] = {
    "scarf": "scarf",
    "bow": "bow",
    "ribbon": "bow",
    "bowtie": "bow",
    "hat": "hat",
    "bonnet": "hat",
    "cap": "cap",
    "beret": "cap",
}
_INTRO = re.compile(
    r"(?:^|(?<=[.!?;\n]))\s*(?P<name>[^.!?;:\n]+?)\s+(?:the|le|la|el|der|die|das)\s+"
    r"(?P<kind>[^\W\d_]+(?:[ -][^\W\d_]+){0,2})\s*:",
    re.IGNORECASE,
)
_HEADER = re.compile(r"(?:^|(?<=[.!?;\n]))\s*(?P<name>[^\W\d_][^.!?;:\n]{0,40}?)\s*:")
_NOT_NAMES = {"art style", "style", "setting", "background", "characters", "character", "scene"}
_DEFAULT_CAST = ("cat", "dog", "rabbit", "bear", "fox", "duck", "pig", "owl")


def _colour_in(words: Sequence[str]) -> str | None:
    """The first colour word, ignoring the colour of what is worn ("a red scarf")."""
    worn = next((i for i, w in enumerate(words) if w in ACCESSORIES), len(words))
    if worn < len(words):
        words = words[: max(0, worn - 2)]
    return next((_COLOUR_WORDS[w] for w in words if w in _COLOUR_WORDS), None)


def _colour_near(words: Sequence[str], at: int) -> str | None:
    """The colour word just before word `at` ("a ginger cat"), else one after it in its clause."""
    start, end = at, at + 1
    while start > max(0, at - 3) and species_for_word(words[start - 1]) is None:
        start -= 1
    while end < len(words) and species_for_word(words[end]) is None:
        end += 1
    if end < len(words):
        end -= 3  # "... with a grey mouse": that grey belongs to the mouse
    return _colour_in(words[start:at][::-1]) or _colour_in(words[at + 1 : end])


def _accessory(words: Sequence[str]) -> tuple[str, str] | None:
    """The first accessory worn ("a red scarf") with its colour, red when none is said."""
    for i, w in enumerate(words):
        if w in ACCESSORIES:
            said = [_COLOUR_WORDS[c] for c in words[max(0, i - 2) : i] if c in _COLOUR_WORDS]
            return ACCESSORIES[w], said[-1] if said else "red"
    return None


def _make(
    name: str, species: str, label: str, colour: str | None, after: Sequence[str] = ()
) -> Character:
    """A character; `after` are the words that follow its noun, where accessories are said."""
    default = SPECIES[species].colour if species in SPECIES else "purple"
    return Character(name.strip(" ,;-\t\n"), species, label, colour or default, _accessory(after))


def _clause(words: Sequence[str], at: int) -> Sequence[str]:
    """The words after word `at` up to the next creature."""
    end = next((j for j in range(at + 1, len(words)) if species_for_word(words[j])), len(words))
    return words[at + 1 : end]


def _parse_intros(description: str) -> list[Character]:
    """The offline writer's `<Name> the <word>: <sentence>.` introductions."""
    matches = list(_INTRO.finditer(description))
    found = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(description)
        sentence = words_of(description[m.end() : end].split(".", 1)[0])
        kind = words_of(m["kind"])
        known = next((s for w in kind if (s := species_for_word(w))), None)
        species, label = (known.id, known.english) if known else (GENERIC_SPECIES, kind[-1])
        colour = _colour_in(kind) or _colour_in(sentence)
        found.append(_make(m["name"], species, label, colour, sentence))
    return found


def _parse_free(description: str) -> list[Character]:
    """Free-form text: species words in order, named by a preceding `Name:` when there is one."""
    headers = [m for m in _HEADER.finditer(description) if m["name"].lower() not in _NOT_NAMES]
    found: list[Character] = []
    for i, m in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(description)
        words = words_of(description[m.end() : end])
        hits = [(j, s) for j, w in enumerate(words) if (s := species_for_word(w))]
        if hits:
            at, species = hits[0]
            colour = _colour_near(words, at)
            found.append(_make(m["name"], species.id, species.english, colour, words[at + 1 :]))
    if found:
        return found
    words, seen = words_of(description), set()
    for j, w in enumerate(words):
        if (s := species_for_word(w)) and s.id not in seen:
            seen.add(s.id)
            found.append(_make(w, s.id, s.english, _colour_near(words, j), _clause(words, j)))
    return found


def parse_characters(description: str) -> list[Character]:
    """The characters a description introduces, at most four, in order of appearance."""
    return (_parse_intros(description) or _parse_free(description))[:MAX_CHARACTERS]


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def default_characters(description: str) -> list[Character]:
    """Two friendly animals, always the same for the same text, for when none are described."""
    h = _digest(description)
    first = _DEFAULT_CAST[h[0] % len(_DEFAULT_CAST)]
    second = _DEFAULT_CAST[(h[0] + 1 + h[1] % (len(_DEFAULT_CAST) - 1)) % len(_DEFAULT_CAST)]
    return [
        _make(SPECIES[s].names[h[2 + i] % len(SPECIES[s].names)], s, s, None)
        for i, s in enumerate((first, second))
    ]


def scene_characters(scene: Scene) -> list[Character]:
    """Who appears in the scene: the characters its prompt names, or everyone if none is named.

    A description without creatures falls back to the ones the prompt mentions, then to two
    default animals.
    """
    cast = parse_characters(scene.character_description) or parse_characters(scene.image_prompt)
    if not cast:
        return default_characters(scene.character_description)
    prompt = scene.image_prompt.lower()
    named = [c for c in cast if re.search(rf"\b{re.escape(c.name.lower())}\b", prompt)]
    return named or cast


# Characters -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spot:
    """Where one character stands: centre x, ground y, height, and whether it faces left."""

    x: float
    foot: float
    height: float
    mirrored: bool
    tilt: float


def layout(
    size: tuple[int, int], rng: random.Random, scales: Sequence[float]
) -> list[tuple[int, Spot]]:
    """Place characters of relative `scales` on the ground, inside the frame.

    Returns (character index, spot) in drawing order. Portrait frames with three or more
    characters get two rows, the bigger creatures in the back row so nobody is hidden.
    """
    w, h = size
    n = len(scales)
    base = rng.uniform(0.32, 0.37) * h + (0.04 * h if n == 1 else 0.02 * h if n == 2 else 0)
    rows = [list(range(n))]
    if n >= 3 and w < h:
        big = sorted(sorted(range(n), key=lambda i: -scales[i])[: n // 2])
        rows = [big, [i for i in range(n) if i not in big]]
    placed: list[tuple[int, Spot]] = []
    for r, members in enumerate(rows):
        if not members:
            continue
        back = len(rows) == 2 and r == 0
        depth, foot = (0.8, 0.66 * h) if back else (1.0, 0.87 * h)
        total = sum(scales[i] for i in members) * 1.1
        height = min(base, 0.94 * w / total) * depth
        x = (w - total * height) / 2
        for i in members:
            slot = scales[i] * 1.1 * height
            cx = x + slot / 2 + rng.uniform(-0.05, 0.05) * slot
            x += slot
            mirrored = cx > w / 2 if n > 1 else rng.random() < 0.5
            if rng.random() < 0.15:
                mirrored = not mirrored
            hgt = min(height * scales[i] * rng.uniform(0.94, 1.04), 0.46 * h)
            cx = min(max(cx, 0.55 * hgt), w - 0.55 * hgt)
            y = foot + rng.uniform(-0.01, 0.01) * h
            placed.append((i, Spot(cx, y, hgt, mirrored, rng.uniform(-4, 4))))
    return placed


def _paste(dst: Image.Image, layer: Image.Image, x: int, y: int) -> None:
    """Alpha-composite `layer` with its corner at (x, y), clipped to `dst`."""
    left, top = max(0, -x), max(0, -y)
    right, bottom = min(layer.width, dst.width - x), min(layer.height, dst.height - y)
    if right > left and bottom > top:
        dst.alpha_composite(layer, (x + left, y + top), (left, top, right, bottom))


@dataclass(frozen=True, slots=True)
class StyleArt:
    """Per-style treatment: outline ink, creature drop shadow and a whole-picture finish."""

    ink: Ink
    cutout_shadow: bool = False
    shaded: bool = False


STYLE_ART: dict[Style, StyleArt] = {
    Style.STORYBOOK: StyleArt(Ink(1.3, 0.55)),
    Style.WATERCOLOR: StyleArt(Ink(0.8, 0.75)),
    Style.CARTOON_3D: StyleArt(Ink(0.7, 0.7), shaded=True),
    Style.ANIME: StyleArt(Ink(1.8, 0.0, (45, 35, 55))),
    Style.CLAYMATION: StyleArt(Ink(0.9, 0.65), shaded=True),
    Style.PAPER_CUTOUT: StyleArt(Ink(0.0), cutout_shadow=True),
}


def _shading(size: tuple[int, int]) -> Image.Image:
    """How much shade each point of a creature layer gets, lit from the upper left (mode L)."""
    w, h = size
    y, x = np.ogrid[:h, :w]
    dist = np.hypot((x - 0.42 * w) / (0.4 * w), (y - 0.45 * h) / (0.45 * h))
    return Image.fromarray(np.clip((dist - 0.3) * 120, 0, 100).astype(np.uint8))


def _character_layer(ch: Character, spot: Spot, art: StyleArt, water: bool) -> Pen:
    eyes = (2, 2, 1, 3, 2)[_digest(ch.label)[0] % 5] if ch.species == GENERIC_SPECIES else 2
    wear = (ch.accessory[0], COLOURS[ch.accessory[1]]) if ch.accessory else None
    look = Look(COLOURS[ch.colour], water, eyes, wear)
    pen = cr.render(ch.species, spot.height, look, art.ink)
    if art.shaded:
        alpha = pen.image.getchannel("A")
        dark = Image.new("RGBA", pen.image.size, (50, 25, 60, 255))
        dark.putalpha(ImageChops.multiply(_shading(pen.image.size), alpha))
        pen.image = Image.alpha_composite(pen.image, dark)
    return pen


def _draw_cast(
    c: Canvas, cast: Sequence[Character], art: StyleArt, water: bool, light: RGB
) -> list[tuple[Character, Spot]]:
    """Draw the cast on the land layer, lit by `light`; returns who stands where."""
    scales = [cr.SCALE.get(ch.species, 1.0) for ch in cast]
    placed = [(cast[i], spot) for i, spot in layout((c.w, c.h), c.rng, scales)]
    for ch, spot in placed:
        pen = _character_layer(ch, spot, art, water)
        layer, (fx, fy) = pen.image, pen.foot
        if spot.mirrored:
            layer, fx = layer.transpose(Image.Transpose.FLIP_LEFT_RIGHT), layer.width - fx
        box = layer.getbbox()  # rotate only what is drawn, with a margin for the turn
        if box is not None:
            pad = int(0.08 * spot.height)
            box = (max(0, box[0] - pad), max(0, box[1] - pad), box[2] + pad, box[3] + pad)
            layer, fx, fy = layer.crop(box), fx - box[0], fy - box[1]
        layer = layer.rotate(spot.tilt, Image.Resampling.BILINEAR, center=(fx, fy))
        if light != WHITE:
            layer = ImageChops.multiply(layer, Image.new("RGBA", layer.size, (*light, 255)))
        sw, sh = spot.height * 0.45, spot.height * 0.05
        shadow = Image.new("RGBA", (int(2 * sw), int(2 * sh)), (0, 0, 0, 0))
        ImageDraw.Draw(shadow).ellipse((0, 0, 2 * sw - 1, 2 * sh - 1), fill=(20, 30, 20, 70))
        _paste(c.land, shadow, int(spot.x - sw), int(spot.foot - sh))
        x, y = int(spot.x - fx), int(spot.foot - fy)
        if art.cutout_shadow:
            black = Image.new("RGBA", layer.size, (30, 25, 20, 0))
            black.putalpha(layer.getchannel("A").point(lambda v: v * 2 // 5))
            _paste(c.land, black, x + int(0.02 * c.s), y + int(0.015 * c.s))
        _paste(c.land, layer, x, y)
    return placed


def _labels(image: Image.Image, placed: Sequence[tuple[Character, Spot]]) -> None:
    """Write each generic creature's word under its feet, on a white tag."""
    w, h = image.size
    d = ImageDraw.Draw(image, "RGBA")
    font = ImageFont.load_default(size=max(12, int(0.045 * h)))
    for ch, spot in placed:
        if ch.species != GENERIC_SPECIES:
            continue
        left, top, right, bottom = d.textbbox((0, 0), ch.label, font=font)
        tw, th, pad = right - left, bottom - top, 0.014 * h
        x = min(max(spot.x - tw / 2, 2 * pad), w - tw - 2 * pad)
        y = min(spot.foot + 0.02 * h, h - th - 2 * pad)
        box = (x - pad, y - pad * 0.7, x + tw + pad, y + th + pad * 0.7)
        d.rounded_rectangle(
            box, int(pad), fill=(255, 255, 255, 225), outline=(70, 60, 80), width=3
        )
        d.text((x - left, y - top), ch.label, font=font, fill=(50, 40, 60))


# Finishing --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _vignette_mask(size: tuple[int, int], strength: float) -> Image.Image:
    mask = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return mask.point(lambda v: int(max(0, v - 90) * strength * 1.6))


def _vignette(image: Image.Image, colour: RGB, strength: float) -> Image.Image:
    mask = _vignette_mask(image.size, strength)
    return Image.composite(Image.new("RGB", image.size, colour), image, mask)


def _grain(image: Image.Image, sigma: float, seed: int, coarse: int = 1) -> Image.Image:
    w, h = image.size
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, sigma, (max(1, h // coarse), max(1, w // coarse))).astype(np.float32)
    if coarse > 1:
        small = Image.fromarray(noise).resize((w, h), Image.Resampling.BICUBIC)
        noise = np.asarray(small)
    pixels = np.asarray(image, dtype=np.float32) + noise[:, :, None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _finish(image: Image.Image, style: Style, seed: int) -> Image.Image:
    """The whole-picture part of a style: softening, texture, grading, vignette."""
    if style is Style.WATERCOLOR:
        image = image.filter(ImageFilter.GaussianBlur(1.2))
        image = Image.blend(
            ImageEnhance.Color(image).enhance(0.85),
            Image.new("RGB", image.size, (250, 244, 230)),
            0.12,
        )
        return _grain(_grain(image, 3.5, seed, 5), 2, seed + 1)
    if style is Style.CARTOON_3D:
        return _vignette(ImageEnhance.Color(image).enhance(1.15), (30, 20, 50), 0.35)
    if style is Style.ANIME:
        image = Image.blend(image, Image.new("RGB", image.size, (255, 250, 255)), 0.14)
        return ImageEnhance.Sharpness(image).enhance(1.6)
    if style is Style.CLAYMATION:
        image = ImageEnhance.Color(image).enhance(1.12)
        return _vignette(_grain(image, 7, seed, 3), (40, 25, 20), 0.3)
    if style is Style.PAPER_CUTOUT:
        return _grain(ImageOps.posterize(image, 4), 3, seed)
    return _vignette(image, (70, 45, 25), 0.22)


# Public API -------------------------------------------------------------------------------------


def setting(prompt: str) -> tuple[str, str]:
    """The place and time of day a prompt asks for; a flowery meadow in the afternoon if unsaid."""
    place, time = find_place(prompt), find_time(prompt)
    return (place.id if place else "meadow"), (time.id if time else "afternoon")


def draw_scene(
    scene: Scene,
    style: Style,
    size: tuple[int, int],
    *,
    characters: Sequence[Character] | None = None,
) -> Image.Image:
    """Paint `scene` as an RGB image of exactly `size`; `characters=[]` paints the set alone."""
    seed = int.from_bytes(_digest(scene.image_prompt)[:8], "big")
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
    placed = _draw_cast(canvas, cast, STYLE_ART[style], art.water, hero_light)
    image = canvas.sky
    image.paste(canvas.land.convert("RGB"), (0, 0), canvas.land.getchannel("A"))
    if art.front is not None:
        art.front(canvas, image)
    _labels(image, placed)
    image = image.resize(size, Image.Resampling.LANCZOS)
    return _finish(image, style, seed)


def render_png(scene: Scene, style: Style, size: tuple[int, int]) -> bytes:
    """`draw_scene` encoded as PNG bytes."""
    out = io.BytesIO()
    draw_scene(scene, style, size).save(out, "PNG", compress_level=3)
    return out.getvalue()


class OfflineIllustrator:
    """Draws scenes with Pillow: place, time of day and the named characters, known by shape."""

    name = "offline"

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        """PNG bytes of exactly `aspect.size`; `reference` is unused (drawing is deterministic)."""
        return await asyncio.to_thread(render_png, scene, style, aspect.size)
