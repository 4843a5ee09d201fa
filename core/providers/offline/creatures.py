"""Friendly creatures: which drawer paints each species, its size, and the generic creature.

The species themselves are drawn in `mammals`, `birds` and `pond_life`; what they wear in
`accessories`.
"""

from __future__ import annotations

from core.providers.offline.accessories import accessory
from core.providers.offline.birds import bird, duck, owl, penguin
from core.providers.offline.drawing import WHITE, Ink, Pen, bezier, shade
from core.providers.offline.looks import Drawer, Look
from core.providers.offline.mammals import bear, cat, dog, elephant, fox, lion, mouse, pig, rabbit
from core.providers.offline.pond_life import fish, frog, turtle


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


def render(species: str, height_px: float, look: Look, ink: Ink) -> Pen:
    """Draw `species` (unknown ids draw the generic creature) on a fresh layer."""
    pen = Pen(height_px, ink)
    DRAWERS.get(species, creature)(pen, look)
    if look.accessory is not None:
        accessory(pen, species if species in DRAWERS else "creature", *look.accessory)
    return pen
