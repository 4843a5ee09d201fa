"""The canvas a scene is painted on, and the light of its time of day."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

from core.providers.offline.drawing import RGB


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
