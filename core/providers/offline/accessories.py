"""What creatures wear: a scarf round the neck, or a bow, hat or cap on the head."""

from __future__ import annotations

from dataclasses import dataclass

from core.providers.offline.drawing import RGB, Pen, shade


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
