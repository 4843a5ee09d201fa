"""`storybot video`: a clip from a prompt (or a picture) through the real google-genai SDK
against the fake server's Veo paths, offline without a key, and one-line errors."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bot.cli import main
from tests.gemini_server import FakeGemini, VideoFiltered
from tests.probe import probe, top_level_boxes

KEY = "AQ.cli-video-test-key-0123456789"


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(api_key=KEY, polls_until_done=2) as server:
        yield server


async def storybot(
    fake: FakeGemini | None, cwd: Path, *args: str, vertex: bool = True
) -> tuple[int, str, str]:
    env = {"PATH": "/usr/bin:/bin", "STORYBOT_DATA_DIR": str(cwd / "data")}
    if fake is not None:
        env |= fake.vertex_env(express=True) if vertex else fake.env()
        env |= {"GOOGLE_API_KEY": KEY, "GEMINI_API_KEY": KEY, "STORYBOT_VIDEO_POLL_S": "0.05"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "video", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def halves(size: tuple[int, int] = (640, 360)) -> bytes:
    """A PNG: red left half, blue right half."""
    image = Image.new("RGB", size, (230, 20, 20))
    image.paste((20, 20, 230), (size[0] // 2, 0, size[0], size[1]))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_text_to_video_with_veo(fake: FakeGemini, tmp_path: Path) -> None:
    """A prompt and options become one Veo operation, polled until done; the MP4 lands where
    asked, chat-playable, with a thumbnail beside it."""
    code, stdout, stderr = await storybot(
        fake, tmp_path, "a kitten chasing a leaf", "--aspect", "9:16", "--duration", "6",
        "--negative", "rain", "--out", "kitten.mp4",
    )  # fmt: skip
    assert code == 0, stderr
    (start,) = fake.calls("video")
    params = start.parameters
    assert start.prompt == "a kitten chasing a leaf"
    assert (params["aspectRatio"], params["durationSeconds"]) == ("9:16", 6)
    assert (params["negativePrompt"], params["personGeneration"]) == ("rain", "dont_allow")
    assert params["generateAudio"] is True
    assert not start.instance.get("image")  # text only
    (operation,) = fake.operations.values()
    assert operation.polls == 3
    video = probe(tmp_path / "kitten.mp4")
    assert (video.video_codec, video.audio_codec) == ("h264", "aac")
    assert video.height > video.width
    boxes = top_level_boxes(tmp_path / "kitten.mp4")
    assert boxes.index("moov") < boxes.index("mdat")  # plays before it is fully downloaded
    assert abs(video.duration_s - 6.0) < 0.2
    assert (tmp_path / "kitten.jpg").exists()
    assert "kitten.mp4" in stdout
    assert KEY not in stdout + stderr


async def test_a_16_10_video_is_made_at_16_9_and_cropped_never_stretched(
    fake: FakeGemini, tmp_path: Path
) -> None:
    """Veo makes no 16:10: it is asked for 16:9 (the closest), and the clip is scaled to cover
    1280×800 and centre-cropped."""
    code, _, stderr = await storybot(
        fake, tmp_path, "a kitten", "--aspect", "16:10", "--duration", "4", "--out", "wide.mp4"
    )
    assert code == 0, stderr
    (start,) = fake.calls("video")
    assert start.parameters["aspectRatio"] == "16:9"
    video = probe(tmp_path / "wide.mp4")
    assert (video.width, video.height) == (1280, 800)
    assert (video.video_codec, video.audio_codec) == ("h264", "aac")


async def test_image_to_video_sends_the_picture_as_first_frame(
    fake: FakeGemini, tmp_path: Path
) -> None:
    """`--image`: a 16:9 PNG reaches Veo unchanged as the first frame; `--count 2` gives two
    files, `out.mp4` and `out-2.mp4`."""
    picture = halves()
    (tmp_path / "start.png").write_bytes(picture)
    code, stdout, stderr = await storybot(
        fake, tmp_path, "the colours swirl", "--image", "start.png", "--count", "2",
        "--people", "allow", "--out", "swirl.mp4",
    )  # fmt: skip
    assert code == 0, stderr
    (operation,) = fake.operations.values()
    assert operation.image == picture
    assert operation.parameters["sampleCount"] == 2
    assert operation.parameters["personGeneration"] == "allow_adult"
    for name in ("swirl.mp4", "swirl-2.mp4"):
        assert probe(tmp_path / name).duration_s > 1
        assert name in stdout


async def test_the_developer_api_makes_each_video_with_an_interaction(
    fake: FakeGemini, tmp_path: Path
) -> None:
    """Developer API: `--count 2` starts two background interactions (prompt and picture
    each), both polled to the end; two files."""
    picture = halves()
    (tmp_path / "start.png").write_bytes(picture)
    code, _stdout, stderr = await storybot(
        fake, tmp_path, "the colours swirl", "--image", "start.png", "--count", "2",
        "--out", "swirl.mp4", vertex=False,
    )  # fmt: skip
    assert code == 0, stderr
    created = fake.calls("interaction")
    assert len(created) == 2
    assert all(call.input_images == [picture] for call in created)
    assert all(op.polls == 3 for op in fake.operations.values())
    assert probe(tmp_path / "swirl-2.mp4").duration_s > 1


async def test_a_filtered_video_is_one_clear_line(fake: FakeGemini, tmp_path: Path) -> None:
    """A result blocked by Veo's safety filter: exit 1 with one line saying so, no file."""
    fake.script("video", VideoFiltered())
    code, _stdout, stderr = await storybot(fake, tmp_path, "a kitten", "--out", "k.mp4")
    assert code == 1
    lines = [line for line in stderr.splitlines() if line.startswith("error")]
    assert lines == ["error: the clip was blocked by Veo's safety filter"]
    assert not (tmp_path / "k.mp4").exists()
    assert "Traceback" not in stderr


@pytest.mark.slow
async def test_offline_video_needs_no_key(tmp_path: Path) -> None:
    """No key: the prompt is drawn offline and given a camera move (a 3 s stand-in clip)."""
    code, _stdout, stderr = await storybot(None, tmp_path, "a fox in the snow")
    assert code == 0, stderr
    video = probe(tmp_path / "a-fox-in-the-snow.mp4")
    assert abs(video.duration_s - 3.0) < 0.1
    assert "offline" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["video", ""], "prompt is empty"),
        (["video", "x" * 1001], "keep it under 1000"),
        (["video", "a cat", "--duration", "30"], "from 4 to 8 seconds"),
        (["video", "a cat", "--count", "5"], "from 1 to 4"),
        (["video", "a cat", "--aspect", "1:1"], "invalid choice"),
        (["video", "a cat", "--image", "/nonexistent.png"], "cannot read the picture"),
        (["video", "a dog with a gun"], "children's story"),
    ],
)
def test_bad_video_input_gets_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each bad input: one error line naming the problem, no traceback, exit code ≠ 0."""
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(args))
    assert exit_info.value.code != 0
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert message in lines[0]
    assert "Traceback" not in captured.err + captured.out
