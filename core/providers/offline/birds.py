"""Birds drawn from simple shapes, all facing right: owls, little birds, penguins, ducks."""

from __future__ import annotations

from core.providers.offline.drawing import BEAK, WHITE, Pen, mix, shade
from core.providers.offline.looks import Look


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
