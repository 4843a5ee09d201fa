"""Cutting a photo's subject out of its background with Pillow and numpy: the offline stand-in
for a vision model, used to describe a user's hero and to make its sticker."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError

from core.errors import InvalidRequest

Mask = npt.NDArray[np.bool_]

WORK_SIDE = 256  # the mask is found on a copy this big: fast, and enough for a sticker's edge
DECODE_SIDE = 1024  # photos are decoded (and cut) at most this big
MIN_CONTRAST = 32.0  # RGB distance from the background below which a pixel is background
MIN_SUBJECT = 0.01  # share of the frame a subject must cover to be one
PLAUSIBLE = (0.02, 0.85)  # share of the frame a cut-out may cover; else an oval crop is used
MAX_BORDER = 0.25  # a "subject" along more of the frame's edge than this is background
MIN_EDGE = 6.0  # a photo whose sharpest edges change colour less per pixel shows nothing
NO_SUBJECT = (
    "I can't make out a hero in that photo; send one where it stands out from the background"
)


@dataclass(frozen=True, slots=True)
class Cutout:
    """A photo and where its subject is: `mask` is True on the subject, at the photo's size
    scaled down to `WORK_SIDE`; `found` is False when an oval crop stands in for a cut-out."""

    photo: Image.Image  # RGB, upright, at most DECODE_SIDE
    mask: Mask
    found: bool

    def bbox(self) -> tuple[float, float, float, float]:
        """The subject's box as fractions of the photo (left, top, right, bottom), with a
        margin of one mask pixel so that its edge is not cut when the mask is scaled up."""
        rows, cols = np.nonzero(self.mask)
        h, w = self.mask.shape
        return (
            max(0, cols.min() - 1) / w,
            max(0, rows.min() - 1) / h,
            min(w, cols.max() + 2) / w,
            min(h, rows.max() + 2) / h,
        )

    def subject_pixels(self) -> npt.NDArray[np.uint8]:
        """The RGB values of the subject, away from its edge (N × 3)."""
        small = np.asarray(self.photo.resize(self.mask.shape[::-1], Image.Resampling.BOX))
        inner = _to_mask(_image(self.mask).filter(ImageFilter.MinFilter(3)))
        return small[inner if inner.sum() >= 16 else self.mask]


def open_photo(data: bytes) -> Image.Image:
    """Decode a user's photo upright (EXIF orientation applied), as RGB at most DECODE_SIDE;
    a transparent background (a PNG drawing) becomes white. Not a picture: `InvalidRequest`."""
    try:
        with Image.open(io.BytesIO(data)) as raw:
            raw.draft("RGB", (DECODE_SIDE, DECODE_SIDE))  # JPEG: decode at a fraction
            image = ImageOps.exif_transpose(raw)
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise InvalidRequest("that file is not a picture I can read; send a PNG or JPEG") from None
    image.thumbnail((DECODE_SIDE, DECODE_SIDE), Image.Resampling.LANCZOS)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _image(mask: Mask) -> Image.Image:
    return Image.fromarray((mask * 255).astype(np.uint8))


def _to_mask(image: Image.Image) -> Mask:
    return np.asarray(image) > 127


def _grow(seed: Mask, allowed: Mask) -> Mask:
    """Every pixel of `allowed` joined to `seed` through `allowed` (4-neighbours)."""
    region = seed & allowed
    while True:
        grown = region.copy()
        grown[1:] |= region[:-1]
        grown[:-1] |= region[1:]
        grown[:, 1:] |= region[:, :-1]
        grown[:, :-1] |= region[:, 1:]
        grown &= allowed
        if np.array_equal(grown, region):
            return region
        region = grown


def _largest_blob(mask: Mask, tries: int = 24) -> Mask:
    """The biggest connected part of `mask` (specks left by the cleaning are skipped)."""
    remaining, best = mask.copy(), np.zeros_like(mask)
    for _ in range(tries):
        if remaining.sum() <= best.sum():
            break
        seed = np.zeros_like(mask)
        seed.flat[int(np.argmax(remaining))] = True
        blob = _grow(seed, remaining)
        if blob.sum() > best.sum():
            best = blob
        remaining &= ~blob
    return best


def _fill_holes(mask: Mask) -> Mask:
    """`mask` with every background pocket it encloses filled (a white patch on a white floor)."""
    border = np.zeros_like(mask)
    border[[0, -1], :] = border[:, [0, -1]] = True
    outside = _grow(border, ~mask)
    return mask | ~outside


def _otsu(values: npt.NDArray[np.float32]) -> float:
    """The threshold that best splits `values` in two groups (Otsu's method)."""
    hist, edges = np.histogram(values, bins=128, range=(0.0, 442.0))
    weights = hist.astype(np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    below, total = np.cumsum(weights), weights.sum()
    above = total - below
    mass = np.cumsum(weights * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_below = mass / below
        mean_above = (mass[-1] - mass) / above
        spread = below * above * (mean_below - mean_above) ** 2
    return float(centres[int(np.nanargmax(np.nan_to_num(spread)))])


def _oval(shape: tuple[int, int]) -> Mask:
    """A centred oval over most of the frame: the crop used when no clean cut-out is found."""
    h, w = shape
    oval = Image.new("L", (w, h), 0)
    ImageDraw.Draw(oval).ellipse((0.08 * w, 0.05 * h, 0.92 * w, 0.95 * h), fill=255)
    return _to_mask(oval)


def _touches_border(mask: Mask) -> float:
    """The share of the frame's edge pixels that `mask` covers."""
    edge = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    return float(edge.mean())


def _sharpest(rgb: npt.NDArray[np.float32]) -> float:
    """How sharp the photo's strongest edges are (colour change per pixel, 99.5th percentile):
    low for a blank wall or a smooth gradient, whatever their colours."""
    across = np.linalg.norm(np.diff(rgb, axis=1), axis=2)
    down = np.linalg.norm(np.diff(rgb, axis=0), axis=2)
    return float(np.percentile(np.concatenate([across.ravel(), down.ravel()]), 99.5))


def find_subject(photo: Image.Image) -> Cutout:
    """Cut out the photo's subject: pixels far in colour from the border's median colour,
    cleaned, the largest blob with its holes filled. A photo with (almost) nothing that stands
    out from its background raises `InvalidRequest`; a cut-out that is implausibly small or
    big, or that runs along the frame's edges, gives way to an oval crop."""
    if min(photo.size) < 8:  # a thumbnail of a thumbnail: nothing to cut out
        raise InvalidRequest(NO_SUBJECT)
    small = photo.copy()
    small.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
    rgb = np.asarray(small.filter(ImageFilter.GaussianBlur(1)), dtype=np.float32)
    edge = max(2, round(0.04 * min(rgb.shape[:2])))
    border = np.concatenate(
        [rgb[:edge].reshape(-1, 3), rgb[-edge:].reshape(-1, 3),
         rgb[:, :edge].reshape(-1, 3), rgb[:, -edge:].reshape(-1, 3)]
    )  # fmt: skip
    distance = np.linalg.norm(rgb - np.median(border, axis=0), axis=2)
    threshold = min(max(_otsu(distance), MIN_CONTRAST), 100.0)
    closed = _image(distance > threshold).filter(ImageFilter.MaxFilter(5))
    mask = _to_mask(closed.filter(ImageFilter.MinFilter(5)))
    if mask.mean() < MIN_SUBJECT or _sharpest(rgb) < MIN_EDGE:
        raise InvalidRequest(NO_SUBJECT)
    # Opening removes specks and thin bridges to the background, but also a drawing's lines.
    opened = _to_mask(
        _image(mask).filter(ImageFilter.MinFilter(3)).filter(ImageFilter.MaxFilter(3))
    )
    for candidate in (opened, mask):
        subject = _fill_holes(_largest_blob(candidate))
        share = float(subject.mean())
        if PLAUSIBLE[0] <= share <= PLAUSIBLE[1] and _touches_border(subject) < MAX_BORDER:
            return Cutout(photo, subject, found=True)
    return Cutout(photo, _oval(mask.shape), found=False)
