"""A storyboard's contact sheet: every scene's picture in a grid, with its number and its line
under it, as one JPEG (the CLI writes it beside the video it will make)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from core.captions import FONT_PATH
from core.imaging import open_picture

MAX_WIDTH = 2400  # the whole sheet, whatever the number of scenes
_CELL, _PAD = 720, 24  # a picture's longer side at most; the space around cells
_INK, _NUMBER, _PAPER = (34, 34, 34), (190, 60, 30), (250, 248, 244)


@dataclass(frozen=True, slots=True)
class SheetScene:
    """One scene on the sheet: its number (from 1), its picture file, its line."""

    number: int
    picture: Path
    line: str


@dataclass(frozen=True, slots=True)
class _Grid:
    """Where things go: `columns` cells of `cell` px per row, type of `font_size` px."""

    columns: int
    cell: tuple[int, int]
    font_size: int

    @classmethod
    def of(cls, count: int, picture: tuple[int, int]) -> _Grid:
        """3 landscape (or square) pictures a row, 5 tall ones; never enlarged."""
        width, height = picture
        columns = min(count, 5 if height > width else 3)
        scale = min(_CELL / max(width, height), 1.0)
        cell_w = min(round(width * scale), (MAX_WIDTH - _PAD * (columns + 1)) // columns)
        cell_h = max(1, round(cell_w * height / width))
        return cls(columns, (cell_w, cell_h), max(14, min(26, cell_w // 22)))

    @property
    def line_height(self) -> int:
        """The height of one line of a caption."""
        return round(self.font_size * 1.3)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """`text` in lines no wider than `width`; a word wider than a line is cut."""
    lines: list[str] = []
    for whole in text.split():
        for word in _pieces(whole, font, width):
            if lines and font.getlength(f"{lines[-1]} {word}") <= width:
                lines[-1] = f"{lines[-1]} {word}"
            else:
                lines.append(word)
    return lines


def _pieces(word: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    pieces = []
    while len(word) > 1 and font.getlength(word) > width:
        cut = next(
            (n for n in range(len(word) - 1, 1, -1) if font.getlength(word[:n]) <= width), 1
        )
        pieces.append(word[:cut])
        word = word[cut:]
    return [*pieces, word]


def contact_sheet(scenes: Sequence[SheetScene], *, quality: int = 85) -> bytes:
    """The scenes' pictures in rows, each captioned "N. line" under it, on a light page at
    most `MAX_WIDTH` px wide, as JPEG bytes (CPU-bound: call it in a thread)."""
    if not scenes:
        raise ValueError("a contact sheet needs at least one scene")
    pictures = [open_picture(scene.picture.read_bytes()) for scene in scenes]
    grid = _Grid.of(len(scenes), pictures[0].size)
    (cell_w, cell_h), font = grid.cell, _font(grid.font_size)
    captions = [wrap(f"{s.number}. {s.line}", font, cell_w) for s in scenes]
    rows = [
        range(start, min(start + grid.columns, len(scenes)))
        for start in range(0, len(scenes), grid.columns)
    ]
    heights = [
        cell_h + _PAD // 2 + grid.line_height * max(len(captions[i]) for i in row) for row in rows
    ]
    size = (_PAD + grid.columns * (cell_w + _PAD), _PAD + sum(h + _PAD for h in heights))
    page = Image.new("RGB", size, _PAPER)
    draw = ImageDraw.Draw(page)
    top = _PAD
    for row, height in zip(rows, heights, strict=True):
        for column, i in enumerate(row):
            left = _PAD + column * (cell_w + _PAD)
            picture = pictures[i].copy()
            picture.thumbnail(grid.cell, Image.Resampling.LANCZOS)
            page.paste(picture, (left + (cell_w - picture.width) // 2, top))
            _caption(draw, (left, top + cell_h + _PAD // 2), scenes[i].number, captions[i], grid)
        top += height + _PAD
    out = io.BytesIO()
    page.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _caption(
    draw: ImageDraw.ImageDraw, at: tuple[int, int], scene: int, lines: list[str], grid: _Grid
) -> None:
    """A scene's wrapped caption, its number in colour."""
    font, (x, y) = _font(grid.font_size), at
    number = f"{scene}."
    for n, line in enumerate(lines):
        if n == 0 and line.startswith(number):
            draw.text((x, y), number, font=font, fill=_NUMBER)
            draw.text((x + font.getlength(number), y), line[len(number) :], font=font, fill=_INK)
        else:
            draw.text((x, y), line, font=font, fill=_INK)
        y += grid.line_height
