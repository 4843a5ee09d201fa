"""Scenery: the sky, the land and the props of each place, lit by the time of day."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from core.providers.offline.drawing import BEAK, RGB, WHITE, bezier, mix, shade

# Light ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Light:
    """How a time of day paints the sky and tints the land."""

    sky: tuple[RGB, ...]  # gradient stops, top to horizon
    tint: RGB  # multiplied over the land (and, half as strongly, the characters)
    orb: RGB  # sun or moon colour
    orb_at: tuple[float, float]  # x, y as fractions of the sky (y 1 = horizon)
    orb_r: float  # radius as a fraction of the frame's shorter side
    cloud: RGB
    night: bool = False


LIGHTS: dict[str, Light] = {
    "morning": Light(
        ((150, 200, 240), (205, 225, 240), (255, 226, 205)),
        (250, 240, 240),
        (255, 244, 190),
        (0.18, 0.55),
        0.055,
        (255, 240, 240),
    ),
    "noon": Light(
        ((60, 140, 230), (120, 185, 245), (195, 228, 255)),
        (255, 255, 255),
        (255, 248, 170),
        (0.82, 0.15),
        0.06,
        (255, 255, 255),
    ),
    "afternoon": Light(
        ((95, 160, 225), (165, 200, 230), (255, 222, 165)),
        (255, 240, 210),
        (255, 222, 120),
        (0.72, 0.38),
        0.06,
        (255, 248, 235),
    ),
    "sunset": Light(
        ((70, 55, 135), (225, 110, 140), (255, 170, 80)),
        (255, 195, 160),
        (255, 120, 60),
        (0.68, 0.92),
        0.1,
        (250, 170, 170),
    ),
    "night": Light(
        ((8, 14, 48), (22, 36, 88), (50, 70, 130)),
        (105, 120, 180),
        (250, 246, 215),
        (0.8, 0.25),
        0.05,
        (70, 80, 120),
        night=True,
    ),
}
_SPACE_SKY: tuple[RGB, ...] = ((10, 8, 40), (40, 25, 90), (85, 50, 130))
_FLOWERS: tuple[RGB, ...] = ((240, 90, 110), (250, 210, 70), (255, 255, 255), (190, 120, 230))
_HOUSES: tuple[RGB, ...] = ((250, 200, 120), (240, 150, 140), (160, 200, 230), (200, 230, 160))


def _gradient(stops: Sequence[RGB], size: tuple[int, int], span: float) -> Image.Image:
    """A vertical gradient through `stops`, reaching the last stop at `span` of the height."""
    w, h = size
    ys = np.clip(np.linspace(0, 1 / span, h), 0, 1) * (len(stops) - 1)
    cols = np.array(stops, dtype=np.float32)
    idx = np.minimum(ys.astype(int), len(stops) - 2)
    t = (ys - idx)[:, None]
    line = cols[idx] * (1 - t) + cols[idx + 1] * t
    column = Image.fromarray(line.astype(np.uint8)[:, None, :])
    return column.resize((w, h), Image.Resampling.NEAREST)


# Painting -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Canvas:
    """The picture at 2× while it is painted: sky, and land (everything in front of the sky)."""

    sky: Image.Image
    land: Image.Image
    horizon: float
    rng: random.Random
    light: Light

    @property
    def w(self) -> int:
        """Width in pixels."""
        return self.sky.width

    @property
    def h(self) -> int:
        """Height in pixels."""
        return self.sky.height

    @property
    def s(self) -> int:
        """Size unit of props: the shorter side, so houses and trees fit portrait frames too."""
        return min(self.w, self.h)

    @property
    def ground(self) -> ImageDraw.ImageDraw:
        """A drawing context on the land layer."""
        return ImageDraw.Draw(self.land)

    def band(self, y: float, amp: float, colour: RGB, waves: float = 2.0) -> None:
        """Fill everything below a gently rolling line at height `y`."""
        phase = self.rng.uniform(0, 2 * math.pi)
        pts = [
            (x, y + amp * math.sin(phase + waves * 2 * math.pi * x / self.w))
            for x in range(0, self.w + 33, 32)
        ]
        self.ground.polygon([*pts, (self.w, self.h), (0, self.h)], fill=colour)

    def blobs(self, xys: Sequence[tuple[float, float, float]], colour: RGB) -> None:
        """Circles (x, y, r) in one colour: canopies, bushes, clouds on the ground."""
        d = self.ground
        for x, y, r in xys:
            d.ellipse((x - r, y - r, x + r, y + r), fill=colour)

    def spots(self, y0: float, y1: float, n: int) -> list[tuple[float, float, float]]:
        """`n` random points in the band y0..y1, with a scale that grows towards the viewer."""
        out = []
        for _ in range(n):
            y = self.rng.uniform(y0, y1)
            out.append((self.rng.uniform(0, self.w), y, 0.5 + (y - y0) / max(1.0, y1 - y0)))
        return out


def _paint_sky(c: Canvas, stops: Sequence[RGB], place: str) -> None:
    c.sky.paste(_gradient(stops, c.sky.size, c.horizon / c.h))
    d = ImageDraw.Draw(c.sky, "RGBA")
    light, rng, w, hy, s = c.light, c.rng, c.w, c.horizon, c.s
    if light.night or place == "space":
        for _ in range(int(w * hy / 9000)):
            x, y, r = rng.uniform(0, w), rng.uniform(0, hy), rng.choice((1.5, 2, 2.5, 3.5))
            d.ellipse((x - r, y - r, x + r, y + r), fill=(255, 250, 220, rng.randint(150, 255)))
    if place == "space":
        _planets(c, d)
        return
    ox, oy, r = light.orb_at[0] * w, light.orb_at[1] * hy, light.orb_r * s
    for k in range(6, 0, -1):
        g = r * (1 + k * 0.35)
        d.ellipse((ox - g, oy - g, ox + g, oy + g), fill=(*light.orb, 22))
    disc = Image.new("L", (int(2 * r), int(2 * r)), 0)
    ImageDraw.Draw(disc).ellipse((0, 0, 2 * r - 1, 2 * r - 1), fill=255)
    if light.night:  # a crescent: bite a circle out of the disc
        ImageDraw.Draw(disc).ellipse((0.55 * r, -0.15 * r, 2.55 * r, 1.85 * r), fill=0)
    c.sky.paste(light.orb, (int(ox - r), int(oy - r)), disc)
    for _ in range(rng.randint(2, 4)):
        cx, cy, size = rng.uniform(0, w), rng.uniform(0.1, 0.55) * hy, rng.uniform(0.6, 1.1) * s
        for dx, dy, rr in ((-0.07, 0.01, 0.04), (0, -0.01, 0.055), (0.07, 0.01, 0.04)):
            x, y, rad = cx + dx * size, cy + dy * size, rr * size
            d.ellipse((x - rad, y - rad, x + rad, y + rad), fill=(*light.cloud, 235))


def _planets(c: Canvas, d: ImageDraw.ImageDraw) -> None:
    thirds = [0, 1, 2]
    c.rng.shuffle(thirds)
    for third, colour in zip(
        thirds, ((240, 160, 80), (120, 180, 240), (230, 110, 120)), strict=True
    ):
        x = (third + c.rng.uniform(0.25, 0.75)) * c.w / 3
        y, r = c.rng.uniform(0.12, 0.6) * c.horizon, c.rng.uniform(0.03, 0.07) * c.s
        d.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        d.ellipse((x - r * 0.6, y - r * 0.7, x + r * 0.1, y - r * 0.1), fill=(*WHITE, 60))
        if third == thirds[0]:
            ring = (x - 1.9 * r, y - 0.35 * r, x + 1.9 * r, y + 0.35 * r)
            d.ellipse(ring, outline=(250, 220, 150), width=6)


def _flower(d: ImageDraw.ImageDraw, x: float, y: float, r: float, colour: RGB) -> None:
    for k in range(5):
        a = 2 * math.pi * k / 5
        px, py = x + r * math.cos(a), y + r * math.sin(a)
        d.ellipse((px - r * 0.7, py - r * 0.7, px + r * 0.7, py + r * 0.7), fill=colour)
    d.ellipse((x - r * 0.55, y - r * 0.55, x + r * 0.55, y + r * 0.55), fill=(250, 200, 60))


def _flowers(c: Canvas, y0: float, y1: float, n: int, size: float, colours: Sequence[RGB]) -> None:
    for x, y, k in c.spots(y0, y1, n):
        _flower(c.ground, x, y, size * c.s * k, c.rng.choice(colours))


def _tree(c: Canvas, x: float, base: float, size: float, leaf: RGB) -> None:
    d = c.ground
    d.rectangle((x - size * 0.07, base - size * 0.5, x + size * 0.07, base), fill=(120, 80, 50))
    canopy = [(0, 0.75, 0.32), (-0.22, 0.55, 0.24), (0.22, 0.55, 0.24)]
    c.blobs([(x + dx * size, base - dy * size, r * size) for dx, dy, r in canopy], leaf)
    c.blobs([(x - size * 0.08, base - size * 0.82, size * 0.12)], shade(leaf, 1.15))


def _pine(c: Canvas, x: float, base: float, size: float) -> None:
    d = c.ground
    d.rectangle((x - size * 0.05, base - size * 0.15, x + size * 0.05, base), fill=(110, 75, 50))
    for k in range(3):
        y0, half, top = base - size * (0.15 + 0.28 * k), size * (0.34 - 0.08 * k), size * 0.45
        d.polygon([(x - half, y0), (x + half, y0), (x, y0 - top)], fill=(50, 120, 80))
        cap = [(x - half * 0.45, y0 - top * 0.55), (x + half * 0.45, y0 - top * 0.55)]
        d.polygon([*cap, (x, y0 - top)], fill=(245, 250, 255))


def _house(c: Canvas, x: float, base: float, width: float, wall: RGB, roof: RGB) -> None:
    d, hgt = c.ground, width * 0.8
    d.rectangle(
        (x - width / 2, base - hgt, x + width / 2, base),
        fill=wall,
        outline=shade(wall, 0.6),
        width=3,
    )
    eaves = [(x - width * 0.62, base - hgt), (x + width * 0.62, base - hgt)]
    d.polygon(
        [*eaves, (x, base - hgt - width * 0.55)], fill=roof, outline=shade(roof, 0.6), width=3
    )
    d.rectangle((x - width * 0.1, base - hgt * 0.45, x + width * 0.1, base), fill=shade(roof, 0.8))
    window = (255, 225, 120) if c.light.night else (190, 225, 250)
    for wx in (x - width * 0.3, x + width * 0.3):
        box = (wx - width * 0.1, base - hgt * 0.7, wx + width * 0.1, base - hgt * 0.45)
        d.rectangle(box, fill=window, outline=WHITE, width=4)


def _meadow(c: Canvas) -> None:
    hy, h = c.horizon, c.h
    c.band(hy - 0.05 * h, 0.03 * h, (150, 205, 135))
    _tree(c, c.rng.uniform(0.1, 0.9) * c.w, hy - 0.02 * h, 0.16 * c.s, (80, 150, 80))
    c.band(hy, 0.012 * h, (125, 195, 90))
    c.band(0.8 * h, 0.012 * h, (110, 182, 80), 1.3)
    _flowers(c, hy + 0.02 * h, h, int(70 * c.w / c.s), 0.008, _FLOWERS)


def _garden(c: Canvas) -> None:
    hy, h, w, s, d = c.horizon, c.h, c.w, c.s, c.ground
    hedge = [(x, hy, c.rng.uniform(0.04, 0.07) * s) for x in range(0, w + 60, int(0.05 * s))]
    c.blobs(hedge, (70, 140, 80))
    c.band(hy, 0.005 * h, (120, 192, 88))
    hx, hw = (0.2 if c.rng.random() < 0.5 else 0.8) * w, 0.32 * s
    d.rectangle((hx + 0.3 * hw, hy - 0.8 * hw, hx + 0.42 * hw, hy - 0.4 * hw), fill=(160, 90, 70))
    _house(c, hx, hy + 0.08 * h, hw, (250, 238, 210), (200, 80, 70))
    fy, p = hy + 0.1 * h, 0.01 * s  # fence foot and picket half-width
    d.rectangle((0, fy - 4.5 * p, w, fy - 3.5 * p), fill=(245, 245, 240))
    for x in range(0, w, int(3.5 * p)):
        picket = [(x, fy), (x, fy - 7 * p), (x + p, fy - 8 * p), (x + 2 * p, fy - 7 * p)]
        d.polygon([*picket, (x + 2 * p, fy)], fill=(250, 250, 245))
    path = [(hx - 3 * p, fy), (hx + 3 * p, fy), (hx + 12 * p, h), (hx - 12 * p, h)]
    d.polygon(path, fill=(225, 205, 160))
    _flowers(c, fy, fy + 0.05 * h, int(30 * w / s), 0.011, _FLOWERS)


def _forest(c: Canvas) -> None:
    hy, h, w, s = c.horizon, c.h, c.w, c.s
    far = [(x, hy - c.rng.uniform(0, 0.06) * s, 0.08 * s) for x in range(0, w + 80, int(0.07 * s))]
    c.blobs(far, (60, 115, 85))
    c.band(hy, 0.008 * h, (95, 155, 75))
    n = max(3, round(7 * w / s * 9 / 16))
    for i in range(n):
        x, base = (i + c.rng.uniform(0.1, 0.9)) * w / n, hy + c.rng.uniform(0.0, 0.06) * h
        leaf = c.rng.choice(((60, 140, 70), (80, 155, 60), (50, 125, 80)))
        _tree(c, x, base, c.rng.uniform(0.35, 0.5) * s, leaf)
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
    _flowers(c, 0.78 * h, h, 7, 0.01, ((250, 150, 120), (250, 235, 220)))


def _hills(c: Canvas) -> None:
    hy, h, s = c.horizon, c.h, c.s
    c.band(hy - 0.1 * h, 0.05 * h, (150, 200, 165), 1.5)
    for x, y, _ in c.spots(hy - 0.05 * h, hy, 5):
        c.blobs([(x, y, 0.012 * s), (x + 0.01 * s, y - 0.004 * s, 0.009 * s)], (250, 250, 245))
    c.band(hy - 0.02 * h, 0.04 * h, (125, 188, 100), 1.1)
    for x, y, k in c.spots(hy, hy + 0.05 * h, 5):
        _tree(c, x, y, 0.08 * s * k, (70, 140, 70))
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
        _pine(c, x, hy + c.rng.uniform(0.0, 0.05) * h, c.rng.uniform(0.2, 0.32) * s)
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
        _house(c, x, base, width, c.rng.choice(_HOUSES), roof)
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
        d.polygon(flag, fill=(*_FLOWERS, (90, 160, 230))[i % 5])


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
    stops = c.light.sky
    if place == "space":
        stops = tuple(mix(a, b, 0.15) for a, b in zip(_SPACE_SKY, c.light.sky, strict=True))
    _paint_sky(c, stops, place)
    PLACE_ART[place].paint(c)
    c.land = ImageChops.multiply(c.land, Image.new("RGBA", c.land.size, (*c.light.tint, 255)))
