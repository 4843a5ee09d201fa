"""The sky behind every place: colours by time of day, sun or moon, clouds, stars, planets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from core.providers.offline.canvas import Canvas, Light
from core.providers.offline.drawing import RGB, WHITE, mix

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


def paint_sky(c: Canvas, place: str) -> None:
    """Paint the sky of `place` on `c`: gradient, stars or planets, sun or moon, clouds."""
    stops = c.light.sky
    if place == "space":
        stops = tuple(mix(a, b, 0.15) for a, b in zip(_SPACE_SKY, c.light.sky, strict=True))
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
