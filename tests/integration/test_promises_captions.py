"""README, Quick start: the narration is burned in as captions with the bundled DejaVu Sans
font, and "a language the font cannot draw is left uncaptioned rather than showing boxes".

Judged on decoded frames: a Japanese story (a script DejaVu Sans does not have) renders, and
its frames are those of the same story made with captions turned off; the same comparison
tells an English story's captions apart, so it can see a caption when there is one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.models import JobId, Story, StoryRequest, StoryVideo
from core.pipeline import Pipeline
from tests.fakes import (
    FakeIllustrator,
    FakeNarrator,
    FakeStoryWriter,
    RecordingSink,
    fake_providers,
)
from tests.probe import Probe, probe

pytestmark = pytest.mark.slow

JAPANESE = ["ねこは にわで ちずを みつけました。", "いぬと いっしょに たからを さがします。"]
ENGLISH = ["The cat found a map in the garden.", "The dog helps to look for the treasure."]
FRAME = 64  # decoded frames are scaled to FRAME by FRAME grey pictures


class FakeScriptWriter(FakeStoryWriter):
    """The fake story (its pictures numbered as usual), narrated with the given lines."""

    def __init__(self, narrations: list[str]) -> None:
        super().__init__()
        self.narrations = narrations

    async def write(self, request: StoryRequest, hero: object = None) -> Story:
        story = await super().write(request)
        scenes = [
            scene.model_copy(update={"narration": line})
            for scene, line in zip(story.scenes, self.narrations, strict=True)
        ]
        return story.model_copy(update={"scenes": scenes})


async def render(
    tmp_path: Path, name: str, narrations: list[str], language: str, *, captions: bool
) -> tuple[StoryVideo, Probe]:
    """A two-scene story: flat pictures, a one-second tone per line (so the same timing in
    every language)."""
    providers = fake_providers(
        FakeScriptWriter(narrations), FakeIllustrator(), FakeNarrator(seconds=1.0)
    )
    request = StoryRequest(theme="a cat and a dog", scenes=2, language=language, captions=captions)
    workdir = tmp_path / name
    workdir.mkdir()
    result = await Pipeline(providers).run(JobId(name), request, workdir, RecordingSink())
    return result, probe(workdir / result.video, frame_size=FRAME)


def band_difference(a: Probe, b: Probe) -> float:
    """The largest grey-level difference of any pixel of any frame in the lower third, where
    captions go (0-255; a caption's band and letters differ by tens)."""
    lower = slice(FRAME * 2 // 3, FRAME)
    pairs = zip(a.frames, b.frames, strict=True)  # the same timing: as many frames
    return max(float(np.abs(x[lower] - y[lower]).max()) for x, y in pairs)


async def test_a_script_the_font_cannot_draw_is_left_uncaptioned(tmp_path: Path) -> None:
    """A Japanese story still renders, with its subtitles file, and no frame carries a
    caption band (it matches the captions-off render); English gets its band."""
    japanese, japanese_frames = await render(tmp_path, "ja", JAPANESE, "ja", captions=True)
    _, plain = await render(tmp_path, "plain", JAPANESE, "ja", captions=False)
    _, english = await render(tmp_path, "en", ENGLISH, "en", captions=True)

    assert (japanese_frames.video_codec, japanese_frames.audio_codec) == ("h264", "aac")
    assert japanese_frames.duration_s == pytest.approx(japanese.duration_s, abs=0.1)
    assert band_difference(japanese_frames, plain) < 4  # no caption: no boxes, no band
    assert band_difference(english, plain) > 30  # the comparison does see a caption
    subtitles = (tmp_path / "ja" / japanese.subtitles).read_text(encoding="utf-8")
    assert all(line in subtitles for line in JAPANESE)  # players can still show them
