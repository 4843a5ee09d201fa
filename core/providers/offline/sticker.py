"""The hero's sticker: the photo's subject, posterised, in a white outline on a transparent
background. The offline designer makes it; the offline illustrator stands it in each scene."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, UnidentifiedImageError

from core.models import Style
from core.providers.offline.cutout import Cutout

HEIGHT = 512  # pixels, outline included
OUTLINE = 0.022  # width of the white outline, as a share of HEIGHT
MAX_WIDTH = 1024
# Colours kept per style: fewer is flatter and more cartoon-like.
LEVELS: dict[Style, int] = {
    Style.STORYBOOK: 8,
    Style.WATERCOLOR: 10,
    Style.CARTOON_3D: 8,
    Style.ANIME: 6,
    Style.CLAYMATION: 7,
    Style.PAPER_CUTOUT: 5,
}
RIM = (185, 185, 195, 255)  # a faint grey line round the white, so it shows on snow too


def _grown(alpha: Image.Image, by: float) -> Image.Image:
    """`alpha` grown by about `by` pixels, with rounded corners and a soft edge."""
    blurred = alpha.filter(ImageFilter.GaussianBlur(by / 1.8))
    return blurred.point(lambda v: max(0, min(255, (v - 4) * 23)))


def _posterised(subject: Image.Image, alpha: Image.Image, levels: int) -> Image.Image:
    """The subject in a few flat colours; the background, first filled with the subject's
    median colour, takes no colour of the palette."""
    inside = np.asarray(alpha) > 127
    pixels = np.asarray(subject).copy()
    pixels[~inside] = np.median(pixels[inside], axis=0) if inside.any() else 255
    smooth = Image.fromarray(pixels).filter(ImageFilter.MedianFilter(5))
    vivid = ImageEnhance.Color(smooth).enhance(1.2)
    flat = vivid.quantize(levels, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return flat.convert("RGB")


def make_sticker(cutout: Cutout, style: Style) -> bytes:
    """The sticker as RGBA PNG bytes: HEIGHT pixels high (less for a very wide subject)."""
    photo, w, h = cutout.photo, cutout.photo.width, cutout.photo.height
    left, top, right, bottom = cutout.bbox()
    box = (round(left * w), round(top * h), max(round(right * w), 1), max(round(bottom * h), 1))
    pad = round(OUTLINE * HEIGHT) + 8  # room for the outline, its rim and their soft edge
    scale = min((HEIGHT - 2 * pad) / (box[3] - box[1]), (MAX_WIDTH - 2 * pad) / (box[2] - box[0]))
    size = (max(1, round((box[2] - box[0]) * scale)), max(1, round((box[3] - box[1]) * scale)))
    subject = photo.crop(box).resize(size, Image.Resampling.LANCZOS)
    mask = Image.fromarray((cutout.mask * 255).astype(np.uint8)).resize(
        (w, h), Image.Resampling.BILINEAR
    )
    alpha = mask.crop(box).resize(size, Image.Resampling.BILINEAR)
    # The mask's pixels are `step` sticker pixels wide: blur their stairs into a smooth edge.
    step = size[1] * h / (cutout.mask.shape[0] * (box[3] - box[1]))
    alpha = alpha.filter(ImageFilter.GaussianBlur(max(1.5, 0.6 * step))).point(
        lambda v: max(0, min(255, (v - 100) * 5))
    )
    canvas = (size[0] + 2 * pad, size[1] + 2 * pad)
    full = Image.new("L", canvas, 0)
    full.paste(alpha, (pad, pad))
    outline = _grown(full, OUTLINE * HEIGHT)
    sticker = Image.new("RGBA", canvas, (0, 0, 0, 0))
    for colour, shape in ((RIM, _grown(full, OUTLINE * HEIGHT + 2)), ((255,) * 4, outline)):
        layer = Image.new("RGBA", canvas, colour)
        layer.putalpha(shape)
        sticker.alpha_composite(layer)
    art = Image.new("RGBA", canvas, (0, 0, 0, 0))
    art.paste(_posterised(subject, alpha, LEVELS[style]).convert("RGBA"), (pad, pad))
    art.putalpha(full)
    sticker.alpha_composite(art)
    out = io.BytesIO()
    sticker.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def read_sticker(reference: bytes | None) -> Image.Image | None:
    """The sticker in a reference picture, cropped to what is drawn: a picture with an alpha
    channel that has transparent pixels. Anything else (an RGB scene picture, no picture, or
    bytes that are not one) is None: the scene is drawn as without a reference."""
    if reference is None:
        return None
    try:
        with Image.open(io.BytesIO(reference)) as image:
            if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
                return None
            rgba: Image.Image = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        return None
    alpha = rgba.getchannel("A")
    low, _ = alpha.getextrema()
    box = alpha.point(lambda v: 255 if v > 8 else 0).getbbox()
    if low == 255 or box is None:
        return None
    return rgba.crop(box)


def sticker_layer(
    sticker: Image.Image, height: float, pad: int
) -> tuple[Image.Image, tuple[float, float]]:
    """The sticker at a character's `height` (no wider than 1.35 heights), on a layer with
    `pad` pixels of room round it; returns the layer and where its foot is on it: the middle
    of its lower edge, just above its outline."""
    scale = min(1.05 * height / sticker.height, 1.35 * height / sticker.width)
    size = (max(1, round(sticker.width * scale)), max(1, round(sticker.height * scale)))
    layer = Image.new("RGBA", (size[0] + 2 * pad, size[1] + 2 * pad), (0, 0, 0, 0))
    layer.alpha_composite(sticker.resize(size, Image.Resampling.LANCZOS), (pad, pad))
    return layer, (pad + size[0] / 2, pad + size[1] * (1 - OUTLINE))
