"""The contact sheet of a storyboard: a grid of every scene, each with its wrapped line."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageFont

from core.captions import FONT_PATH
from core.storyboard_sheet import MAX_WIDTH, SheetScene, contact_sheet, wrap


def picture(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", size, colour).save(path, "PNG")
    return path


def test_wrap_keeps_every_line_within_the_width() -> None:
    """Words move to the next line; a word longer than a line is cut."""
    font = ImageFont.truetype(str(FONT_PATH), 20)
    lines = wrap("A cat " + "x" * 80 + " and a dog went out", font, 200)
    assert all(font.getlength(line) <= 200 for line in lines)
    assert "".join(lines).replace(" ", "") == ("Acat" + "x" * 80 + "andadogwentout")


def test_many_tall_scenes_fit_in_rows_of_five(tmp_path: Path) -> None:
    """Seven 9:16 pictures: two rows, at most MAX_WIDTH wide, each cell's own picture."""
    colours = [(200, 30 * n, 40) for n in range(7)]
    scenes = [
        SheetScene(n + 1, picture(tmp_path / f"{n}.png", (540, 960), c), "A line. " * 12)
        for n, c in enumerate(colours)
    ]
    sheet = Image.open(io.BytesIO(contact_sheet(scenes)))
    assert sheet.format == "JPEG"
    assert sheet.width <= MAX_WIDTH
    cell_w = (sheet.width - 24) // 5 - 24  # five across, 24 px apart
    cell_h = cell_w * 16 // 9
    assert sheet.height > 2 * cell_h  # two rows of tall pictures
    first_row_centre = (24 + cell_w // 2, 24 + cell_h // 2)
    assert (
        max(abs(a - b) for a, b in zip(sheet.getpixel(first_row_centre), colours[0], strict=True))
        < 12
    )


def test_one_small_landscape_scene_is_not_enlarged(tmp_path: Path) -> None:
    """A single 320×180 picture stays that size on the sheet."""
    scenes = [SheetScene(1, picture(tmp_path / "a.png", (320, 180), (20, 90, 200)), "Hello.")]
    sheet = Image.open(io.BytesIO(contact_sheet(scenes)))
    assert sheet.width == 320 + 2 * 24
