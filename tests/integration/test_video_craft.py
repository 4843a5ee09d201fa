"""Video craft, judged on real outputs: motion, captions, aspect ratios, subtitles, crossfades."""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from core.assembly import assemble_story, save_fitted
from core.limits import PipelineLimits
from core.models import Aspect, JobId, Scene, Story, StoryRequest, StoryVideo, Style
from core.narration import SceneSpeech
from core.pipeline import Pipeline
from core.providers import Providers
from core.providers.offline import OfflineIllustrator, OfflineNarrator, OfflineStoryWriter
from tests.fakes import FakeNarrator, RecordingSink
from tests.probe import Probe, probe

pytestmark = pytest.mark.slow


def offline() -> Providers:
    return Providers(OfflineStoryWriter(), OfflineIllustrator(), OfflineNarrator())


@pytest.fixture(scope="module")
def story_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[StoryVideo, Probe, Path]:
    """A 3-scene offline story with captions, crossfades and motion."""
    workdir = tmp_path_factory.mktemp("craft")
    request = StoryRequest(theme="a cat and a dog", scenes=3)
    result = asyncio.run(Pipeline(offline()).run(JobId("c"), request, workdir, RecordingSink()))
    return result, probe(workdir / result.video, frame_size=64), workdir


def scene_ranges(result: StoryVideo, frames: int) -> list[range]:
    starts = [round(s * 24) for s in result.scene_starts_s] + [frames]
    return [range(a, b) for a, b in itertools.pairwise(starts)]


def test_stills_move_without_showing_an_edge(story_video: tuple[StoryVideo, Probe, Path]) -> None:
    """Within a scene the first and last frames differ, and no frame shows a canvas border."""
    result, p, _ = story_video
    fade = 13  # frames of the fades from and to black
    for scene in scene_ranges(result, len(p.frames)):
        inner = range(max(scene.start, fade), min(scene.stop - 8, len(p.frames) - fade))
        first, last = p.frames[inner.start], p.frames[inner.stop - 1]
        assert float(np.abs(first - last).mean()) > 2.0
        for index in inner:
            frame = p.frames[index]
            for edge in (frame[0], frame[-1], frame[:, 0], frame[:, -1]):
                assert float(edge.mean()) > 20  # never a black border strip


def test_motion_is_smooth(story_video: tuple[StoryVideo, Probe, Path]) -> None:
    """Frame-to-frame change inside a scene stays small and even: no jumps or jitter."""
    result, p, _ = story_video
    last = len(p.frames) - 14  # clear of the fade to black
    for scene in scene_ranges(result, len(p.frames)):
        inner = range(scene.start + 14, min(scene.stop - 10, last))  # clear of the crossfades
        steps = [float(np.abs(p.frames[i + 1] - p.frames[i]).mean()) for i in inner[:-1]]
        assert max(steps) < 4.0, steps
        assert max(steps) < 3 * (float(np.median(steps)) + 0.3), steps


def test_srt_matches_the_scene_starts(story_video: tuple[StoryVideo, Probe, Path]) -> None:
    """The `.srt` beside the video has one cue per scene, starting on the scene's start."""
    result, _, workdir = story_video
    assert result.subtitles is not None
    text = (workdir / result.subtitles).read_text()
    starts = re.findall(r"^(\d\d):(\d\d):(\d\d),(\d\d\d) -->", text, flags=re.M)
    seconds = [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in starts]
    assert len(seconds) == len(result.story.scenes)
    for cue, start in zip(seconds, result.scene_starts_s, strict=True):
        assert abs(cue - start) <= 1 / 24
    assert result.story.scenes[1].narration in text


async def render_one(
    tmp_path: Path, narration: str, *, captions: bool, aspect: Aspect = Aspect.LANDSCAPE
) -> Probe:
    """A one-scene video of the same picture with a given caption (or none)."""
    scene = Scene(
        image_prompt="Mimi the cat in a flowery meadow at bright midday",
        narration=narration, character_description="Mimi the cat: a friendly orange cat.",
    )  # fmt: skip
    story = Story(title="T", theme="t", style=Style.STORYBOOK, language="en", scenes=[scene])
    request = StoryRequest(theme="t", scenes=1, aspect=aspect, captions=captions)
    workdir = tmp_path / f"{narration[:8]}-{captions}-{aspect.value.replace(':', 'x')}"
    workdir.mkdir()
    data = await OfflineIllustrator().draw(scene, style=Style.STORYBOOK, aspect=aspect)
    picture = await asyncio.to_thread(save_fitted, data, aspect.size, workdir / "p.png")
    speech = await FakeNarrator(seconds=1.5).speak(narration, voice=None, language="en")
    spoken = [SceneSpeech(speech)]
    result = await assemble_story(story, request, [picture], spoken, workdir, PipelineLimits())
    return probe(workdir / result.video, frame_size=96)


async def test_captions_change_the_caption_region(tmp_path: Path) -> None:
    """Two captions on the same picture differ in the caption band; no caption differs too;
    the top of the frame is untouched."""
    one = await render_one(tmp_path, "The cat naps in the sun.", captions=True)
    two = await render_one(tmp_path, "A very different line appears here now!", captions=True)
    bare = await render_one(tmp_path, "The cat naps in the sun.", captions=False)
    index = len(one.frames) // 2
    band = slice(70, 92)  # the bottom of a 96-px-high frame: the caption band
    top = slice(0, 40)
    assert float(np.abs(one.frames[index][band] - two.frames[index][band]).mean()) > 3
    assert float(np.abs(one.frames[index][band] - bare.frames[index][band]).mean()) > 3
    assert float(np.abs(one.frames[index][top] - bare.frames[index][top]).mean()) < 1.5


@pytest.mark.parametrize("aspect", list(Aspect))
async def test_each_aspect_ratio_has_its_exact_size(tmp_path: Path, aspect: Aspect) -> None:
    """16:9 is 1280×720, 9:16 is 720×1280 and 1:1 is 1080×1080, end to end."""
    p = await render_one(tmp_path, "Hello there.", captions=True, aspect=aspect)
    assert (p.width, p.height) == aspect.size
    assert p.pix_fmt == "yuv420p"
