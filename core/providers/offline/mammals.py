"""Mammals drawn from simple shapes, all facing right.

Cats, dogs, foxes, rabbits, bears, mice, pigs, elephants and lions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.providers.offline.drawing import CREAM, EYE, PINK, RGB, WHITE, Pen, bezier, mix, shade
from core.providers.offline.looks import Look


def _paws(pen: Pen, xs: Sequence[float], colour: RGB, rx: float = 8, ry: float = 5) -> None:
    for x in xs:
        pen.ellipse(x, 100 - ry, rx, ry, colour)


def cat(pen: Pen, look: Look) -> None:
    """Sitting cat: pointy ears, tabby stripes, whiskers and a long curled tail."""
    fur, light, dark = look.fur, shade(look.fur, 1.55), shade(look.fur, 0.72)
    pen.stroke(bezier([(-18, 94), (-52, 100), (-52, 54), (-36, 44)]), 7, fur)
    pen.ellipse(-2, 74, 24, 26, fur)
    pen.ellipse(3, 80, 13, 17, light)
    _paws(pen, (-8, 12), fur)
    for ear in ([(-19, 30), (-17, 2), (0, 16)], [(8, 16), (27, 2), (28, 30)]):
        pen.poly(ear, fur)
    pen.poly([(-15, 24), (-14.5, 8), (-5, 17)], mix(fur, PINK, 0.6), outline=False)
    pen.poly([(13, 17), (24, 8), (24, 24)], mix(fur, PINK, 0.6), outline=False)
    pen.ellipse(5, 38, 26, 22, fur)
    for dx in (-6, 0, 6):
        pen.stroke([(5 + dx, 17), (5 + dx * 1.2, 24)], 1.8, dark, outline=False)
    pen.eyes(7, 36, 9.5, 4.2)
    pen.cheeks(7, 46, 15, fur)
    pen.poly([(4.5, 42), (9.5, 42), (7, 45.5)], PINK, outline=False)
    pen.smile(7, 46.5, 5)
    pen.whiskers(7, 45, 30)


def dog(pen: Pen, look: Look) -> None:
    """Sitting puppy: floppy ears, big muzzle with a black nose, red collar, wagging tail."""
    fur, light, dark = look.fur, shade(look.fur, 1.5), shade(look.fur, 0.68)
    pen.stroke(bezier([(-20, 86), (-40, 80), (-40, 60), (-34, 52)]), 7, fur)
    pen.ellipse(-2, 75, 26, 25, fur)
    pen.ellipse(3, 81, 14, 16, light)
    _paws(pen, (-9, 13), fur, 9, 5)
    pen.ellipse(5, 37, 26, 23, fur)
    pen.oval(-19, 44, 8, 19, 12, dark)
    pen.oval(29, 44, 8, 19, -12, dark)
    pen.ellipse(9, 48, 13, 9, light)
    pen.ellipse(9, 42.5, 6, 4.5, EYE)
    pen.dot(7.5, 41.2, 1.6, WHITE)
    pen.eyes(8, 33, 9.5, 4)
    pen.thin([(9, 47), (9, 50)], 1.0, EYE)
    pen.smile(9, 50.5, 6)
    pen.ellipse(10, 55.5, 3, 3.6, PINK)
    pen.stroke([(-12, 58), (5, 62), (22, 57)], 4.5, (214, 60, 60))
    pen.circle(6, 65, 3.2, (250, 200, 60))


def fox(pen: Pen, look: Look) -> None:
    """Sitting fox: tall pointy ears with dark tips, white cheeks and a bushy white-tipped tail."""
    fur, dark = look.fur, shade(look.fur, 0.45)
    pen.oval(-45, 54, 10, 13, -40, WHITE)
    pen.oval(-30, 74, 13, 27, -40, fur)
    pen.ellipse(-2, 76, 22, 24, fur)
    pen.ellipse(4, 76, 11, 16, WHITE)
    _paws(pen, (-8, 11), dark, 7, 5)
    for ear, tip in (
        ([(-21, 30), (-15, -6), (0, 18)], [(-17.2, 7), (-15, -6), (-10, 6)]),
        ([(9, 18), (25, -6), (30, 30)], [(21, 6), (25, -6), (27, 8)]),
    ):
        pen.poly(ear, fur)
        pen.poly(tip, dark, outline=False)
    pen.ellipse(5, 36, 26, 20, fur)
    pen.poly(
        [(-20, 38), (-4, 40), (7, 58), (18, 40), (30, 38), (22, 50), (7, 60), (-8, 50)], WHITE
    )
    pen.ellipse(7, 52, 3.6, 2.6, EYE)
    pen.eyes(7, 34, 10, 4)
    pen.arc(7, 54, 3, 2.5, 20, 160, 1)


def rabbit(pen: Pen, look: Look) -> None:
    """Bunny: long upright ears, big feet, buck teeth and a white cotton tail."""
    fur, light = look.fur, shade(look.fur, 1.55)
    inner = mix(fur, PINK, 0.7)
    for x, tilt in ((-6, -8), (15, 10)):
        pen.oval(x, -4, 7, 24, tilt, fur)
        pen.oval(x, -2, 3.5, 17, tilt, inner)
    pen.ellipse(-1, 76, 23, 24, fur)
    pen.ellipse(3, 80, 13, 15, light)
    pen.circle(-24, 86, 8, WHITE)
    _paws(pen, (-10, 15), fur, 11, 5)
    pen.ellipse(5, 40, 21, 19, fur)
    pen.eyes(7, 37, 8.5, 3.8)
    pen.cheeks(7, 46, 13, fur)
    pen.ellipse(7, 44, 2.6, 2, PINK)
    pen.poly([(5, 49), (9, 49), (9, 53), (5, 53)], WHITE)
    pen.thin([(7, 49), (7, 53)], 0.5, (200, 200, 200))
    pen.smile(7, 47, 4)
    pen.whiskers(7, 45, 22)


def bear(pen: Pen, look: Look) -> None:
    """Teddy bear: round ears, big round tummy and a pale muzzle."""
    fur, light = look.fur, shade(look.fur, 1.45)
    pen.ellipse(0, 71, 31, 30, fur)
    pen.ellipse(3, 76, 18, 19, light)
    pen.oval(-26, 70, 8, 14, 25, fur)
    pen.oval(30, 70, 8, 14, -25, fur)
    for x in (-14, 16):
        pen.ellipse(x, 95, 11, 7, fur)
        pen.ellipse(x, 95, 5, 3.5, light)
    for x in (-14, 22):
        pen.circle(x, 16, 9, fur)
        pen.circle(x, 16, 4.5, light)
    pen.ellipse(4, 34, 25, 22, fur)
    pen.ellipse(6, 43, 11, 8, light)
    pen.ellipse(6, 39.5, 5, 3.5, EYE)
    pen.dot(5, 38.5, 1.3, WHITE)
    pen.eyes(6, 31, 10, 3.6)
    pen.cheeks(6, 42, 16, fur)
    pen.smile(6, 44, 4)


def mouse(pen: Pen, look: Look) -> None:
    """Little mouse: huge round ears, a pink nose, whiskers and a long thin tail."""
    fur, light = look.fur, shade(look.fur, 1.5)
    pen.stroke(bezier([(-16, 96), (-48, 104), (-60, 80), (-44, 66)]), 1.8, PINK)
    pen.ellipse(0, 80, 19, 20, fur)
    pen.ellipse(3, 84, 11, 12, light)
    _paws(pen, (-7, 11), PINK, 6, 3.5)
    for x in (-15, 25):
        pen.circle(x, 36, 15, fur)
        pen.circle(x, 36, 9.5, mix(fur, PINK, 0.75))
    pen.ellipse(5, 54, 18, 15, fur)
    pen.eyes(7, 51, 7.5, 3.6)
    pen.cheeks(7, 59, 12, fur, 3.5)
    pen.circle(8, 58, 2.5, PINK)
    pen.smile(8, 61, 3.5)
    pen.whiskers(8, 59, 24)


def pig(pen: Pen, look: Look) -> None:
    """Piglet: pink, a round snout with nostrils, folded ears and a curly tail."""
    skin, dark = look.fur, shade(look.fur, 0.82)
    spiral = [
        (-36 - (3 + t / 5) * math.cos(t / 3), 66 - (3 + t / 5) * math.sin(t / 3))
        for t in range(22)
    ]
    pen.stroke([(-28, 70), *spiral[::-1]], 2.4, skin)
    pen.ellipse(-2, 75, 30, 24, skin)
    for x in (-18, -4, 8, 20):
        pen.ellipse(x, 96, 5.5, 5, dark)
    pen.ellipse(6, 43, 25, 21, skin)
    pen.poly([(-19, 22), (-3, 21), (-13, 35)], dark)
    pen.poly([(15, 21), (31, 22), (25, 35)], dark)
    pen.eyes(6, 37, 10, 3.6)
    pen.ellipse(7, 50, 10, 7, dark)
    pen.ellipse(4, 50, 2, 3, shade(skin, 0.5))
    pen.ellipse(10, 50, 2, 3, shade(skin, 0.5))
    pen.cheeks(6, 49, 19, skin, 3.5)
    pen.arc(7, 56, 3.5, 2.2, 20, 160, 1)


def elephant(pen: Pen, look: Look) -> None:
    """Elephant: big flapping ears, a curled trunk, little tusks and pillar legs."""
    skin, dark, inner = look.fur, shade(look.fur, 0.82), mix(look.fur, PINK, 0.45)
    pen.stroke(bezier([(-28, 70), (-40, 76), (-40, 86)]), 1.6, skin)
    pen.ellipse(-40, 88, 2.5, 4, dark)
    for x in (-24, 20):
        pen.rounded(x - 6, 80, x + 6, 99, 4, dark)
    pen.ellipse(-2, 70, 31, 24, skin)
    for x in (-11, 9):
        pen.rounded(x - 7, 78, x + 7, 101, 5, skin)
        for dx in (-3.5, 0, 3.5):
            pen.dot(x + dx, 99, 1.5, CREAM)
    for x, tilt in ((-18, 10), (30, -10)):
        pen.oval(x, 36, 18, 22, tilt, skin)
        pen.oval(x, 37, 11, 15, tilt, inner)
    pen.ellipse(6, 34, 21, 20, skin)
    pen.stroke(bezier([(8, 44), (8, 64), (12, 76), (26, 72), (24, 64)]), 8, skin)
    pen.poly([(-2, 48), (1, 47), (-1, 56)], CREAM)
    pen.poly([(16, 47), (19, 48), (18, 56)], CREAM)
    pen.eyes(8, 31, 9, 3.5)
    pen.cheeks(8, 41, 14, skin, 3.5)


def lion(pen: Pen, look: Look) -> None:
    """Lion: a big scalloped mane, round ears, a pale muzzle and a tufted tail."""
    fur, light = look.fur, shade(look.fur, 1.5)
    mane = mix(look.fur, (170, 80, 30), 0.6)
    pen.stroke(bezier([(-20, 94), (-50, 96), (-46, 66), (-40, 60)]), 3.2, fur)
    pen.oval(-40, 57, 5, 7, 20, mane)
    pen.ellipse(-2, 76, 25, 24, fur)
    pen.ellipse(3, 82, 13, 15, light)
    _paws(pen, (-9, 13), fur, 9, 5)
    for i in range(14):
        a = 2 * math.pi * i / 14
        pen.circle(6 + 27 * math.cos(a), 38 + 25 * math.sin(a), 10, mane)
    pen.ellipse(6, 38, 29, 27, mane)
    for x in (-10, 22):
        pen.circle(x, 22, 6, fur)
    pen.ellipse(6, 39, 20, 19, fur)
    pen.ellipse(6, 47, 10, 7, light)
    pen.poly([(3, 42), (9, 42), (6, 46)], (130, 80, 60))
    pen.eyes(6, 35, 8.5, 3.6)
    pen.smile(6, 48, 4)
