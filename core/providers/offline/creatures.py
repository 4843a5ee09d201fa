"""Friendly creatures drawn from simple shapes, one small function per species."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.providers.offline.drawing import (
    BEAK,
    CREAM,
    EYE,
    PINK,
    RGB,
    WHITE,
    Ink,
    Pen,
    bezier,
    mix,
    shade,
)


@dataclass(frozen=True, slots=True)
class Look:
    """Everything a creature drawer needs besides the pen: its colours and where it stands."""

    fur: RGB
    in_water: bool = False
    eyes: int = 2  # only the generic creature uses other counts
    accessory: tuple[str, RGB] | None = None  # ("scarf" | "bow" | "hat" | "cap", colour)


# Creatures, all facing right --------------------------------------------------------------------


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


def owl(pen: Pen, look: Look) -> None:
    """Owl perched on a log: ear tufts, huge round eyes, a little beak and folded wings."""
    fur, light, dark = look.fur, shade(look.fur, 1.6), shade(look.fur, 0.7)
    wood = (120, 84, 52)
    pen.ellipse(0, 96, 38, 7, wood)
    pen.ellipse(35, 96, 4, 6, shade(wood, 1.4))
    pen.poly([(-22, 32), (-27, 8), (-9, 26)], dark)
    pen.poly([(12, 26), (30, 8), (25, 32)], dark)
    pen.ellipse(1, 58, 28, 35, fur)
    pen.ellipse(2, 72, 17, 18, light)
    for row, y in enumerate((65, 73, 81)):
        for x in range(-8 + 4 * (row % 2), 12, 8):
            pen.arc(x + 2, y, 3, 2.2, 20, 160, 0.8)
    pen.oval(-24, 64, 8, 20, 12, dark)
    pen.oval(27, 64, 8, 20, -12, dark)
    for x in (-9, 14):
        pen.circle(x, 42, 11.5, light)
        pen.circle(x, 42, 8, (250, 205, 70))
        pen.eye(x + 1.2, 42, 5)
    pen.poly([(0, 49), (5, 49), (2.5, 57)], BEAK)
    for x in (-8, 10):
        for dx in (-3, 0, 3):
            pen.stroke([(x, 90), (x + dx, 94)], 2.0, BEAK, outline=False)


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


def bird(pen: Pen, look: Look) -> None:
    """Round little bird: a beak, a wing, tail feathers and thin legs."""
    body, light, dark = look.fur, shade(look.fur, 1.55), shade(look.fur, 0.7)
    for dx in (-4, 8):
        pen.thin([(dx, 84), (dx, 99)], 1.5, BEAK)
        pen.thin([(dx - 4, 100), (dx, 98), (dx + 5, 100)], 1.3, BEAK)
    pen.poly([(-22, 64), (-44, 50), (-42, 60), (-46, 66), (-22, 74)], dark)
    pen.ellipse(-2, 70, 25, 20, body)
    pen.ellipse(6, 75, 14, 12, light)
    pen.circle(12, 50, 16, body)
    pen.poly([(26, 45), (38, 50), (26, 55)], BEAK)
    pen.thin([(27, 50), (36, 50)], 0.6, shade(BEAK, 0.6))
    pen.oval(-8, 68, 16, 9, -18, dark)
    pen.eye(17, 46, 3.6)
    pen.cheeks(17, 54, 0, body, 3)


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


def penguin(pen: Pen, look: Look) -> None:
    """Penguin: dark back, white front and face, orange beak and feet, flippers."""
    back = look.fur
    for x in (-9, 11):
        pen.ellipse(x, 97, 9, 4, BEAK)
    pen.oval(-25, 62, 7, 19, 20, back)
    pen.oval(28, 62, 7, 19, -20, back)
    pen.ellipse(1, 58, 26, 39, back)
    pen.ellipse(3, 68, 19, 27, WHITE)
    pen.circle(-3, 40, 11.5, WHITE)
    pen.circle(11, 40, 11.5, WHITE)
    pen.eyes(4, 38, 7.5, 3.6)
    pen.poly([(0, 45), (10, 45), (5, 52)], BEAK)
    pen.cheeks(4, 46, 12, WHITE, 3.2)


def duck(pen: Pen, look: Look) -> None:
    """Duck: round yellow body, a flat orange bill, a wing and webbed feet."""
    body, dark = look.fur, mix(look.fur, BEAK, 0.3)
    for x in (-10, 6):
        pen.thin([(x, 88), (x, 97)], 2, BEAK)
        pen.poly([(x - 3, 100), (x + 9, 100), (x, 95)], BEAK)
    pen.poly([(-26, 66), (-42, 52), (-34, 72)], body)
    pen.ellipse(-4, 74, 28, 20, body)
    pen.oval(-8, 72, 16, 10, -15, dark)
    pen.circle(12, 46, 17, body)
    pen.oval(29, 52, 11, 4.5, 4, BEAK)
    pen.oval(28, 55, 9, 3, 6, shade(BEAK, 0.8))
    pen.eye(17, 42, 3.6)
    pen.cheeks(17, 50, 0, body, 3)


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


def creature(pen: Pen, look: Look) -> None:
    """Any other creature: a friendly round blob with antennae, spots, little arms and feet."""
    body, light = look.fur, shade(look.fur, 1.5)
    for x, tip in ((-10, -16), (14, 22)):
        pen.stroke(bezier([(x, 34), (x * 1.4, 18), (tip, 10)]), 2, shade(body, 0.8))
        pen.circle(tip, 8, 4.5, (250, 210, 80))
    for x in (-12, 12):
        pen.ellipse(x, 96, 10, 5, body)
    pen.oval(-30, 68, 6, 12, 30, body)
    pen.oval(32, 68, 6, 12, -30, body)
    pen.ellipse(0, 64, 31, 34, body)
    pen.ellipse(2, 76, 18, 16, light)
    for x, y, rs in ((-20, 56, 3.5), (22, 74, 3), (-16, 82, 2.4), (18, 48, 2.6)):
        pen.dot(x, y, rs, light)
    xs = {1: [3.0], 2: [-7.0, 13.0], 3: [-9.0, 3.0, 15.0]}[max(1, min(3, look.eyes))]
    size = {1: 7.5, 2: 5.5, 3: 4.6}[len(xs)]
    for ex in xs:
        pen.circle(ex, 52, size + 2.5, WHITE)
        pen.eye(ex + 0.8, 52, size)
    pen.cheeks(3, 64, 17, body, 4)
    pen.arc(3, 62, 9, 6, 15, 165, 1.5)


Drawer = Callable[[Pen, Look], None]

DRAWERS: dict[str, Drawer] = {
    "cat": cat,
    "dog": dog,
    "fox": fox,
    "rabbit": rabbit,
    "bear": bear,
    "owl": owl,
    "mouse": mouse,
    "frog": frog,
    "bird": bird,
    "pig": pig,
    "elephant": elephant,
    "turtle": turtle,
    "lion": lion,
    "penguin": penguin,
    "duck": duck,
    "fish": fish,
    "creature": creature,
}

# Drawing scale of each creature, so that next to a cat (1) it looks its size: the drawings
# themselves are of different heights (a turtle is 52 units tall, a rabbit with its ears 128).
SCALE: dict[str, float] = {
    "cat": 1.0,
    "dog": 1.14,
    "fox": 0.95,
    "rabbit": 0.95,
    "bear": 1.13,
    "owl": 0.98,
    "mouse": 0.93,
    "frog": 0.98,
    "bird": 0.89,
    "pig": 1.04,
    "elephant": 1.37,
    "turtle": 1.04,
    "lion": 1.02,
    "penguin": 1.08,
    "duck": 1.03,
    "fish": 1.0,
    "creature": 1.0,
}


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where accessories sit: top of the head and the neck, each (x, y, half width)."""

    head: tuple[float, float, float]
    neck: tuple[float, float, float] | None


ANCHORS: dict[str, Anchor] = {
    "cat": Anchor((5, 17, 17), (3, 57, 17)),
    "dog": Anchor((5, 15, 19), (5, 59, 16)),
    "fox": Anchor((5, 18, 16), (4, 57, 15)),
    "rabbit": Anchor((4, 24, 13), (3, 60, 14)),
    "bear": Anchor((4, 13, 17), (4, 56, 19)),
    "owl": Anchor((1, 27, 14), (1, 60, 23)),
    "mouse": Anchor((4, 40, 13), (2, 67, 13)),
    "frog": Anchor((2, 46, 9), (1, 80, 26)),
    "bird": Anchor((12, 35, 11), (6, 62, 13)),
    "pig": Anchor((6, 23, 17), (2, 63, 19)),
    "elephant": Anchor((6, 15, 16), None),
    "turtle": Anchor((42, 51, 9), None),
    "lion": Anchor((6, 13, 13), (3, 70, 17)),
    "penguin": Anchor((3, 21, 15), (2, 55, 20)),
    "duck": Anchor((12, 30, 12), (6, 61, 13)),
    "creature": Anchor((2, 31, 15), (1, 76, 29)),
}


def accessory(pen: Pen, species: str, item: str, colour: RGB) -> None:
    """Dress the creature: a scarf round the neck, or a bow, hat or cap on the head."""
    anchor = ANCHORS.get(species)
    if anchor is None:  # the fish in its bowl wears nothing
        return
    if item == "scarf" and anchor.neck is not None:
        x, y, hw = anchor.neck
        pen.poly(
            [
                (x - hw * 0.5, y),
                (x - hw * 0.15, y),
                (x - hw * 0.3, y + 16),
                (x - hw * 0.75, y + 15),
            ],
            colour,
        )
        pen.stroke([(x - hw, y - 1), (x, y + 2.5), (x + hw, y - 1)], 5.5, colour)
        pen.poly(
            [
                (x - hw * 0.65, y + 13),
                (x - hw * 0.25, y + 14),
                (x - hw * 0.3, y + 16),
                (x - hw * 0.75, y + 15),
            ],
            shade(colour, 0.8),
        )
        return
    x, y, hw = anchor.head
    if item == "hat":
        pen.ellipse(x, y, hw * 1.15, 3, colour)
        pen.poly(
            [
                (x - hw * 0.62, y),
                (x - hw * 0.5, y - 14),
                (x + hw * 0.5, y - 14),
                (x + hw * 0.62, y),
            ],
            colour,
        )
        pen.poly(
            [
                (x - hw * 0.6, y - 2),
                (x - hw * 0.57, y - 5),
                (x + hw * 0.57, y - 5),
                (x + hw * 0.6, y - 2),
            ],
            shade(colour, 0.7),
            outline=False,
        )
        return
    if item == "cap":
        pen.oval(x + hw * 0.75, y + 1, hw * 0.6, 2.5, -6, shade(colour, 0.85))
        pen.chord(x, y, hw * 0.8, 11, (180, 360), colour)
        pen.dot(x, y - 10.5, 1.8, shade(colour, 0.8))
        return
    bx, by = x + hw * 0.55, y + 2  # a bow (also the fallback for a scarf without a neck)
    pen.poly([(bx, by), (bx - 8, by - 5), (bx - 8, by + 5)], colour)
    pen.poly([(bx, by), (bx + 8, by - 5), (bx + 8, by + 5)], colour)
    pen.circle(bx, by, 2.4, shade(colour, 0.85))


def render(species: str, height_px: float, look: Look, ink: Ink) -> Pen:
    """Draw `species` (unknown ids draw the generic creature) on a fresh layer."""
    pen = Pen(height_px, ink)
    DRAWERS.get(species, creature)(pen, look)
    if look.accessory is not None:
        accessory(pen, species if species in DRAWERS else "creature", *look.accessory)
    return pen
