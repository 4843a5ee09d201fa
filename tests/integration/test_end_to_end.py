"""End to end with the offline default: a real MP4, judged by decoding it back."""

import numpy as np
import pytest
from PIL import Image

from core import audio
from core.models import JobId, StoryRequest
from core.pipeline import Pipeline
from core.providers import Providers
from core.providers.offline import OfflineIllustrator, OfflineNarrator, OfflineStoryWriter
from tests.fakes import RecordingSink
from tests.probe import best_lag, envelope, probe, top_level_boxes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One 3-scene offline story video shared by the checks below."""
    import asyncio

    workdir = tmp_path_factory.mktemp("job")
    providers = Providers(OfflineStoryWriter(), OfflineIllustrator(), OfflineNarrator())
    request = StoryRequest(theme="a cat and a dog", scenes=3)
    result = asyncio.run(Pipeline(providers).run(JobId("e2e"), request, workdir, RecordingSink()))
    narrations = [audio.from_wav((workdir / f"scene_{i:02d}.wav").read_bytes()) for i in (1, 2, 3)]
    return result, narrations, probe(workdir / result.video), workdir


def test_format_plays_inline(produced) -> None:  # type: ignore[no-untyped-def]
    """H.264 yuv420p + AAC, 1280×720 at 24 fps, and the index (moov) before the media data."""
    result, _, p, workdir = produced
    assert (p.video_codec, p.audio_codec, p.pix_fmt) == ("h264", "aac", "yuv420p")
    assert (p.width, p.height, p.fps) == (1280, 720, 24.0)
    boxes = top_level_boxes(workdir / result.video)
    assert boxes.index("moov") < boxes.index("mdat")


def test_duration_is_narrations_plus_pauses(produced) -> None:  # type: ignore[no-untyped-def]
    """The video lasts exactly as long as the narrations plus a 0.4 s pause each (±0.1 s)."""
    result, narrations, p, _ = produced
    expected = sum(n.duration_s + 0.4 for n in narrations)
    assert abs(p.duration_s - expected) < 0.1
    assert abs(result.duration_s - expected) < 0.01
    assert abs(len(p.frames) / 24 - expected) < 0.1


def test_each_narration_starts_on_its_own_picture(produced) -> None:  # type: ignore[no-untyped-def]
    """One frame after each narration starts (crossfades on), the frame looks most like that
    scene's picture: crossfades sit inside the pause before it, never over the narration."""
    _, narrations, p, workdir = produced
    pictures = [
        np.asarray(Image.open(workdir / f"scene_{i:02d}.png").convert("L").resize((32, 32)),
                   dtype=np.float32)
        for i in (1, 2, 3)
    ]  # fmt: skip
    start = 0.0
    for scene, narration in enumerate(narrations):
        frame = p.frames[round(start * 24) + 1]
        # Correlation, not distance: the first frames are still fading in from black.
        scores = [float(np.corrcoef(frame.ravel(), pic.ravel())[0, 1]) for pic in pictures]
        assert int(np.argmax(scores)) == scene, scores
        start += narration.duration_s + 0.4


def test_frames_differ_between_scenes(produced) -> None:  # type: ignore[no-untyped-def]
    """Every scene shows a different picture."""
    result, _, p, _ = produced
    firsts = [p.frames[round(s * 24)] for s in result.scene_starts_s]
    for a in range(len(firsts)):
        for b in range(a + 1, len(firsts)):
            assert float(np.abs(firsts[a] - firsts[b]).mean()) > 8


def test_audio_matches_each_narration_in_place(produced) -> None:  # type: ignore[no-untyped-def]
    """Decoded audio lines up with each scene's narration: no sample lost or shifted."""
    _, narrations, p, _ = produced
    rate = p.sample_rate
    offset = 0
    for n in narrations:
        ref = np.frombuffer(n.pcm, dtype="<i2").astype(np.float32) / 32768
        got = p.audio[offset : offset + len(ref)]
        lag, corr = best_lag(got, ref, max_lag=int(0.05 * rate))
        assert corr > 0.9, f"scene at {offset / rate:.2f}s correlates only {corr:.2f}"
        assert abs(lag) <= int(0.002 * rate)
        env_ref, env_got = envelope(ref, rate), envelope(got, rate)
        assert np.corrcoef(env_ref, env_got)[0, 1] > 0.95
        offset += len(ref) + round(0.4 * rate)


def test_thumbnail_within_limits(produced) -> None:  # type: ignore[no-untyped-def]
    """A JPEG of at most 320 px and under 200 kB sits beside the video."""
    result, _, _, workdir = produced
    with Image.open(workdir / result.thumbnail) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) <= 320
    assert (workdir / result.thumbnail).stat().st_size < 200_000
