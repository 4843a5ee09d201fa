"""Picture helpers (Pillow): fit any picture to the output frame, make thumbnails."""

from __future__ import annotations

import io

from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from core.errors import InvalidRequest, RenderError

# Pictures whose aspect ratio is within this factor of the frame's are cropped to fill it;
# anything further off is shown whole over a blurred, enlarged copy of itself.
_CROP_TOLERANCE = 1.25
_MIN_HERO_PX, _MAX_HERO_PX = 64, 1536  # a hero photo's smallest side; its size once stored


def open_picture(data: bytes) -> Image.Image:
    """Decode picture bytes to RGB, or raise `RenderError`."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise RenderError("a scene picture could not be read") from exc
    return image.convert("RGB")


def first_frame(data: bytes, size: tuple[int, int]) -> bytes:
    """A user's photo as the first frame of a video: kept as it is when it is a PNG or JPEG of
    the video's shape, else fitted to `size` as JPEG; a file that is not a picture raises
    `InvalidRequest`."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind, width, height = probe.format, probe.width, probe.height
        image = open_picture(data)
    except (RenderError, OSError, Image.DecompressionBombError):
        raise InvalidRequest("that file is not a picture I can read; send a PNG or JPEG") from None
    if kind in ("PNG", "JPEG") and abs(width / height - size[0] / size[1]) < 0.01:
        return data
    out = io.BytesIO()
    fit(image, size).save(out, "JPEG", quality=92)
    return out.getvalue()


def hero_photo(data: bytes) -> bytes:
    """A user's photo of a story's hero, checked and made plain: a still picture of at least
    64×64 pixels, turned upright, at most 1536 px, re-encoded as JPEG without its metadata
    (no place or camera data travels further). Anything else raises `InvalidRequest`."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            animated = getattr(probe, "is_animated", False)
            width, height = probe.size
            if not animated and min(width, height) >= _MIN_HERO_PX:
                image = ImageOps.exif_transpose(probe).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise InvalidRequest("that file is not a picture I can read; send a PNG or JPEG") from None
    if animated:
        raise InvalidRequest("that picture moves; send a still photo of your hero")
    if min(width, height) < _MIN_HERO_PX:
        raise InvalidRequest(
            f"that picture is only {width}×{height} pixels; send a photo where your hero shows"
        )
    image.thumbnail((_MAX_HERO_PX, _MAX_HERO_PX), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Fit `image` to exactly `size`, never stretching: crop when close, blurred fill otherwise."""
    width, height = size
    if image.size == size:
        return image
    ratio = (image.width / image.height) / (width / height)
    cover = _cover(image, size)
    if 1 / _CROP_TOLERANCE <= ratio <= _CROP_TOLERANCE:
        return cover
    background = cover.filter(ImageFilter.GaussianBlur(radius=max(size) // 40))
    scale = min(width / image.width, height / image.height)
    inner = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
        Image.Resampling.LANCZOS,
    )
    background.paste(inner, ((width - inner.width) // 2, (height - inner.height) // 2))
    return background


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    width, height = size
    scale = max(width / image.width, height / image.height)
    scaled = image.resize(
        (max(width, round(image.width * scale)), max(height, round(image.height * scale))),
        Image.Resampling.LANCZOS,
    )
    left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
    return scaled.crop((left, top, left + width, top + height))


def thumbnail_jpeg(image: Image.Image, max_side: int = 320, max_bytes: int = 200_000) -> bytes:
    """A JPEG thumbnail no larger than `max_side` px and `max_bytes` (Telegram's limits)."""
    thumb = image.copy()
    thumb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    for quality in (85, 70, 50, 30):
        buffer = io.BytesIO()
        thumb.save(buffer, "JPEG", quality=quality, optimize=True)
        if buffer.tell() < max_bytes:
            return buffer.getvalue()
    raise RenderError("the thumbnail could not be made small enough")
