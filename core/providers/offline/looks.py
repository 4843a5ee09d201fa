"""How a creature looks, and the signature every species drawer shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.providers.offline.drawing import RGB, Pen


@dataclass(frozen=True, slots=True)
class Look:
    """Everything a creature drawer needs besides the pen: its colours and where it stands."""

    fur: RGB
    in_water: bool = False
    eyes: int = 2  # only the generic creature uses other counts
    accessory: tuple[str, RGB] | None = None  # ("scarf" | "bow" | "hat" | "cap", colour)


Drawer = Callable[[Pen, Look], None]
