"""Shared drawing primitives: the palette, colour mixing, curves and the outlining Pen."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

RGB = tuple[int, int, int]
Point = tuple[float, float]

WHITE: RGB = (255, 255, 255)
CREAM: RGB = (250, 240, 220)
PINK: RGB = (244, 150, 170)
BEAK: RGB = (245, 150, 40)
EYE: RGB = (40, 32, 40)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """The colour `t` of the way from `a` to `b`."""
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def shade(colour: RGB, factor: float) -> RGB:
    """`colour` darkened (factor < 1) or lightened towards white (factor > 1)."""
    if factor <= 1:
        return mix((0, 0, 0), colour, factor)
    return mix(colour, WHITE, factor - 1)


@dataclass(frozen=True, slots=True)
class Ink:
    """How outlines look: width in creature units, and a fixed colour or a darkening factor."""

    width: float = 1.3
    darken: float = 0.55
    colour: RGB | None = None


def bezier(points: Sequence[Point], steps: int = 20) -> list[Point]:
    """Points along the Bézier curve with control points `points`."""
    out: list[Point] = []
    n = len(points) - 1
    for i in range(steps + 1):
        t = i / steps
        x = y = 0.0
        for k, (px, py) in enumerate(points):
            c = math.comb(n, k) * (1 - t) ** (n - k) * t**k
            x, y = x + c * px, y + c * py
        out.append((x, y))
    return out


class Pen:
    """Draws one creature on its own transparent layer, in units where it stands 100 tall.

    x runs from -75 to 75 with the creature centred on 0 and facing right; y runs down from
    -35 to 105 and the ground is at y = 100.
    """

    TOP, BOTTOM, HALF_W = -35.0, 105.0, 75.0

    def __init__(self, height_px: float, ink: Ink) -> None:
        self.u = height_px / 100
        self.ink = ink
        size = (round(2 * self.HALF_W * self.u), round((self.BOTTOM - self.TOP) * self.u))
        self.image = Image.new("RGBA", size, (0, 0, 0, 0))
        self._draw = ImageDraw.Draw(self.image)

    @property
    def foot(self) -> Point:
        """Pixel position of the point between the feet (x = 0, y = 100) on the layer."""
        return self.xy(0, 100)

    def xy(self, x: float, y: float) -> Point:
        """Unit coordinates to layer pixels."""
        return ((x + self.HALF_W) * self.u, (y - self.TOP) * self.u)

    def _line_of(self, fill: RGB) -> tuple[RGB | None, int]:
        if self.ink.width <= 0:
            return None, 0
        colour = self.ink.colour or shade(fill, self.ink.darken)
        return colour, max(1, round(self.ink.width * self.u))

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: RGB) -> None:
        """A filled, outlined axis-aligned ellipse."""
        x0, y0 = self.xy(cx - rx, cy - ry)
        x1, y1 = self.xy(cx + rx, cy + ry)
        line, width = self._line_of(fill)
        self._draw.ellipse((x0, y0, x1, y1), fill=fill, outline=line, width=width)

    def circle(self, cx: float, cy: float, r: float, fill: RGB) -> None:
        """A filled, outlined circle."""
        self.ellipse(cx, cy, r, r, fill)

    def dot(self, cx: float, cy: float, r: float, fill: RGB) -> None:
        """A circle without outline (pupils, highlights, spots)."""
        x0, y0 = self.xy(cx - r, cy - r)
        x1, y1 = self.xy(cx + r, cy + r)
        self._draw.ellipse((x0, y0, x1, y1), fill=fill)

    def poly(self, points: Sequence[Point], fill: RGB, outline: bool = True) -> None:
        """A filled polygon, outlined unless told not to."""
        line, width = self._line_of(fill) if outline else (None, 0)
        pts = [self.xy(x, y) for x, y in points]
        self._draw.polygon(pts, fill=fill, outline=line, width=width)

    def oval(self, cx: float, cy: float, rx: float, ry: float, angle: float, fill: RGB) -> None:
        """An ellipse turned by `angle` degrees (clockwise on screen)."""
        a = math.radians(angle)
        pts = []
        for i in range(40):
            t = 2 * math.pi * i / 40
            x, y = rx * math.cos(t), ry * math.sin(t)
            pts.append(
                (cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a))
            )
        self.poly(pts, fill)

    def stroke(
        self, points: Sequence[Point], width: float, fill: RGB, outline: bool = True
    ) -> None:
        """A round-capped thick line through `points`, outlined like the shapes."""
        line, lw = self._line_of(fill) if outline else (None, 0)
        pts = [self.xy(x, y) for x, y in points]
        for colour, w in ((line, width * self.u + 2 * lw), (fill, width * self.u)):
            if colour is None or w <= 0:
                continue
            self._draw.line(pts, fill=colour, width=max(1, round(w)), joint="curve")
            for x, y in (pts[0], pts[-1]):
                self._draw.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=colour)

    def chord(
        self,
        cx: float,
        cy: float,
        rx: float,
        ry: float,
        span: tuple[float, float],
        fill: RGB,
        outline: bool = True,
    ) -> None:
        """The part of an ellipse cut off by the line between two angles (domes, water)."""
        line, width = self._line_of(fill) if outline else (None, 0)
        box = (*self.xy(cx - rx, cy - ry), *self.xy(cx + rx, cy + ry))
        self._draw.chord(box, span[0], span[1], fill=fill, outline=line, width=width)

    def rounded(self, x0: float, y0: float, x1: float, y1: float, r: float, fill: RGB) -> None:
        """A filled, outlined rectangle with round corners (legs, posts)."""
        line, width = self._line_of(fill)
        box = (*self.xy(x0, y0), *self.xy(x1, y1))
        self._draw.rounded_rectangle(box, r * self.u, fill=fill, outline=line, width=width)

    def thin(self, points: Sequence[Point], width: float, fill: RGB) -> None:
        """A plain line (whiskers, mouths, legs)."""
        pts = [self.xy(x, y) for x, y in points]
        self._draw.line(pts, fill=fill, width=max(1, round(width * self.u)), joint="curve")

    def arc(
        self, cx: float, cy: float, rx: float, ry: float, start: float, end: float, width: float
    ) -> None:
        """A dark arc, degrees clockwise from 3 o'clock (smiles)."""
        x0, y0 = self.xy(cx - rx, cy - ry)
        x1, y1 = self.xy(cx + rx, cy + ry)
        self._draw.arc((x0, y0, x1, y1), start, end, fill=EYE, width=max(1, round(width * self.u)))

    # Shared features -------------------------------------------------------------------------

    def eye(self, x: float, y: float, r: float) -> None:
        """A shiny friendly eye: dark disc with two highlights."""
        self.dot(x, y, r, EYE)
        self.dot(x + r * 0.3, y - r * 0.35, r * 0.38, WHITE)
        self.dot(x - r * 0.35, y + r * 0.35, r * 0.16, WHITE)

    def eyes(self, cx: float, cy: float, gap: float, r: float) -> None:
        """Two eyes either side of `cx`, looking slightly towards the facing side."""
        self.eye(cx - gap, cy, r)
        self.eye(cx + gap, cy, r)

    def cheeks(self, cx: float, cy: float, gap: float, fur: RGB, r: float = 4.0) -> None:
        """Rosy cheeks."""
        colour = mix(fur, PINK, 0.6)
        for x in (cx - gap, cx + gap):
            x0, y0 = self.xy(x - r, cy - r * 0.6)
            x1, y1 = self.xy(x + r, cy + r * 0.6)
            self._draw.ellipse((x0, y0, x1, y1), fill=colour)

    def smile(self, cx: float, cy: float, w: float) -> None:
        """A small 'w' mouth of two arcs."""
        self.arc(cx - w / 2, cy, w / 2, w / 2.4, 10, 170, 1.1)
        self.arc(cx + w / 2, cy, w / 2, w / 2.4, 10, 170, 1.1)

    def whiskers(self, cx: float, cy: float, spread: float) -> None:
        """Three whiskers either side of the muzzle."""
        for side in (-1, 1):
            for dy in (-2.5, 0.5, 3.5):
                x0 = cx + side * spread * 0.35
                self.thin([(x0, cy + dy * 0.4), (cx + side * spread, cy + dy * 1.4)], 0.7, EYE)
