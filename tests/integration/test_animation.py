"""Animated stories: clips from Veo (Vertex AI) and the Interactions API (Developer API) with
the real SDK against the fake server, and from the offline animator; each clip fitted to its
narration, each failure falling back to the scene's still."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core import audio
from core.config import Settings
from core.errors import ConfigurationError
from core.models import JobId, StoryRequest, StoryVideo
from core.pipeline import Pipeline, PipelineLimits
from core.progress import ClipPhase, SceneAnimating, Stage, StageProgressed
from core.providers import Providers, build_providers
from core.providers.veo import InteractionsAnimator, VeoAnimator
from tests.fakes import FakeIllustrator, FakeNarrator, FakeStoryWriter, RecordingSink
from tests.gemini_server import FakeGemini, NeverDone, OperationError, VideoFiltered
from tests.probe import probe

KEY = "AIzaSy-animation-test-key-012345"
PAUSE = 0.4


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(api_key=KEY, image_scale=0.25) as server:
        yield server


def google(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, *, vertex: bool, **extra: str
) -> Providers:
    """Google's animator over the fake, with quick local story, pictures and narration (the
    Gemini paths of those are tested elsewhere); narrations of 2 s, 3 s, 5 s, ..."""
    env = fake.vertex_env(express=True) if vertex else fake.env()
    env |= {"GOOGLE_API_KEY": KEY, "GEMINI_API_KEY": KEY, "STORYBOT_VIDEO_POLL_S": "0.05"}
    for name, value in {**env, **extra}.items():
        monkeypatch.setenv(name, value)
    providers = build_providers(Settings())
    lengths = iter([2.0, 3.0, 5.0, 2.5, 3.5, 4.0])

    class Narrator(FakeNarrator):
        async def speak(self, text: str, *, voice: str | None, language: str):  # type: ignore[no-untyped-def]
            self.seconds = next(lengths)
            return await super().speak(text, voice=voice, language=language)

    return replace(
        providers, writer=FakeStoryWriter(), illustrator=FakeIllustrator(size=(320, 180)),
        narrator=Narrator(),
    )  # fmt: skip


async def animate(
    providers: Providers, workdir: Path, scenes: int, **limits: float
) -> tuple[StoryVideo, RecordingSink]:
    sink = RecordingSink()
    pipeline = Pipeline(providers, PipelineLimits(scene_pause_s=PAUSE, **limits))  # type: ignore[arg-type]
    request = StoryRequest(theme="a cat and a dog", scenes=scenes, animate=True)
    try:
        result = await pipeline.run(JobId("a1"), request, workdir, sink)
    finally:
        await providers.aclose()
    return result, sink


def outcomes(workdir: Path, scenes: int) -> list[dict[str, object]]:
    return [
        json.loads((workdir / f"scene_{i:02d}.clip.json").read_text())
        for i in range(1, scenes + 1)
    ]


def assert_scenes_timed_to_narration(result: StoryVideo, workdir: Path, scenes: int) -> None:
    """Each scene lasts exactly its narration plus the pause, clips or not."""
    lengths = [
        audio.from_wav((workdir / f"scene_{i:02d}.wav").read_bytes()).duration_s
        for i in range(1, scenes + 1)
    ]
    video = probe(workdir / result.video)
    assert abs(video.duration_s - sum(n + PAUSE for n in lengths)) < 0.1
    starts = np.cumsum([0.0, *(n + PAUSE for n in lengths[:-1])])
    assert np.allclose(result.scene_starts_s, starts, atol=1 / 24 + 1e-6)


async def test_veo_operation_polled_until_done_animates_every_scene(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`done` stays empty for several polls, then the clips come inline: every scene is a clip
    started from its picture, with the negative prompt, the story's aspect ratio, no people and
    a length rounded up to what Veo allows; progress says generating, then downloading."""
    fake.polls_until_done = 3
    providers = google(fake, monkeypatch, vertex=True)
    assert isinstance(providers.animator, VeoAnimator)
    result, sink = await animate(providers, tmp_path, 3)

    assert result.animated == 3
    assert not result.notes
    starts = fake.calls("video")
    assert len(starts) == 3
    operations = list(fake.operations.values())
    assert all(op.polls == 4 for op in operations)  # three "running" answers, then done
    pictures = {(tmp_path / f"scene_{i:02d}.png").read_bytes() for i in (1, 2, 3)}
    assert {op.image for op in operations} == pictures  # each scene's own picture, first frame
    for call in starts:
        params = call.parameters
        assert params["aspectRatio"] == "16:9"
        assert params["negativePrompt"] == "blurry, low quality, text, subtitles, watermark"
        assert params["personGeneration"] == "dont_allow"
        assert params["sampleCount"] == 1
        assert params["generateAudio"] is False  # its sound would be dropped: not paid for
    # Narrations of 2, 3 and 5 s plus the pause: Veo's 4, 4 and 6 s.
    assert sorted(int(c.parameters["durationSeconds"]) for c in starts) == [4, 4, 6]
    phases = [e.phase for e in sink.events if isinstance(e, SceneAnimating)]
    assert Counter(phases) == {ClipPhase.GENERATING: 9, ClipPhase.DOWNLOADING: 3,
                               ClipPhase.DONE: 3}  # fmt: skip
    done = [e for e in sink.events if isinstance(e, StageProgressed)]
    assert [e.done for e in done if e.stage is Stage.ANIMATION] == [1, 2, 3]
    assert_scenes_timed_to_narration(result, tmp_path, 3)
    # The operation names were checkpointed as soon as they existed.
    names = {json.loads((tmp_path / f"scene_{i:02d}.operation.json").read_text())["name"]
             for i in (1, 2, 3)}  # fmt: skip
    assert names == set(fake.operations)


async def test_failed_filtered_and_late_clips_fall_back_to_stills(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An error operation, a filtered result and an operation past the deadline each leave
    their scene a still (Ken Burns), the fourth is animated, the story's timing is unchanged,
    and the result says how many scenes were animated."""
    fake.script(
        "video", OperationError(3, "Veo could not draw that"), VideoFiltered(), NeverDone()
    )
    providers = google(fake, monkeypatch, vertex=True)
    result, _ = await animate(providers, tmp_path, 4, video_deadline_s=1.5)

    assert result.animated == 1
    reasons = Counter(str(o["reason"]) for o in outcomes(tmp_path, 4))
    assert reasons == {
        "": 1,
        "Veo could not make the clip: Veo could not draw that": 1,
        "the clip was blocked by Veo's safety filter": 1,
        "no clip within 1.5 s": 1,
    }
    assert len(fake.calls("video")) == 4  # no scene was started twice
    (note,) = result.notes
    assert note.startswith("3 of 4 scenes could not be animated (")
    assert note.endswith(") and show their picture.")
    assert_scenes_timed_to_narration(result, tmp_path, 4)


async def test_the_developer_api_animates_through_the_interactions_api(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Developer API: a video-capable Gemini model through background interactions, picture
    and prompt as input, polled until completed."""
    fake.polls_until_done = 2
    providers = google(fake, monkeypatch, vertex=False)
    assert isinstance(providers.animator, InteractionsAnimator)
    result, _ = await animate(providers, tmp_path, 2)

    assert result.animated == 2
    created = fake.calls("interaction")
    assert len(created) == 2
    assert {c.model for c in created} == {"gemini-omni-1.1-flash"}
    assert all(c.input_images for c in created)  # the scene's picture is the first frame
    assert all("Avoid: blurry" in c.prompt for c in created)
    assert all(op.polls == 3 for op in fake.operations.values())
    assert_scenes_timed_to_narration(result, tmp_path, 2)


async def test_a_model_without_video_output_says_what_animation_needs(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A Developer API model that refuses video output: stills, and a note naming the way out.
    A setting naming a model of another role is refused before anything starts."""
    with pytest.raises(ConfigurationError, match="is a text model, which cannot make video"):
        google(fake, monkeypatch, vertex=False, STORYBOT_VIDEO_MODEL="gemini-3.8-flash")
    fake.video_models = []  # the listed video model answers 400 for video output
    providers = google(fake, monkeypatch, vertex=False, STORYBOT_VIDEO_MODEL="")
    result, _ = await animate(providers, tmp_path, 2)
    assert result.animated == 0
    assert "animation needs Vertex AI" in result.notes[0]
    assert not fake.operations


async def test_offline_animation_clips_are_fitted_to_each_narration(tmp_path: Path) -> None:
    """No key: 3 s local clips, slowed (up to 1.5x) or held to fill longer narrations; the
    scenes keep their exact timing and really move."""
    providers = build_providers(Settings())
    result, _ = await animate(providers, tmp_path, 2)
    assert result.animated == 2
    assert_scenes_timed_to_narration(result, tmp_path, 2)
    video = probe(tmp_path / result.video)
    early, later = video.frames[int(len(video.frames) * 0.1)], video.frames[len(video.frames) // 4]
    assert float(np.abs(early.astype(float) - later.astype(float)).mean()) > 1.0
