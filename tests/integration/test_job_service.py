"""The job service, worker, dispatcher and outbox as `core.bootstrap` builds them, on a real
SQLite file, with fake providers that count their calls."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.errors import ConfigurationError, LimitReached
from core.models import Delivery, Job, JobStatus, Origin, StoryRequest
from core.progress import (
    JobCancelled,
    JobSucceeded,
    ProviderWaiting,
    Queued,
    Stage,
    StageStarted,
)  # fmt: skip
from tests.fakes import FakeIllustrator, FakeNarrator, FakeStoryWriter, fake_providers
from tests.service_helpers import REQUEST, collect, reopened, subscribed, user

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot, WaitUntil


async def test_submit_and_subscribe_see_every_stage(
    storybot: OpenStoryBot, clean_env: Path
) -> None:
    """Submit returns at once; a subscriber sees the stages in order, then success."""
    async with storybot() as bot:
        job = await bot.service.submit_story(REQUEST, user(1, "cli"))
        assert (await bot.service.get(job.id)).status is JobStatus.PENDING
        events = await collect(bot.service, job)
    stages = [e.stage for e in events if isinstance(e, StageStarted)]
    assert stages == [Stage.STORY, Stage.PICTURES, Stage.NARRATION, Stage.ASSEMBLY]
    assert isinstance(events[-1], JobSucceeded)
    async with reopened(clean_env) as store:
        done = await store.get(job.id)
        assert await store.steps(job.id) >= {"story", "picture:1", "picture:2"}
    assert done.status is JobStatus.COMPLETED
    assert done.delivery is Delivery.DELIVERED  # the CLI's output is the stored file
    assert done.percent == 100
    assert done.outcome is not None
    assert done.outcome.result.duration_s == pytest.approx(2 * 1.4, abs=0.01)
    assert set(done.outcome.stage_s) >= {"story", "pictures", "narration", "assembly"}
    # Work files are gone; the video, thumbnail, subtitles and story remain.
    assert sorted(p.name for p in (clean_env / "jobs" / job.id).iterdir()) == [
        "story.jpg", "story.json", "story.mp4", "story.srt",
    ]  # fmt: skip


async def test_late_subscriber_gets_the_current_state_first(
    storybot: OpenStoryBot, clean_env: Path
) -> None:
    """Subscribing to a finished job yields its final event at once."""
    async with storybot() as bot:
        job = await bot.service.submit_story(REQUEST, user(1))
        await collect(bot.service, job)
        late = await collect(bot.service, job)
    assert len(late) == 1
    assert isinstance(late[0], JobSucceeded)
    assert late[0].result.duration_s == pytest.approx(2.8, abs=0.01)


async def test_queue_order_and_positions(
    storybot: OpenStoryBot, clean_env: Path, wait_until: WaitUntil
) -> None:
    """With one job at a time, jobs start in submission order and see their place in line."""
    gate = asyncio.Event()
    writer = FakeStoryWriter()
    illustrator = FakeIllustrator(gate=gate)
    providers = fake_providers(writer=writer, illustrator=illustrator)
    async with storybot(providers, max_concurrent_jobs=1) as bot:
        jobs = [
            await bot.service.submit_story(StoryRequest(theme=f"t{i}", scenes=1), user(i))
            for i in range(3)
        ]
        await wait_until(lambda: illustrator.prompts, what="the first job to reach its picture")
        assert [await bot.service.queue_position(j.id) for j in jobs] == [None, 1, 2]
        streams = [await subscribed(bot.service, j) for j in jobs]
        gate.set()
        results = await asyncio.gather(*streams)
    assert [r.theme for r in writer.requests] == ["t0", "t1", "t2"]
    third = [e.position for e in results[2] if isinstance(e, Queued)]
    assert third[:2] == [2, 1]
    assert all(isinstance(r[-1], JobSucceeded) for r in results)


async def test_per_user_limits_and_allow_list(storybot: OpenStoryBot, clean_env: Path) -> None:
    """In-flight and 24 h limits refuse with the limit and the wait; admins and the CLI bypass."""
    gate = asyncio.Event()
    providers = fake_providers(illustrator=FakeIllustrator(gate=gate))
    async with storybot(providers, user_jobs_in_flight=1, user_jobs_per_day=2,
        admin_ids=frozenset({"boss"}), allowed_ids=frozenset({"user1", "chat2", "boss"}),
    ) as bot:  # fmt: skip
        first = await bot.service.submit_story(REQUEST, user(1))
        with pytest.raises(LimitReached, match="already have 1 story or video in progress"):
            await bot.service.submit_story(REQUEST, user(1))
        with pytest.raises(LimitReached, match="private"):
            await bot.service.submit_story(REQUEST, user(3))
        allowed_chat = Origin("telegram", "someone", "chat2")
        await bot.service.submit_story(REQUEST, allowed_chat)
        gate.set()
        await collect(bot.service, first)
        second = await bot.service.submit_story(REQUEST, user(1))
        await collect(bot.service, second)
        with pytest.raises(
            LimitReached, match=r"2 stories in the last 24 hours.*frees up in 2[34] h"
        ):
            await bot.service.submit_story(REQUEST, user(1))
        for _ in range(3):  # admins bypass every limit
            await bot.service.submit_story(REQUEST, Origin("telegram", "boss", "x"))
        await bot.service.submit_story(REQUEST, Origin("cli", "me"))  # the local user: no limits
        assert await bot.store.count(platform="telegram", user_id="user1") == 2


async def test_animated_stories_have_their_own_daily_limit(
    storybot: OpenStoryBot, clean_env: Path
) -> None:
    """Animated jobs pay for clips: STORYBOT_ANIMATED_PER_DAY caps them per user per rolling
    24 h (the refusal says when one frees up) while still stories go on; 0 turns them off."""
    async with storybot(user_jobs_in_flight=5, user_jobs_per_day=10, animated_per_day=2) as bot:
        animated = REQUEST.model_copy(update={"animate": True})
        for _ in range(2):
            await collect(bot.service, await bot.service.submit_story(animated, user(1)))
        with pytest.raises(
            LimitReached, match=r"2 animated videos in the last 24 hours.*frees up in 2[34] h"
        ):
            await bot.service.submit_story(animated, user(1))
        await collect(bot.service, await bot.service.submit_story(REQUEST, user(1)))  # stills
        await collect(bot.service, await bot.service.submit_story(animated, user(2)))  # another
        assert await bot.store.count(platform="telegram", user_id="user1", clips=True) == 2
    async with storybot(animated_per_day=0) as bot:
        with pytest.raises(LimitReached, match="turned off"):
            await bot.service.submit_story(animated, user(3))


async def test_video_jobs_run_on_the_same_runner_and_share_the_clip_limit(
    storybot: OpenStoryBot, clean_env: Path
) -> None:
    """A video job (offline animator) keeps one MP4 per video and a thumbnail, is rebuilt for
    late subscribers, and counts toward the same daily limit as animated stories."""
    from core.models import VideoClips, VideoRequest
    from tests.fakes import FakeAnimator

    providers = fake_providers(animator=FakeAnimator())
    async with storybot(providers, user_jobs_in_flight=5, animated_per_day=2) as bot:
        request = VideoRequest(prompt="a fox in the snow", aspect="9:16", count=2)
        job = await bot.service.submit_video(request, user(1))
        events = await collect(bot.service, job)
        result = events[-1].result  # type: ignore[union-attr]
        assert isinstance(result, VideoClips)
        assert result.videos == ("video_1.mp4", "video_2.mp4")
        assert (result.width, result.height) == (720, 1280)
        late = [e async for e in bot.service.subscribe(job.id)]
        assert late[-1].result == result  # type: ignore[union-attr]
        animated = REQUEST.model_copy(update={"animate": True})
        await collect(bot.service, await bot.service.submit_story(animated, user(1)))
        with pytest.raises(LimitReached, match="2 animated videos in the last 24 hours"):
            await bot.service.submit_video(request, user(1))
        done = await bot.service.get(job.id)
    assert done.kind.value == "video"
    assert done.subject == "a fox in the snow"
    assert done.outcome is not None
    assert len(done.outcome.file_sizes) == 2
    assert sorted(p.name for p in (clean_env / "jobs" / job.id).iterdir()) == [
        "video.jpg", "video_1.mp4", "video_2.mp4",
    ]  # fmt: skip


async def test_cancel_while_queued(
    storybot: OpenStoryBot, clean_env: Path, wait_until: WaitUntil
) -> None:
    """A queued job leaves the queue: never runs, never delivered, status cancelled."""
    gate = asyncio.Event()
    writer = FakeStoryWriter()
    delivered: list[str] = []

    async def deliver(job: Job) -> None:
        delivered.append(job.id)

    providers = fake_providers(writer=writer, illustrator=FakeIllustrator(gate=gate))
    async with storybot(providers, max_concurrent_jobs=1) as bot:
        bot.service.deliver_with("telegram", deliver)
        running = await bot.service.submit_story(StoryRequest(theme="first", scenes=1), user(1))
        queued = await bot.service.submit_story(StoryRequest(theme="second", scenes=1), user(2))
        stream = await subscribed(bot.service, queued)
        cancelled = await bot.service.cancel(queued.id)
        gate.set()
        await collect(bot.service, running)
        # The delivery runs in the background after the job's last event.
        await wait_until(lambda: delivered, what="the running job's delivery")
    assert cancelled.status is JobStatus.CANCELLED
    assert isinstance((await stream)[-1], JobCancelled)
    assert [r.theme for r in writer.requests] == ["first"]
    assert delivered == [running.id]
    assert not (clean_env / "jobs" / queued.id).exists()


async def test_cancel_while_running_stops_provider_calls(
    storybot: OpenStoryBot, clean_env: Path, wait_until: WaitUntil
) -> None:
    """A running job stops at once: provider call counts stay put, no delivery, files gone."""
    gate = asyncio.Event()
    illustrator, narrator = FakeIllustrator(gate=gate), FakeNarrator()
    delivered: list[str] = []

    async def deliver(job: Job) -> None:
        delivered.append(job.id)

    providers = fake_providers(illustrator=illustrator, narrator=narrator)
    async with storybot(providers) as bot:
        bot.service.deliver_with("telegram", deliver)
        job = await bot.service.submit_story(StoryRequest(theme="x", scenes=4), user(1))
        stream = await subscribed(bot.service, job)
        await wait_until(lambda: illustrator.prompts, what="the first picture to be asked for")
        assert (clean_env / "jobs" / job.id).exists()
        cancelled = await bot.service.cancel(job.id)
        counts = (len(illustrator.prompts), len(narrator.texts))
        gate.set()
        # A later job runs to the end on the same providers: had the cancelled one gone on
        # once the gate opened, its calls would show up before this one has finished.
        later = await bot.service.submit_story(StoryRequest(theme="y", scenes=1), user(2, "cli"))
        await collect(bot.service, later)
        assert (len(illustrator.prompts), len(narrator.texts)) == (counts[0] + 1, counts[1] + 1)
        assert await bot.store.steps(job.id) == set()
    assert cancelled.status is JobStatus.CANCELLED
    assert isinstance((await stream)[-1], JobCancelled)
    assert delivered == []
    assert not (clean_env / "jobs" / job.id).exists()


class GatedNarrator(FakeNarrator):
    """A FakeNarrator whose calls wait for `gate` to open."""

    def __init__(self, gate: asyncio.Event, *, fail_first: int = 0) -> None:
        super().__init__(fail_first=fail_first)
        self.gate = gate

    async def speak(self, text: str, *, voice: str | None, language: str):  # type: ignore[no-untyped-def]
        await self.gate.wait()
        return await super().speak(text, voice=voice, language=language)


async def test_transient_failure_is_retried_from_the_checkpoint(
    storybot: OpenStoryBot, clean_env: Path, wait_until: WaitUntil
) -> None:
    """A step failing transiently is retried by the runner; finished steps are not redone."""
    gate = asyncio.Event()
    writer, illustrator = FakeStoryWriter(), FakeIllustrator()
    narrator = GatedNarrator(gate, fail_first=1)
    providers = fake_providers(writer=writer, illustrator=illustrator, narrator=narrator)
    async with storybot(providers, step_retries=2) as bot:
        job = await bot.service.submit_story(StoryRequest(theme="x", scenes=2), user(1))
        stream = await subscribed(bot.service, job)

        async def pictures_checkpointed() -> bool:
            return {"story", "picture:1", "picture:2"} <= await bot.store.steps(job.id)

        # The narration fails only once both pictures are done: a picture still being drawn
        # when a stage fails is rightly drawn again, which is not what this test is about.
        await wait_until(pictures_checkpointed, what="the story and both pictures checkpointed")
        gate.set()
        events = await stream
    assert isinstance(events[-1], JobSucceeded)
    assert any(isinstance(e, ProviderWaiting) for e in events)
    assert len(narrator.texts) >= 3  # the failed call, then both lines on the retry
    assert len(writer.requests) == 1  # the story was checkpointed, not rewritten
    assert len(illustrator.prompts) == 2  # so were the pictures


async def test_permanent_failure_fails_at_once(storybot: OpenStoryBot, clean_env: Path) -> None:
    """A bad key (or a safety block) is not retried: the job fails with its reason."""

    class BadKeyWriter(FakeStoryWriter):
        async def write(self, request: StoryRequest, hero=None):  # type: ignore[no-untyped-def]
            self.requests.append(request)
            raise ConfigurationError("the Gemini API key was rejected; check GEMINI_API_KEY")

    writer = BadKeyWriter()
    async with storybot(fake_providers(writer=writer), step_retries=3) as bot:
        job = await bot.service.submit_story(REQUEST, user(1))
        events = await collect(bot.service, job)
        failed = await bot.service.get(job.id)
    assert len(writer.requests) == 1
    assert failed.status is JobStatus.FAILED
    assert failed.error == "the Gemini API key was rejected; check GEMINI_API_KEY"
    assert events[-1].reason == failed.error  # type: ignore[union-attr]


async def test_a_cancel_recorded_in_the_store_stops_a_provider_call_in_flight(
    storybot: OpenStoryBot, clean_env: Path, wait_until: WaitUntil
) -> None:
    """A cancel written to the store alone (as another process would) ends a job whose
    provider call hangs: the job ends `cancelled`, and no provider call starts after the cancel
    was stored. Its latency is printed; the cap is generous (the poll is 1 s)."""
    gate = asyncio.Event()  # never opened: the first picture hangs until cancelled
    illustrator, narrator = FakeIllustrator(gate=gate), FakeNarrator()
    providers = fake_providers(illustrator=illustrator, narrator=narrator)
    calls: list[float] = []

    class Timed(FakeIllustrator):
        async def draw(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(time.monotonic())
            return await illustrator.draw(*args, **kwargs)

    providers.illustrator = Timed()
    async with storybot(providers, cancel_poll_s=1.0) as bot:
        job = await bot.service.submit_story(StoryRequest(theme="x", scenes=3), user(1))
        await wait_until(lambda: illustrator.prompts, what="the first picture to hang")
        await wait_until(lambda: len(narrator.texts) == 3, what="every narration")
        assert await bot.store.request_cancel(job.id)
        stored_at = time.monotonic()

        async def ended() -> Job | None:
            current = await bot.service.get(job.id)
            return current if current.status.finished else None

        final = await wait_until(ended, timeout=10, what="the job to end")
        latency = time.monotonic() - stored_at
    print(f"cancel observed {latency * 1000:.0f} ms after it was stored")  # noqa: T201
    assert final.status is JobStatus.CANCELLED
    assert [t for t in calls if t > stored_at] == []
    assert len(illustrator.prompts) == 1  # scenes 2 and 3 wait for scene 1: never asked for
    assert latency < 10
