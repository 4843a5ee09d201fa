import asyncio
from pathlib import Path

import pytest

from core.errors import ContentRejected, ProviderUnavailable, ThemeRejected
from core.models import JobId, StoryRequest
from core.pipeline import Pipeline, PipelineLimits
from core.progress import (
    Stage,
    StageProgressed,
    StageStarted,
)  # fmt: skip
from core.steps import MemorySteps
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
    assert kinds[-1] == ("StageProgressed", Stage.ASSEMBLY)
    progressed = [e for e in sink.events if isinstance(e, StageProgressed)]
    assert [e.done for e in progressed if e.stage is Stage.PICTURES] == [1, 2, 3]
    assert [e.done for e in progressed if e.stage is Stage.NARRATION] == [1, 2, 3]
    percents = [e.percent for e in sink.events if isinstance(e, StageStarted | StageProgressed)]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    assert (tmp_path / result.video).exists()
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
    """The theme check runs first: no story is written, no stage starts."""
    writer = FakeStoryWriter()
    sink = RecordingSink()
    with pytest.raises(ThemeRejected, match="children's story"):
        await Pipeline(fake_providers(writer=writer)).run(
            J, StoryRequest(theme="a dog with a gun"), tmp_path, sink
        )
    assert writer.requests == []
    assert sink.events == []


async def test_provider_failure_surfaces_as_its_typed_error(tmp_path: Path) -> None:
    """A provider error inside the concurrent stage comes out as itself, not as a group."""
    with pytest.raises(ProviderUnavailable, match="the narrator is down"):
        await Pipeline(fake_providers(narrator=FakeNarrator(fail=True))).run(
            J, StoryRequest(theme="x", scenes=2), tmp_path, RecordingSink()
        )


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
    illustrator = FakeIllustrator(blocked={"picture 1", "gentle picture 1"})
    with pytest.raises(ContentRejected, match="first picture was blocked"):
        await Pipeline(fake_providers(illustrator=illustrator)).run(
            J, StoryRequest(theme="x", scenes=2), tmp_path, RecordingSink()
        )


async def test_finished_steps_are_skipped_on_a_rerun(tmp_path: Path) -> None:
    """With a StepLog, a second run of the same job calls no provider for finished steps."""
    steps = MemorySteps()
    writer, illustrator, narrator = FakeStoryWriter(), FakeIllustrator(), FakeNarrator()
    providers = fake_providers(writer=writer, illustrator=illustrator, narrator=narrator)
    request = StoryRequest(theme="x", scenes=3)
    first = await Pipeline(providers).run(J, request, tmp_path, RecordingSink(), steps)
    assert steps.finished == {
        "story", "picture:1", "picture:2", "picture:3",
        "narration:1", "narration:2", "narration:3",
    }  # fmt: skip
    calls = (len(writer.requests), len(illustrator.prompts), len(narrator.texts))
    again = await Pipeline(providers).run(J, request, tmp_path, RecordingSink(), steps)
    assert (len(writer.requests), len(illustrator.prompts), len(narrator.texts)) == calls
    assert again.duration_s == first.duration_s
    assert again.story == first.story
