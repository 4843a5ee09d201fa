"""Props that dress the places: flowers, leafy trees, snowy pines and cottages."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import ImageDraw

from core.providers.offline.canvas import Canvas
from core.providers.offline.drawing import RGB, WHITE, shade

FLOWERS: tuple[RGB, ...] = ((240, 90, 110), (250, 210, 70), (255, 255, 255), (190, 120, 230))
HOUSES: tuple[RGB, ...] = ((250, 200, 120), (240, 150, 140), (160, 200, 230), (200, 230, 160))


def _flower(d: ImageDraw.ImageDraw, x: float, y: float, r: float, colour: RGB) -> None:
    for k in range(5):
        a = 2 * math.pi * k / 5
        px, py = x + r * math.cos(a), y + r * math.sin(a)
        d.ellipse((px - r * 0.7, py - r * 0.7, px + r * 0.7, py + r * 0.7), fill=colour)
    d.ellipse((x - r * 0.55, y - r * 0.55, x + r * 0.55, y + r * 0.55), fill=(250, 200, 60))


def flowers(c: Canvas, y0: float, y1: float, n: int, size: float, colours: Sequence[RGB]) -> None:
    """Scatter `n` flowers of `colours` in the band y0..y1, bigger towards the viewer."""
    for x, y, k in c.spots(y0, y1, n):
        _flower(c.ground, x, y, size * c.s * k, c.rng.choice(colours))


def tree(c: Canvas, x: float, base: float, size: float, leaf: RGB) -> None:
    """A round leafy tree of height `size` standing at (x, base)."""
    d = c.ground
    d.rectangle((x - size * 0.07, base - size * 0.5, x + size * 0.07, base), fill=(120, 80, 50))
    canopy = [(0, 0.75, 0.32), (-0.22, 0.55, 0.24), (0.22, 0.55, 0.24)]
    c.blobs([(x + dx * size, base - dy * size, r * size) for dx, dy, r in canopy], leaf)
    c.blobs([(x - size * 0.08, base - size * 0.82, size * 0.12)], shade(leaf, 1.15))


def pine(c: Canvas, x: float, base: float, size: float) -> None:
    """A snowy pine tree of height `size` standing at (x, base)."""
    d = c.ground
    d.rectangle((x - size * 0.05, base - size * 0.15, x + size * 0.05, base), fill=(110, 75, 50))
    for k in range(3):
        y0, half, top = base - size * (0.15 + 0.28 * k), size * (0.34 - 0.08 * k), size * 0.45
        d.polygon([(x - half, y0), (x + half, y0), (x, y0 - top)], fill=(50, 120, 80))
        cap = [(x - half * 0.45, y0 - top * 0.55), (x + half * 0.45, y0 - top * 0.55)]
        d.polygon([*cap, (x, y0 - top)], fill=(245, 250, 255))


def house(c: Canvas, x: float, base: float, width: float, wall: RGB, roof: RGB) -> None:
    """A cottage `width` wide standing at (x, base), its windows lit at night."""
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
