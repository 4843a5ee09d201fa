"""A photo's colours in words: the offline hero designer's honest description of its looks."""

from __future__ import annotations

import colorsys
from collections import Counter

import numpy as np
import numpy.typing as npt
from PIL import Image

from core.providers.offline.drawing import RGB

# Hue bands (degrees, upper bound) and their names; browns are picked out before these.
_HUES = ((12, "red"), (40, "orange"), (68, "yellow"), (165, "green"), (200, "teal"), (255, "blue"),
         (290, "purple"), (330, "magenta"), (345, "pink"), (360, "red"))  # fmt: skip


def _grey(light: float) -> str:
    if light < 0.2:
        return "black"
    if light < 0.4:
        return "dark grey"
    if light < 0.72:
        return "grey"
    return "light grey" if light < 0.88 else "white"


def colour_name(rgb: RGB) -> str:
    """A plain name for a colour: "dark brown", "cream", "magenta", "light blue"."""
    r, g, b = (v / 255 for v in rgb)
    hue, light, _ = colorsys.rgb_to_hls(r, g, b)
    value, chroma = max(r, g, b), max(r, g, b) - min(r, g, b)
    degrees = hue * 360
    saturation = chroma / value if value else 0.0
    if 20 <= degrees <= 70 and chroma >= 0.05 and saturation < 0.3 and light > 0.75:
        return "cream"
    if chroma < 0.13:
        return _grey(light)
    if 8 <= degrees < 50 and (value < 0.55 or (saturation < 0.5 and value < 0.8)):
        return "dark brown" if value < 0.3 else "brown" if value < 0.55 else "light brown"
    name = next(n for top, n in _HUES if degrees < top)
    if name in ("red", "magenta") and light > 0.78:
        return "pink"
    if value < 0.4:
        return f"dark {name}"
    return f"light {name}" if light > 0.78 else name


def _shares(pixels: npt.NDArray[np.uint8], colours: int = 8) -> list[tuple[str, float]]:
    """The names of the main colours of `pixels` (N × 3) and the share of each, largest first."""
    strip = Image.fromarray(pixels.reshape(1, -1, 3).astype(np.uint8))
    indexed = strip.quantize(colours, Image.Quantize.MEDIANCUT)
    palette = indexed.getpalette() or []
    counts: Counter[str] = Counter()
    for index, count in enumerate(np.bincount(np.asarray(indexed).ravel())):
        if count:
            rgb = (palette[3 * index], palette[3 * index + 1], palette[3 * index + 2])
            counts[colour_name(rgb)] += int(count)
    total = sum(counts.values()) or 1
    return [(name, n / total) for name, n in counts.most_common()]


def describe_colours(pixels: npt.NDArray[np.uint8]) -> str:
    """Two or three dominant colours of a subject in words, e.g. "mostly brown and cream, with
    touches of black"."""
    shares = [(name, share) for name, share in _shares(pixels) if share >= 0.05]
    if not shares:
        return "many colours"
    main = [shares[0][0]] + [name for name, share in shares[1:2] if share >= 0.2]
    rest = [name for name, _ in shares[len(main) : len(main) + 3 - len(main)]]
    top = shares[0][1]
    lead = "nearly all" if top > 0.9 else "mostly" if sum(s for _, s in shares[:2]) > 0.6 else ""
    words = f"{lead} {' and '.join(main)}".strip()
    return f"{words}, with touches of {' and '.join(rest)}" if rest else words
