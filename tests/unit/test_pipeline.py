import asyncio
from pathlib import Path

import pytest

from core.errors import ContentRejected, ProviderUnavailable, ThemeRejected
from core.models import JobId, StoryRequest
from core.pipeline import Pipeline, PipelineLimits
from core.progress import (
    JobCancelled,
    JobFailed,
    JobSucceeded,
    Stage,
    StageProgressed,
    StageStarted,
)  # fmt: skip
from tests.fakes import (
    FakeIllustrator,
    FakeNarrator,
    FakeStoryWriter,
    RecordingSink,
    fake_providers,
)

J = JobId("job1")


async def test_events_cover_every_stage_in_order(tmp_path: Path) -> None:
    """Story, then pictures and narration (each scene reported), then assembly, then success."""
    sink = RecordingSink()
    result = await Pipeline(fake_providers()).run(
        J, StoryRequest(theme="x", scenes=3), tmp_path, sink
    )
    kinds = [(type(e).__name__, getattr(e, "stage", None)) for e in sink.events]
    assert kinds[0] == ("StageStarted", Stage.STORY)
    assert kinds[-2:] == [("StageProgressed", Stage.ASSEMBLY), ("JobSucceeded", None)]
    progressed = [e for e in sink.events if isinstance(e, StageProgressed)]
    assert [e.done for e in progressed if e.stage is Stage.PICTURES] == [1, 2, 3]
    assert [e.done for e in progressed if e.stage is Stage.NARRATION] == [1, 2, 3]
    percents = [e.percent for e in sink.events if isinstance(e, StageStarted | StageProgressed)]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    assert isinstance(sink.events[-1], JobSucceeded)
    assert result.video.exists()
    assert abs(result.duration_s - 3 * (1.0 + 0.4)) < 1e-6


async def test_first_picture_is_the_reference_for_the_others(tmp_path: Path) -> None:
    """Scenes 2..N are drawn with scene 1's picture as the reference; scene 1 with none."""
    illustrator = FakeIllustrator()
    await Pipeline(fake_providers(illustrator=illustrator)).run(
        J, StoryRequest(theme="x", scenes=4), tmp_path, RecordingSink()
    )
    assert illustrator.prompts[0] == "picture 1"
    assert illustrator.references[0] is None
    assert all(ref is not None for ref in illustrator.references[1:])
    assert len(set(illustrator.references[1:])) == 1


async def test_unfit_theme_is_refused_before_any_provider_call(tmp_path: Path) -> None:
    """The theme check runs first: no story is written, a failure event is emitted."""
    writer = FakeStoryWriter()
    sink = RecordingSink()
    with pytest.raises(ThemeRejected):
        await Pipeline(fake_providers(writer=writer)).run(
            J, StoryRequest(theme="a dog with a gun"), tmp_path, sink
        )
    assert writer.requests == []
    assert isinstance(sink.events[-1], JobFailed)
    assert "children's story" in sink.events[-1].reason


async def test_provider_failure_fails_the_job_with_a_readable_reason(tmp_path: Path) -> None:
    """A provider error ends the job with JobFailed carrying the error's user-safe message."""
    sink = RecordingSink()
    with pytest.raises(ProviderUnavailable):
        await Pipeline(fake_providers(narrator=FakeNarrator(fail=True))).run(
            J, StoryRequest(theme="x", scenes=2), tmp_path, sink
        )
    assert sink.events[-1] == JobFailed(J, "the narrator is down")


async def test_concurrency_is_bounded_by_limits(tmp_path: Path) -> None:
    """No more pictures are drawn at once than image_concurrency allows."""
    active = peak = 0

    class SlowIllustrator(FakeIllustrator):
        async def draw(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.02)
            active -= 1
            return await super().draw(*args, **kwargs)

    limits = PipelineLimits(image_concurrency=2)
    await Pipeline(fake_providers(illustrator=SlowIllustrator()), limits).run(
        J, StoryRequest(theme="x", scenes=6), tmp_path, RecordingSink()
    )
    assert peak == 2


async def test_cancel_emits_cancelled(tmp_path: Path) -> None:
    """Cancelling the task emits JobCancelled and propagates the cancellation."""
    sink = RecordingSink()

    class Stuck(FakeIllustrator):
        async def draw(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            await asyncio.Event().wait()
            raise ContentRejected("unreachable")

    task = asyncio.create_task(
        Pipeline(fake_providers(illustrator=Stuck())).run(
            J, StoryRequest(theme="x"), tmp_path, sink
        )
    )
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sink.events[-1] == JobCancelled(J)


async def test_blocked_picture_is_rephrased_then_reuses_the_previous(tmp_path: Path) -> None:
    """Blocked once: drawn from the softened prompt. Blocked twice: shows the previous picture."""
    writer = FakeStoryWriter()
    illustrator = FakeIllustrator(blocked={"picture 2", "picture 3", "gentle picture 3"})
    result = await Pipeline(fake_providers(writer=writer, illustrator=illustrator)).run(
        J, StoryRequest(theme="x", scenes=4), tmp_path, RecordingSink()
    )
    assert sorted(writer.softened) == ["picture 2", "picture 3"]
    assert "gentle picture 2" in illustrator.prompts
    assert result.notes == (
        "Scene 3's picture was blocked by a safety filter, so it shows the previous picture.",
    )
    scene2 = (tmp_path / "scene_02.png").read_bytes()
    assert (tmp_path / "scene_03.png").read_bytes() == scene2
    assert (tmp_path / "scene_04.png").read_bytes() != scene2


async def test_first_picture_blocked_twice_fails_clearly(tmp_path: Path) -> None:
    """Without a previous picture to reuse, a twice-blocked first picture fails the job."""
    sink = RecordingSink()
    illustrator = FakeIllustrator(blocked={"picture 1", "gentle picture 1"})
    with pytest.raises(ContentRejected):
        await Pipeline(fake_providers(illustrator=illustrator)).run(
            J, StoryRequest(theme="x", scenes=2), tmp_path, sink
        )
    assert "first picture was blocked" in sink.events[-1].reason  # type: ignore[union-attr]
