"""Captions: the narration burned in on a soft band (Pillow, shipped DejaVu font) and `.srt`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_PATH = Path(__file__).parent / "assets" / "DejaVuSans-Bold.ttf"
_MAX_LINES = 3


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


@cache
def _missing_glyph(size: int) -> bytes:
    return bytes(_font(size).getmask("\U000fffff"))


def covers(text: str, size: int = 32) -> bool:
    """Whether the caption font has a glyph for every character of `text` (else: no caption)."""
    font, missing = _font(size), _missing_glyph(size)
    return all(ch.isspace() or bytes(font.getmask(ch)) != missing for ch in set(text))


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def caption_overlay(text: str, size: tuple[int, int]) -> Image.Image | None:
    """A transparent frame-sized RGBA image with `text` wrapped on a soft band near the bottom,
    inside safe margins; None when the font cannot draw the text (the scene goes uncaptioned)."""
    width, height = size
    short = min(width, height)
    font_size = max(18, round(short * 0.05))
    if not covers(text, font_size):
        return None
    max_width = width * 0.84
    lines = _wrap(text, _font(font_size), max_width)
    while len(lines) > _MAX_LINES and font_size > 16:  # long narration: smaller type
        font_size -= 2
        lines = _wrap(text, _font(font_size), max_width)
    font = _font(font_size)
    line_height = round(font_size * 1.25)
    block_w = max(font.getlength(line) for line in lines)
    block_h = line_height * len(lines)
    pad = round(font_size * 0.5)
    bottom = height - round(height * (0.07 if width >= height else 0.12))  # safe margin
    top = bottom - block_h - 2 * pad
    left = (width - block_w) / 2 - pad
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((left, top, width - left, bottom), radius=pad, fill=(0, 0, 0, 135))
    y = top + pad
    for line in lines:
        x = (width - font.getlength(line)) / 2
        draw.text(
            (x, y), line, font=font, fill=(255, 255, 255, 255),
            stroke_width=max(1, font_size // 14), stroke_fill=(0, 0, 0, 220),
        )  # fmt: skip
        y += line_height
    return image


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def srt(cues: Sequence[tuple[float, float, str]]) -> str:
    """SubRip text: one numbered cue per (start s, end s, text)."""
    blocks = [
        f"{n}\n{_timestamp(start)} --> {_timestamp(end)}\n{text}\n"
        for n, (start, end, text) in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)
