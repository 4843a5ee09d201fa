"""Staging: where each character stands on the set, and painting it there in a style."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

from core.models import Style
from core.providers.offline import creatures as cr
from core.providers.offline.canvas import Canvas
from core.providers.offline.casting import Character, digest
from core.providers.offline.drawing import RGB, WHITE, Ink, Pen
from core.providers.offline.looks import Look
from core.providers.offline.sticker import sticker_layer
from core.providers.offline.vocabulary import COLOURS, GENERIC_SPECIES

Layer = tuple[Image.Image, tuple[float, float]]  # a character's picture, and its foot on it
HERO_SCALE = 1.15  # a hero drawn as a sticker stands a little taller: it is the star


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


def _shaded(image: Image.Image) -> Image.Image:
    """A character layer darkened away from the light, for the styles with volume."""
    alpha = image.getchannel("A")
    dark = Image.new("RGBA", image.size, (50, 25, 60, 255))
    dark.putalpha(ImageChops.multiply(_shading(image.size), alpha))
    return Image.alpha_composite(image, dark)


def _character_layer(ch: Character, spot: Spot, art: StyleArt, water: bool) -> Pen:
    eyes = (2, 2, 1, 3, 2)[digest(ch.label)[0] % 5] if ch.species == GENERIC_SPECIES else 2
    wear = (ch.accessory[0], COLOURS[ch.accessory[1]]) if ch.accessory else None
    look = Look(COLOURS[ch.colour], water, eyes, wear)
    pen = cr.render(ch.species, spot.height, look, art.ink)
    if art.shaded:
        pen.image = _shaded(pen.image)
    return pen


def _posed(ch: Character, spot: Spot, art: StyleArt, water: bool) -> Layer:
    """A drawn creature at its spot: turned the way it faces, cropped and tilted."""
    pen = _character_layer(ch, spot, art, water)
    layer, (fx, fy) = pen.image, pen.foot
    if spot.mirrored:
        layer, fx = layer.transpose(Image.Transpose.FLIP_LEFT_RIGHT), layer.width - fx
    box = layer.getbbox()  # rotate only what is drawn, with a margin for the turn
    if box is not None:
        pad = int(0.08 * spot.height)
        box = (max(0, box[0] - pad), max(0, box[1] - pad), box[2] + pad, box[3] + pad)
        layer, fx, fy = layer.crop(box), fx - box[0], fy - box[1]
    return layer.rotate(spot.tilt, Image.Resampling.BILINEAR, center=(fx, fy)), (fx, fy)


def _stuck(sticker: Image.Image, spot: Spot, art: StyleArt) -> Layer:
    """The hero's sticker at its spot: never mirrored (a drawing or a toy's print would read
    backwards), shaded like the creatures in shaded styles, and tilted."""
    layer, (fx, fy) = sticker_layer(sticker, spot.height, int(0.08 * spot.height))
    if art.shaded:
        layer = _shaded(layer)
    return layer.rotate(spot.tilt, Image.Resampling.BILINEAR, center=(fx, fy)), (fx, fy)


def draw_cast(
    c: Canvas,
    cast: Sequence[Character],
    art: StyleArt,
    water: bool,
    light: RGB,
    hero: tuple[int, Image.Image] | None = None,
) -> list[tuple[Character, Spot]]:
    """Draw the cast on the land layer, lit by `light`; returns who stands where.

    `hero` is the index in `cast` of the character drawn as a sticker, and the sticker.
    """
    scales = [cr.SCALE.get(ch.species, 1.0) for ch in cast]
    if hero is not None:
        scales[hero[0]] = HERO_SCALE
    placed = [(i, spot) for i, spot in layout((c.w, c.h), c.rng, scales)]
    for i, spot in placed:
        if hero is not None and i == hero[0]:
            layer, (fx, fy) = _stuck(hero[1], spot, art)
        else:
            layer, (fx, fy) = _posed(cast[i], spot, art, water)
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
    return [(cast[i], spot) for i, spot in placed]


def draw_labels(image: Image.Image, placed: Sequence[tuple[Character, Spot]]) -> None:
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
