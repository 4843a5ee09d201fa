"""Pictures for the hero tests: a photo with a clear subject, and a perceptual hash to find a
photo again under a data folder, re-encoded or resized."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, UnidentifiedImageError


def hero_photo(size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG 'photo': a magenta toy (a round body, two ears) on a grey-green floor."""
    image = Image.new("RGB", size, (120, 130, 110))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle((0, h * 3 // 4, w, h), fill=(90, 80, 70))
    draw.ellipse((w * 0.35, h * 0.3, w * 0.65, h * 0.85), fill=(220, 30, 170))
    for x in (0.38, 0.55):
        draw.ellipse((w * x, h * 0.12, w * (x + 0.07), h * 0.4), fill=(220, 30, 170))
    draw.ellipse((w * 0.45, h * 0.45, w * 0.48, h * 0.5), fill=(10, 10, 10))
    draw.ellipse((w * 0.52, h * 0.45, w * 0.55, h * 0.5), fill=(10, 10, 10))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def average_hash(data: bytes) -> int | None:
    """A 64-bit average hash of a picture (None: not a picture)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            small = image.convert("L").resize((8, 8), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    pixels = list(small.tobytes())  # one byte per pixel ("L")
    mean = sum(pixels) / len(pixels)
    return sum(1 << i for i, value in enumerate(pixels) if value > mean)


def copies_of(photo: bytes, folder: Path, *, distance: int = 5) -> list[Path]:
    """Every decodable picture under `folder` that looks like `photo` (Hamming distance of the
    average hashes at most `distance`: a re-encoded or resized copy counts)."""
    wanted = average_hash(photo)
    assert wanted is not None
    hashes = {p: average_hash(p.read_bytes()) for p in folder.rglob("*") if p.is_file()}
    return [
        path
        for path, digest in hashes.items()
        if digest is not None and bin(digest ^ wanted).count("1") <= distance
    ]


def same_picture(a: bytes, b: bytes, *, distance: int = 5) -> bool:
    """`a` and `b` look alike (average hashes at most `distance` bits apart): a copy."""
    first, second = average_hash(a), average_hash(b)
    return first is not None and second is not None and bin(first ^ second).count("1") <= distance


def plain_picture(kind: str, size: tuple[int, int] = (96, 96)) -> bytes:
    """A GIF of two frames (an animation), or a one-colour still picture of `kind` (PNG…)."""
    frames = [Image.new("RGB", size, colour) for colour in ((250, 0, 0), (0, 0, 250))]
    out = io.BytesIO()
    if kind == "GIF":
        frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    else:
        frames[0].save(out, kind)
    return out.getvalue()
