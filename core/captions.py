"""Captions: the narration burned in on a soft band (Pillow, shipped DejaVu font) and `.srt`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


Colour = tuple[int, int, int]
_WHITE: Colour = (255, 255, 255)
# A cast's speakers' names, each in its own colour through the whole video (the narrator's
# lines have no name): bright on the dark band, told apart at a glance.
_SPEAKER_COLOURS: tuple[Colour, ...] = (
    (255, 214, 92), (120, 220, 255), (255, 150, 200), (160, 240, 140),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Said:
    """One line of a cast's caption: who says it (None: the narrator), what, in which colour."""

    speaker: str | None
    text: str
    colour: Colour | None = None


CaptionText = str | Sequence[Said]
_Word = tuple[str, Colour]


def speaker_colours(voices: Mapping[str, str]) -> dict[str, Colour]:
    """A colour for every character of a cast (in the order the cast lists them)."""
    characters = [name for name in voices if name.casefold() != "narrator"]
    return {name: _SPEAKER_COLOURS[n % len(_SPEAKER_COLOURS)] for n, name in enumerate(characters)}


def _paragraphs(text: CaptionText) -> list[list[_Word]]:
    """The caption as paragraphs of coloured words: a narration is one paragraph; a cast's
    lines are one each, the speaker's name (in its colour) first."""
    if isinstance(text, str):
        return [[(word, _WHITE) for word in text.split()]]
    paragraphs = []
    for said in text:
        words = [(word, _WHITE) for word in said.text.split()]
        if said.speaker:
            words.insert(0, (f"{said.speaker}:", said.colour or _SPEAKER_COLOURS[0]))
        paragraphs.append(words)
    return paragraphs


def _wrap(
    paragraphs: list[list[_Word]], font: ImageFont.FreeTypeFont, width: float
) -> list[list[_Word]]:
    rows: list[list[_Word]] = []
    for words in paragraphs:
        row: list[_Word] = []
        for word in words:
            if row and font.getlength(_row_text([*row, word])) > width:
                rows.append(row)
                row = []
            row.append(word)
        if row:
            rows.append(row)
    return rows


def _row_text(row: Sequence[_Word]) -> str:
    return " ".join(word for word, _ in row)


def caption_overlay(text: CaptionText, size: tuple[int, int]) -> Image.Image | None:
    """A transparent frame-sized RGBA image with `text` wrapped on a soft band near the bottom,
    inside safe margins (a cast's lines each on rows of their own, names in colour); None when
    the font cannot draw the text (the scene goes uncaptioned)."""
    width, height = size
    short = min(width, height)
    font_size = max(18, round(short * 0.05))
    paragraphs = _paragraphs(text)
    every = " ".join(_row_text(words) for words in paragraphs)
    if not every.strip() or not covers(every, font_size):
        return None
    max_width = width * 0.84
    most = max(_MAX_LINES, len(paragraphs))
    rows = _wrap(paragraphs, _font(font_size), max_width)
    while len(rows) > most and font_size > 16:  # long narration: smaller type
        font_size -= 2
        rows = _wrap(paragraphs, _font(font_size), max_width)
    font = _font(font_size)
    line_height = round(font_size * 1.25)
    block_w = max(font.getlength(_row_text(row)) for row in rows)
    block_h = line_height * len(rows)
    pad = round(font_size * 0.5)
    bottom = height - round(height * (0.07 if width >= height else 0.12))  # safe margin
    top = bottom - block_h - 2 * pad
    left = (width - block_w) / 2 - pad
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((left, top, width - left, bottom), radius=pad, fill=(0, 0, 0, 135))
    y = top + pad
    space = font.getlength(" ")
    for row in rows:
        x = (width - font.getlength(_row_text(row))) / 2
        for word, colour in row:
            draw.text(
                (x, y), word, font=font, fill=(*colour, 255),
                stroke_width=max(1, font_size // 14), stroke_fill=(0, 0, 0, 220),
            )  # fmt: skip
            x += font.getlength(word) + space
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
