"""The places a scene can be set in, each painted on the land in front of the sky."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw

from core.providers.offline.canvas import Canvas
from core.providers.offline.drawing import BEAK, WHITE, bezier
from core.providers.offline.props import FLOWERS, HOUSES, flowers, house, pine, tree
from core.providers.offline.sky import paint_sky


def _meadow(c: Canvas) -> None:
    hy, h = c.horizon, c.h
    c.band(hy - 0.05 * h, 0.03 * h, (150, 205, 135))
    tree(c, c.rng.uniform(0.1, 0.9) * c.w, hy - 0.02 * h, 0.16 * c.s, (80, 150, 80))
    c.band(hy, 0.012 * h, (125, 195, 90))
    c.band(0.8 * h, 0.012 * h, (110, 182, 80), 1.3)
    flowers(c, hy + 0.02 * h, h, int(70 * c.w / c.s), 0.008, FLOWERS)


def _garden(c: Canvas) -> None:
    hy, h, w, s, d = c.horizon, c.h, c.w, c.s, c.ground
    hedge = [(x, hy, c.rng.uniform(0.04, 0.07) * s) for x in range(0, w + 60, int(0.05 * s))]
    c.blobs(hedge, (70, 140, 80))
    c.band(hy, 0.005 * h, (120, 192, 88))
    hx, hw = (0.2 if c.rng.random() < 0.5 else 0.8) * w, 0.32 * s
    d.rectangle((hx + 0.3 * hw, hy - 0.8 * hw, hx + 0.42 * hw, hy - 0.4 * hw), fill=(160, 90, 70))
    house(c, hx, hy + 0.08 * h, hw, (250, 238, 210), (200, 80, 70))
    fy, p = hy + 0.1 * h, 0.01 * s  # fence foot and picket half-width
    d.rectangle((0, fy - 4.5 * p, w, fy - 3.5 * p), fill=(245, 245, 240))
    for x in range(0, w, int(3.5 * p)):
        picket = [(x, fy), (x, fy - 7 * p), (x + p, fy - 8 * p), (x + 2 * p, fy - 7 * p)]
        d.polygon([*picket, (x + 2 * p, fy)], fill=(250, 250, 245))
    path = [(hx - 3 * p, fy), (hx + 3 * p, fy), (hx + 12 * p, h), (hx - 12 * p, h)]
    d.polygon(path, fill=(225, 205, 160))
    flowers(c, fy, fy + 0.05 * h, int(30 * w / s), 0.011, FLOWERS)


def _forest(c: Canvas) -> None:
    hy, h, w, s = c.horizon, c.h, c.w, c.s
    far = [(x, hy - c.rng.uniform(0, 0.06) * s, 0.08 * s) for x in range(0, w + 80, int(0.07 * s))]
    c.blobs(far, (60, 115, 85))
    c.band(hy, 0.008 * h, (95, 155, 75))
    n = max(3, round(7 * w / s * 9 / 16))
    for i in range(n):
        x, base = (i + c.rng.uniform(0.1, 0.9)) * w / n, hy + c.rng.uniform(0.0, 0.06) * h
        leaf = c.rng.choice(((60, 140, 70), (80, 155, 60), (50, 125, 80)))
        tree(c, x, base, c.rng.uniform(0.35, 0.5) * s, leaf)
    c.band(0.8 * h, 0.01 * h, (85, 145, 65), 1.5)
    for x, y, k in c.spots(0.82 * h, h, 6):
        r = 0.018 * s * k
        c.ground.rectangle((x - r * 0.3, y - r, x + r * 0.3, y), fill=(245, 235, 215))
        c.ground.chord((x - r, y - 2 * r, x + r, y), 180, 360, fill=(220, 60, 60))
        c.blobs(
            [(x - r * 0.4, y - 1.4 * r, r * 0.18), (x + r * 0.3, y - 1.6 * r, r * 0.15)], WHITE
        )


def _river(c: Canvas) -> None:
    hy, h, w, s, d = c.horizon, c.h, c.w, c.s, c.ground
    c.band(hy - 0.04 * h, 0.02 * h, (145, 200, 125))
    c.band(hy, 0.006 * h, (115, 182, 90))
    c.band(hy + 0.06 * h, 0.01 * h, (80, 150, 215), 1.5)
    bank = (0.68 if w >= h else 0.62) * h  # portrait frames stand a back row at 0.66 h
    for x, y, k in c.spots(hy + 0.08 * h, bank - 0.02 * h, 30):
        d.line((x, y, x + 0.04 * s * k, y), fill=(170, 215, 245), width=max(2, int(4 * k)))
    for i in range(5):
        t = (i + 0.5) / 5
        x, r = (0.15 + 0.7 * t) * w, 0.05 * s
        y = hy + 0.09 * h + (bank - hy - 0.12 * h) * (0.3 * (i % 2) + 0.7 * t)
        d.ellipse((x - r, y - 0.3 * r, x + r, y + 0.3 * r), fill=(150, 150, 160))
        d.ellipse((x - 0.8 * r, y - 0.34 * r, x + 0.7 * r, y + 0.1 * r), fill=(185, 185, 195))
    c.band(bank, 0.01 * h, (110, 180, 80), 1.2)
    for x in (0.03 * w, 0.07 * w, 0.93 * w, 0.97 * w):
        d.line((x, 0.8 * h, x, 0.68 * h), fill=(80, 130, 60), width=6)
        d.rounded_rectangle((x - 7, 0.66 * h, x + 7, 0.7 * h), 6, fill=(130, 80, 50))


def _beach(c: Canvas) -> None:
    hy, h, w, s, d = c.horizon, c.h, c.w, c.s, c.ground
    d.rectangle((0, hy, w, hy + 0.14 * h), fill=(55, 125, 200))
    for x, y, k in c.spots(hy + 0.01 * h, hy + 0.12 * h, 25):
        d.arc((x, y, x + 0.05 * s * k, y + 0.015 * s), 200, 340, fill=(200, 230, 250), width=4)
    c.band(hy + 0.15 * h, 0.012 * h, (240, 250, 255), 3)
    c.band(hy + 0.16 * h, 0.012 * h, (220, 195, 150), 3)
    c.band(hy + 0.2 * h, 0.01 * h, (245, 222, 170), 1)
    px = (0.92 if c.rng.random() < 0.5 else 0.08) * w
    top = (px - 0.05 * s, hy - 0.2 * s)
    trunk = bezier([(px, hy + 0.3 * s), (px + 0.02 * s, hy), top])
    d.line(trunk, fill=(150, 105, 60), width=int(0.025 * s))
    for ang in range(0, 360, 60):
        a = math.radians(ang)
        tip = (top[0] + 0.14 * s * math.cos(a), top[1] + 0.07 * s * math.sin(a) + 0.03 * s)
        frond = [top, ((top[0] + tip[0]) / 2, top[1] - 0.02 * s), tip]
        d.line(frond, fill=(60, 150, 70), width=int(0.018 * s), joint="curve")
    flowers(c, 0.78 * h, h, 7, 0.01, ((250, 150, 120), (250, 235, 220)))


def _hills(c: Canvas) -> None:
    hy, h, s = c.horizon, c.h, c.s
    c.band(hy - 0.1 * h, 0.05 * h, (150, 200, 165), 1.5)
    for x, y, _ in c.spots(hy - 0.05 * h, hy, 5):
        c.blobs([(x, y, 0.012 * s), (x + 0.01 * s, y - 0.004 * s, 0.009 * s)], (250, 250, 245))
    c.band(hy - 0.02 * h, 0.04 * h, (125, 188, 100), 1.1)
    for x, y, k in c.spots(hy, hy + 0.05 * h, 5):
        tree(c, x, y, 0.08 * s * k, (70, 140, 70))
    c.band(hy + 0.12 * h, 0.03 * h, (102, 172, 78), 0.8)
    x0 = c.rng.uniform(0.3, 0.7) * c.w
    path = bezier([(x0, hy + 0.02 * h), (x0 + 0.2 * s, hy + 0.15 * h), (x0 - 0.1 * s, h)])
    c.ground.line(path, fill=(230, 210, 160), width=int(0.03 * s), joint="curve")


def _snow(c: Canvas) -> None:
    hy, h, w, s, d = c.horizon, c.h, c.w, c.s, c.ground
    for i in range(4):
        x, k = (i + c.rng.uniform(0.2, 0.8)) * w / 4, c.rng.uniform(0.2, 0.32) * s
        d.polygon([(x - k, hy), (x, hy - k), (x + k, hy)], fill=(170, 185, 215))
        d.polygon(
            [(x - k * 0.3, hy - k * 0.7), (x, hy - k), (x + k * 0.3, hy - k * 0.7)], fill=WHITE
        )
    c.band(hy, 0.02 * h, (230, 238, 250))
    n = max(3, round(6 * w / s * 9 / 16))
    for i in range(n):
        x = (i + c.rng.uniform(0.1, 0.9)) * w / n
        pine(c, x, hy + c.rng.uniform(0.0, 0.05) * h, c.rng.uniform(0.2, 0.32) * s)
    c.band(0.78 * h, 0.015 * h, (244, 248, 255), 1.2)
    sx, sy, r = (0.1 if c.rng.random() < 0.5 else 0.9) * w, 0.8 * h, 0.05 * s
    c.blobs([(sx, sy - r, r), (sx, sy - 2.4 * r, r * 0.7)], (250, 252, 255))
    c.blobs([(sx + dx * r, sy - 2.5 * r, r * 0.08) for dx in (-0.25, 0.25)], (40, 40, 50))
    d.polygon([(sx, sy - 2.35 * r), (sx + r * 0.6, sy - 2.25 * r), (sx, sy - 2.15 * r)], fill=BEAK)


def _snowflakes(c: Canvas, image: Image.Image) -> None:
    d = ImageDraw.Draw(image, "RGBA")
    rng = random.Random(c.rng.random())
    for _ in range(int(c.w * c.h / 22000)):
        x, y, r = rng.uniform(0, c.w), rng.uniform(0, c.h), rng.uniform(3, 8)
        d.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 200))


def _village(c: Canvas) -> None:
    hy, h, w, s, d = c.horizon, c.h, c.w, c.s, c.ground
    c.band(hy - 0.06 * h, 0.03 * h, (150, 200, 150))
    base, x = hy + 0.05 * h, c.rng.uniform(-0.05, 0.05) * s
    while x < w + 0.1 * s:
        width = c.rng.uniform(0.17, 0.24) * s
        roof = c.rng.choice(((190, 80, 70), (120, 90, 160), (70, 110, 170), (160, 100, 60)))
        house(c, x, base, width, c.rng.choice(HOUSES), roof)
        x += width * 1.35
    d.rectangle((0, base, w, h), fill=(205, 195, 175))
    d.rectangle((0, base, w, base + 0.05 * s), fill=(190, 180, 165))
    for x, y, k in c.spots(base + 0.07 * s, h, int(60 * h / s)):
        r = 0.02 * s * k
        d.ellipse((x - r, y - r * 0.45, x + r, y + r * 0.45), fill=(188, 176, 158))
    y0, y1 = base - 0.28 * s, base - 0.22 * s  # bunting strung across the street
    d.line((0, y0, w, y1), fill=(110, 100, 90), width=3)
    for i in range(int(w / (0.05 * s)) + 1):
        x = (i + 0.5) * 0.05 * s
        y = y0 + (y1 - y0) * x / w
        flag = [(x - 0.015 * s, y), (x + 0.015 * s, y), (x, y + 0.035 * s)]
        d.polygon(flag, fill=(*FLOWERS, (90, 160, 230))[i % 5])


def _space(c: Canvas) -> None:
    hy, h, w, s, d = c.horizon, c.h, c.w, c.s, c.ground
    c.band(hy, 0.02 * h, (170, 170, 190), 1.2)
    c.band(0.82 * h, 0.01 * h, (190, 190, 205), 0.7)
    for x, y, k in c.spots(hy + 0.03 * h, h, 14):
        r = 0.03 * s * k
        d.ellipse((x - r, y - r * 0.35, x + r, y + r * 0.35), fill=(150, 150, 170))
        d.ellipse((x - r * 0.8, y - r * 0.2, x + r * 0.9, y + r * 0.35), fill=(135, 135, 155))
    rx, r, base = (0.88 if c.rng.random() < 0.5 else 0.12) * w, 0.045 * s, hy + 0.05 * h
    red = (220, 70, 70)
    d.polygon(
        [
            (rx - 1.6 * r, base),
            (rx - r, base - 2 * r),
            (rx + r, base - 2 * r),
            (rx + 1.6 * r, base),
        ],
        fill=red,
    )
    d.rounded_rectangle((rx - r, base - 5 * r, rx + r, base - 0.5 * r), int(r * 0.6), fill=WHITE)
    d.polygon([(rx - r, base - 5 * r), (rx + r, base - 5 * r), (rx, base - 7 * r)], fill=red)
    window = (rx - 0.5 * r, base - 4 * r, rx + 0.5 * r, base - 3 * r)
    d.ellipse(window, fill=(120, 190, 240), outline=(150, 150, 170), width=5)


@dataclass(frozen=True, slots=True)
class PlaceArt:
    """How to paint one place: horizon height, the painter, and an optional front layer."""

    horizon: float
    paint: Callable[[Canvas], None]
    front: Callable[[Canvas, Image.Image], None] | None = None
    water: bool = False


PLACE_ART: dict[str, PlaceArt] = {
    "garden": PlaceArt(0.55, _garden),
    "meadow": PlaceArt(0.6, _meadow),
    "forest": PlaceArt(0.58, _forest),
    "river": PlaceArt(0.5, _river, water=True),
    "beach": PlaceArt(0.52, _beach, water=True),
    "hills": PlaceArt(0.5, _hills),
    "snow": PlaceArt(0.55, _snow, _snowflakes),
    "village": PlaceArt(0.55, _village),
    "space": PlaceArt(0.66, _space),
}


def paint_set(c: Canvas, place: str) -> None:
    """Paint the sky and the land of `place` on `c`, the land tinted by the time of day."""
    paint_sky(c, place)
    PLACE_ART[place].paint(c)
    c.land = ImageChops.multiply(c.land, Image.new("RGBA", c.land.size, (*c.light.tint, 255)))
