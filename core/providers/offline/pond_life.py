"""Creatures of the water's edge, drawn facing right: frogs, turtles and goldfish."""

from __future__ import annotations

import math

from core.providers.offline.drawing import RGB, WHITE, Pen, mix, shade
from core.providers.offline.looks import Look


def frog(pen: Pen, look: Look) -> None:
    """Frog: wide green body, bulging eyes on top, a huge smile and folded legs."""
    skin, light, dark = look.fur, shade(look.fur, 1.5), shade(look.fur, 0.75)
    for side in (-1, 1):
        pen.ellipse(side * 29, 90, 13, 9, skin)
    pen.ellipse(0, 78, 31, 21, skin)
    pen.ellipse(1, 86, 19, 11, light)
    for side in (-1, 1):
        pen.ellipse(side * 11 + 1, 97, 7, 3.5, skin)
    pen.ellipse(1, 62, 30, 19, skin)
    for x, y, r in ((-22, 58, 2.5), (22, 56, 2.2), (-14, 70, 1.8)):
        pen.dot(x, y, r, dark)
    for x in (-13, 16):
        pen.circle(x, 46, 11, skin)
        pen.circle(x, 45, 7.5, WHITE)
        pen.eye(x + 1.5, 45, 4.4)
    pen.arc(2, 62, 17, 9, 15, 165, 1.5)
    pen.cheeks(2, 66, 20, skin, 4)


def turtle(pen: Pen, look: Look) -> None:
    """Turtle seen from the side: patterned domed shell, head poking out, stubby legs."""
    skin = mix(look.fur, (150, 205, 110), 0.45)
    shell, plates = shade(look.fur, 0.75), mix(look.fur, (215, 185, 95), 0.45)
    pen.poly([(-32, 80), (-42, 86), (-30, 86)], skin)
    for x in (-22, 18):
        pen.ellipse(x, 90, 7, 10, skin)
    pen.ellipse(34, 72, 7, 6, skin)
    pen.circle(42, 62, 11.5, skin)
    pen.eye(46, 59, 3.3)
    pen.cheeks(46, 66, 0, skin, 3)
    pen.arc(44, 65, 5, 3, 10, 120, 1)
    pen.chord(-1, 80, 33, 32, (180, 360), shell)
    hexagon = [
        (math.cos(math.radians(a)) * 8, math.sin(math.radians(a)) * 7) for a in range(0, 360, 60)
    ]
    for cx, cy in ((-1, 66), (-18, 72), (16, 72), (-10, 56), (8, 56)):
        pen.poly([(cx + x, cy + y) for x, y in hexagon], plates)
    pen.poly([(-36, 78), (34, 78), (32, 84), (-34, 84)], plates)


def _fish_body(pen: Pen, cx: float, cy: float, s: float, colour: RGB) -> None:
    pen.poly([(cx - 13 * s, cy), (cx - 24 * s, cy - 9 * s), (cx - 24 * s, cy + 9 * s)], colour)
    pen.poly(
        [(cx - 6 * s, cy - 7 * s), (cx + 2 * s, cy - 16 * s), (cx + 8 * s, cy - 7 * s)], colour
    )
    pen.ellipse(cx, cy, 16 * s, 11 * s, colour)
    pen.arc(cx - 3 * s, cy, 5 * s, 8 * s, 300, 60, 0.8)
    pen.eye(cx + 8 * s, cy - 2 * s, 2.8 * s)
    pen.arc(cx + 10 * s, cy + 3 * s, 3 * s, 2 * s, 30, 150, 0.9)


def fish(pen: Pen, look: Look) -> None:
    """Goldfish: leaping from a splash when near water, otherwise swimming in a round bowl."""
    water = (120, 190, 235)
    if look.in_water:
        pen.ellipse(0, 94, 40, 8, water)
        pen.ellipse(0, 94, 26, 4, shade(water, 1.35))
        for x, y, r in ((-30, 78, 3), (-22, 70, 2.2), (28, 80, 3), (34, 70, 2)):
            pen.circle(x, y, r, shade(water, 1.3))
        _fish_body(pen, 0, 62, 1.6, look.fur)
        return
    glass = (215, 236, 248)
    pen.circle(0, 62, 36, glass)
    pen.chord(0, 62, 35, 35, (-20, 200), water, outline=False)
    for x in range(-24, 26, 7):
        pen.dot(x, 92 - abs(x) * 0.25, 3.5, (200, 170, 120) if x % 2 else (150, 190, 120))
    pen.stroke([(-12, 92), (-14, 72), (-10, 62)], 2, (90, 170, 90), outline=False)
    _fish_body(pen, 4, 66, 0.95, look.fur)
    for x, y, r in ((14, 48, 2), (18, 40, 1.5), (14, 34, 1.2)):
        pen.circle(x, y, r, WHITE)
    pen.ellipse(0, 29, 22, 4, shade(glass, 0.9))
    pen.arc(-18, 50, 10, 16, 180, 250, 1.5)
