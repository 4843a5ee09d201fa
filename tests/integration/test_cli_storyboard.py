"""`storybot story --preview` through the real google-genai SDK against the fake Gemini: the
scene pictures and a contact sheet land beside `--out` with the commands that go on; `redraw`,
`edit` and `render` continue the job, each command in a new process's worth of core (the store
opened again), and bad input is one line with a non-zero exit code."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from PIL import Image

from bot.cli import main
from tests.gemini_server import FakeGemini
from tests.probe import probe
from tests.storyboard_calls import check_redraw, check_storyboard, drawn

KEY = "AIzaSy-cli-storyboard-key-0123456789"
NEW_LINE = "The cat and the dog wave goodnight to the moon."


async def test_storyboard_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Preview: 1 story call, 3 pictures, no narration, PNGs and a JPEG contact sheet and the
    next commands; `redraw 2 --hint` draws scene 2 alone again (same reference) and rewrites
    its PNG; `edit 3` changes its line; refusals are one line; `render` narrates only then and
    writes the playable MP4 and an .srt with the edited line to the original --out."""

    async def storybot(*args: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, list(args))  # main() runs its own event loop
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    async with FakeGemini(api_key=KEY, image_scale=0.25) as gemini:
        for name, value in (gemini.env() | {"STORYBOT_PREVIEW_REDRAWS": "1"}).items():
            monkeypatch.setenv(name, value)
        code, out, err = await storybot(
            "story", "a cat and a dog", "--scenes", "3", "--preview", "--out", "tale.mp4"
        )
        assert code == 0, err
        assert "Back end: gemini" in err
        check_storyboard(gemini, 3)
        found = re.search(r"storybot render (\w+)", out)
        assert found is not None, out
        job = found.group(1)
        assert f"storybot redraw {job} N [--hint TEXT]" in out
        assert f'storybot edit {job} N "new line"' in out
        pictures = [tmp_path / f"tale.scene-{n:02d}.png" for n in (1, 2, 3)]
        first = [picture.read_bytes() for picture in pictures]
        with Image.open(tmp_path / "tale.storyboard.jpg") as sheet:
            assert sheet.format == "JPEG"
            assert 300 <= sheet.width <= 2400
            assert 100 <= sheet.height <= sheet.width
        assert not (tmp_path / "tale.mp4").exists()

        before = len(drawn(gemini))
        code, out, err = await storybot("redraw", job, "2", "--hint", "with a red kite")
        assert code == 0, err
        check_redraw(gemini, before, 2, "with a red kite")
        assert [p.read_bytes() == f for p, f in zip(pictures, first, strict=True)] == [
            True, False, True,
        ]  # fmt: skip
        assert "Scene 2 drawn again" in out
        assert "0 redraws left" in out

        code, out, err = await storybot("edit", job, "3", NEW_LINE)
        assert code == 0, err
        assert NEW_LINE in out

        for args, says in (
            (("edit", job, "3", "   "), "the new line is empty"),
            (("redraw", job, "9"), "scenes 1 to 3, not 9"),
            (("redraw", job, "2"), "no redraws left"),
            (("render", "nosuchjob"), "no job with id nosuchjob"),
        ):
            code, out, err = await storybot(*args)
            lines = [line for line in err.splitlines() if line.strip()]
            assert code == 1, (args, err)
            assert len(lines) == 1, err
            assert says in lines[0]
            assert "Traceback" not in err + out
        assert gemini.calls("tts") == []

        code, out, err = await storybot("render", job)
        assert code == 0, err
        assert len(gemini.calls("tts")) >= 1
        assert len(drawn(gemini)) == before + 1  # nothing drawn again
        assert str(tmp_path / "tale.mp4") in out
        assert NEW_LINE in (tmp_path / "tale.srt").read_text()
        video = probe(tmp_path / "tale.mp4")
        assert video.duration_s > 1
        assert video.frames
        assert video.audio.size > 0

        code, out, err = await storybot("edit", job, "1", "Too late.")
        assert code == 1
        assert "completed" in err


def test_the_command_line_previews_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """STORYBOT_PREVIEW_DEFAULT is for the chats and HTTP: `storybot story` previews with
    `--preview` alone."""
    from bot.cli import _parser
    from bot.cli_jobs import _story_request
    from core.config import Settings

    monkeypatch.setenv("STORYBOT_PREVIEW_DEFAULT", "true")
    for extra, preview in (([], False), (["--preview"], True)):
        args = _parser().parse_args(["story", "a cat", *extra])
        assert _story_request(args, Settings()).preview is preview
