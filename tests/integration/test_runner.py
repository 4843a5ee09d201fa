"""JobRunner and JobStore on a real SQLite file, with fake providers that count their calls."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.errors import ConfigurationError
from core.jobs import Delivery, Job, JobStatus, JobStore, Origin, open_job_store
from core.models import StoryRequest, StoryVideo
from core.pipeline import Pipeline
from core.progress import (
    JobCancelled,
    JobSucceeded,
    ProgressEvent,
    ProviderWaiting,
    Queued,
    Stage,
    StageStarted,
)  # fmt: skip
from core.providers import Providers
from core.runner import JobRunner, LimitReached, RunnerLimits
from tests.fakes import FakeIllustrator, FakeNarrator, FakeStoryWriter, fake_providers

if TYPE_CHECKING:
    from tests.conftest import WaitUntil

REQUEST = StoryRequest(theme="a cat", scenes=2)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    async with open_job_store(tmp_path / "jobs.db") as opened:
        yield opened


def runner_for(
    store: JobStore, tmp_path: Path, providers: Providers | None = None, **limits: object
) -> JobRunner:
    settings = {"step_retry_delay_s": 0.01, **limits}
    return JobRunner(
        store, Pipeline(providers or fake_providers()), tmp_path / "jobs",
        RunnerLimits(**settings),  # type: ignore[arg-type]
    )  # fmt: skip


def user(n: int, platform: str = "telegram") -> Origin:
    return Origin(platform, f"user{n}", f"chat{n}")


async def collect(runner: JobRunner, job: Job) -> list[ProgressEvent]:
    return [event async for event in runner.subscribe(job.id)]


async def delivery_is(store: JobStore, job_id: str, delivery: Delivery) -> bool:
    return (await store.get(job_id)).delivery is delivery


async def subscribed(runner: JobRunner, job: Job) -> asyncio.Task[list[ProgressEvent]]:
    """A task collecting the job's events, returned once the subscription is in place (its
    first event, the current state, has arrived), so no later event can be missed."""
    events = runner.subscribe(job.id)
    first = await anext(events)

    async def rest() -> list[ProgressEvent]:
        return [first, *[event async for event in events]]

    return asyncio.create_task(rest())


async def test_submit_and_subscribe_see_every_stage(store: JobStore, tmp_path: Path) -> None:
    """Submit returns at once; a subscriber sees the stages in order, then success."""
    async with runner_for(store, tmp_path) as runner:
        job = await runner.submit(REQUEST, user(1, "cli"))
        assert (await runner.get(job.id)).status is JobStatus.PENDING
        events = await collect(runner, job)
    stages = [e.stage for e in events if isinstance(e, StageStarted)]
    assert stages == [Stage.STORY, Stage.PICTURES, Stage.NARRATION, Stage.ASSEMBLY]
    assert isinstance(events[-1], JobSucceeded)
    done = await store.get(job.id)
    assert done.status is JobStatus.COMPLETED
    assert done.delivery is Delivery.DELIVERED  # the CLI's output is the stored file
    assert done.percent == 100
    assert all(path.exists() for path in done.outputs)
    assert done.metadata["duration_s"] == pytest.approx(2 * 1.4, abs=0.01)
    assert set(done.metadata["stage_s"]) >= {"story", "pictures", "narration", "assembly"}
    assert await store.steps(job.id) >= {"story", "picture:1", "picture:2"}
    # Work files are gone; the video, thumbnail, subtitles and story remain.
    assert sorted(p.name for p in (tmp_path / "jobs" / job.id).iterdir()) == [
        "story.jpg", "story.json", "story.mp4", "story.srt",
    ]  # fmt: skip


async def test_late_subscriber_gets_the_current_state_first(
    store: JobStore, tmp_path: Path
) -> None:
    """Subscribing to a finished job yields its final event at once."""
    async with runner_for(store, tmp_path) as runner:
        job = await runner.submit(REQUEST, user(1))
        await collect(runner, job)
        late = await collect(runner, job)
    assert len(late) == 1
    assert isinstance(late[0], JobSucceeded)
    assert late[0].result.duration_s == pytest.approx(2.8, abs=0.01)


async def test_queue_order_and_positions(
    store: JobStore, tmp_path: Path, wait_until: WaitUntil
) -> None:
    """With one job at a time, jobs start in submission order and see their place in line."""
    gate = asyncio.Event()
    writer = FakeStoryWriter()
    illustrator = FakeIllustrator(gate=gate)
    providers = fake_providers(writer=writer, illustrator=illustrator)
    async with runner_for(store, tmp_path, providers, max_concurrent_jobs=1) as runner:
        jobs = [
            await runner.submit(StoryRequest(theme=f"t{i}", scenes=1), user(i)) for i in range(3)
        ]
        await wait_until(lambda: illustrator.prompts, what="the first job to reach its picture")
        assert [runner.queue_position(j.id) for j in jobs] == [None, 1, 2]
        streams = [await subscribed(runner, j) for j in jobs]
        gate.set()
        results = await asyncio.gather(*streams)
    assert [r.theme for r in writer.requests] == ["t0", "t1", "t2"]
    third = [e.position for e in results[2] if isinstance(e, Queued)]
    assert third[:2] == [2, 1]
    assert all(isinstance(r[-1], JobSucceeded) for r in results)


async def test_per_user_limits_and_allow_list(store: JobStore, tmp_path: Path) -> None:
    """In-flight and 24 h limits refuse with the limit and the wait; admins and the CLI bypass."""
    gate = asyncio.Event()
    providers = fake_providers(illustrator=FakeIllustrator(gate=gate))
    async with runner_for(
        store, tmp_path, providers, user_jobs_in_flight=1, user_jobs_per_day=2,
        admin_ids=frozenset({"boss"}), allowed_ids=frozenset({"user1", "chat2", "boss"}),
    ) as runner:  # fmt: skip
        first = await runner.submit(REQUEST, user(1))
        with pytest.raises(LimitReached, match="already have 1 story or video in progress"):
            await runner.submit(REQUEST, user(1))
        with pytest.raises(LimitReached, match="private"):
            await runner.submit(REQUEST, user(3))
        await runner.submit(REQUEST, Origin("telegram", "someone", "chat2"))  # allowed chat
        gate.set()
        await collect(runner, first)
        second = await runner.submit(REQUEST, user(1))
        await collect(runner, second)
        with pytest.raises(
            LimitReached, match=r"2 stories in the last 24 hours.*frees up in 2[34] h"
        ):
            await runner.submit(REQUEST, user(1))
        for _ in range(3):  # admins bypass every limit
            await runner.submit(REQUEST, Origin("telegram", "boss", "x"))
        await runner.submit(REQUEST, Origin("cli", "me"))  # the local user has no limits
    assert await store.count(platform="telegram", user_id="user1") == 2


async def test_animated_stories_have_their_own_daily_limit(
    store: JobStore, tmp_path: Path
) -> None:
    """Animated jobs pay for clips: STORYBOT_ANIMATED_PER_DAY caps them per user per rolling
    24 h (the refusal says when one frees up) while still stories go on; 0 turns them off."""
    async with runner_for(
        store, tmp_path, user_jobs_in_flight=5, user_jobs_per_day=10, animated_per_day=2
    ) as runner:
        animated = REQUEST.model_copy(update={"animate": True})
        for _ in range(2):
            await collect(runner, await runner.submit(animated, user(1)))
        with pytest.raises(
            LimitReached, match=r"2 animated videos in the last 24 hours.*frees up in 2[34] h"
        ):
            await runner.submit(animated, user(1))
        await collect(runner, await runner.submit(REQUEST, user(1)))  # stills are fine
        await collect(runner, await runner.submit(animated, user(2)))  # another user too
    assert await store.count(platform="telegram", user_id="user1", clips=True) == 2
    async with runner_for(store, tmp_path, animated_per_day=0) as runner:
        with pytest.raises(LimitReached, match="turned off"):
            await runner.submit(animated, user(3))


async def test_video_jobs_run_on_the_same_runner_and_share_the_clip_limit(
    store: JobStore, tmp_path: Path
) -> None:
    """A video job (offline animator) keeps one MP4 per video and a thumbnail, is rebuilt for
    late subscribers, and counts toward the same daily limit as animated stories."""
    from core.models import VideoClips, VideoRequest
    from core.providers.offline import OfflineAnimator

    providers = fake_providers()
    providers.animator = OfflineAnimator()
    async with runner_for(
        store, tmp_path, providers, user_jobs_in_flight=5, animated_per_day=2
    ) as runner:
        request = VideoRequest(prompt="a fox in the snow", aspect="9:16", count=2)
        job = await runner.submit_video(request, user(1))
        events = await collect(runner, job)
        result = events[-1].result  # type: ignore[union-attr]
        assert isinstance(result, VideoClips)
        assert [p.name for p in result.videos] == ["video_1.mp4", "video_2.mp4"]
        assert (result.width, result.height) == (720, 1280)
        late = [e async for e in runner.subscribe(job.id)]
        assert late[-1].result == result  # type: ignore[union-attr]
        await collect(
            runner, await runner.submit(REQUEST.model_copy(update={"animate": True}), user(1))
        )
        with pytest.raises(LimitReached, match="2 animated videos in the last 24 hours"):
            await runner.submit_video(request, user(1))
    done = await store.get(job.id)
    assert done.kind.value == "video"
    assert done.subject == "a fox in the snow"
    assert len(done.metadata["file_sizes"]) == 2
    assert sorted(p.name for p in (tmp_path / "jobs" / job.id).iterdir()) == [
        "video.jpg", "video_1.mp4", "video_2.mp4",
    ]  # fmt: skip


async def test_cancel_while_queued(store: JobStore, tmp_path: Path, wait_until: WaitUntil) -> None:
    """A queued job leaves the queue: never runs, never delivered, status cancelled."""
    gate = asyncio.Event()
    writer = FakeStoryWriter()
    delivered: list[str] = []

    async def deliver(job: Job, result: StoryVideo) -> None:
        delivered.append(job.id)

    providers = fake_providers(writer=writer, illustrator=FakeIllustrator(gate=gate))
    async with runner_for(store, tmp_path, providers, max_concurrent_jobs=1) as runner:
        await runner.register_delivery("telegram", deliver)
        running = await runner.submit(StoryRequest(theme="first", scenes=1), user(1))
        queued = await runner.submit(StoryRequest(theme="second", scenes=1), user(2))
        stream = await subscribed(runner, queued)
        cancelled = await runner.cancel(queued.id)
        gate.set()
        await collect(runner, running)
        # The delivery runs in the background after the job's last event.
        await wait_until(lambda: delivered, what="the running job's delivery")
    assert cancelled.status is JobStatus.CANCELLED
    assert isinstance((await stream)[-1], JobCancelled)
    assert [r.theme for r in writer.requests] == ["first"]
    assert delivered == [running.id]
    assert not (tmp_path / "jobs" / queued.id).exists()


async def test_cancel_while_running_stops_provider_calls(
    store: JobStore, tmp_path: Path, wait_until: WaitUntil
) -> None:
    """A running job stops at once: provider call counts stay put, no delivery, files gone."""
    gate = asyncio.Event()
    illustrator, narrator = FakeIllustrator(gate=gate), FakeNarrator()
    delivered: list[str] = []

    async def deliver(job: Job, result: StoryVideo) -> None:
        delivered.append(job.id)

    providers = fake_providers(illustrator=illustrator, narrator=narrator)
    async with runner_for(store, tmp_path, providers) as runner:
        await runner.register_delivery("telegram", deliver)
        job = await runner.submit(StoryRequest(theme="x", scenes=4), user(1))
        stream = await subscribed(runner, job)
        await wait_until(lambda: illustrator.prompts, what="the first picture to be asked for")
        assert (tmp_path / "jobs" / job.id).exists()
        cancelled = await runner.cancel(job.id)
        counts = (len(illustrator.prompts), len(narrator.texts))
        gate.set()
        # A later job runs to the end on the same providers: had the cancelled one gone on
        # once the gate opened, its calls would show up before this one has finished.
        later = await runner.submit(StoryRequest(theme="y", scenes=1), user(2, "cli"))
        await collect(runner, later)
        assert (len(illustrator.prompts), len(narrator.texts)) == (counts[0] + 1, counts[1] + 1)
    assert cancelled.status is JobStatus.CANCELLED
    assert isinstance((await stream)[-1], JobCancelled)
    assert delivered == []
    assert not (tmp_path / "jobs" / job.id).exists()
    assert await store.steps(job.id) == set()


class GatedNarrator(FakeNarrator):
    """A FakeNarrator whose calls wait for `gate` to open."""

    def __init__(self, gate: asyncio.Event, *, fail_first: int = 0) -> None:
        super().__init__(fail_first=fail_first)
        self.gate = gate

    async def speak(self, text: str, *, voice: str | None, language: str):  # type: ignore[no-untyped-def]
        await self.gate.wait()
        return await super().speak(text, voice=voice, language=language)


async def test_transient_failure_is_retried_from_the_checkpoint(
    store: JobStore, tmp_path: Path, wait_until: WaitUntil
) -> None:
    """A step failing transiently is retried by the runner; finished steps are not redone."""
    gate = asyncio.Event()
    writer, illustrator = FakeStoryWriter(), FakeIllustrator()
    narrator = GatedNarrator(gate, fail_first=1)
    providers = fake_providers(writer=writer, illustrator=illustrator, narrator=narrator)
    async with runner_for(store, tmp_path, providers, step_retries=2) as runner:
        job = await runner.submit(StoryRequest(theme="x", scenes=2), user(1))
        stream = await subscribed(runner, job)

        async def pictures_checkpointed() -> bool:
            return {"story", "picture:1", "picture:2"} <= await store.steps(job.id)

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


async def test_permanent_failure_fails_at_once(store: JobStore, tmp_path: Path) -> None:
    """A bad key (or a safety block) is not retried: the job fails with its reason."""

    class BadKeyWriter(FakeStoryWriter):
        async def write(self, request: StoryRequest):  # type: ignore[no-untyped-def]
            self.requests.append(request)
            raise ConfigurationError("the Gemini API key was rejected; check GEMINI_API_KEY")

    writer = BadKeyWriter()
    async with runner_for(
        store, tmp_path, fake_providers(writer=writer), step_retries=3
    ) as runner:
        job = await runner.submit(REQUEST, user(1))
        events = await collect(runner, job)
    assert len(writer.requests) == 1
    failed = await store.get(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.error == "the Gemini API key was rejected; check GEMINI_API_KEY"
    assert events[-1].reason == failed.error  # type: ignore[union-attr]


async def test_delivery_handler_gets_the_output(
    store: JobStore, tmp_path: Path, wait_until: WaitUntil
) -> None:
    """The platform's handler receives the finished job and its files; failures are bounded."""
    received: list[tuple[str, Path]] = []
    attempts = 0

    async def deliver(job: Job, result: StoryVideo) -> None:
        received.append((job.origin.chat_id, result.video))

    async def broken(job: Job, result: StoryVideo) -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("chat not found")

    async with runner_for(store, tmp_path) as runner:
        await runner.register_delivery("telegram", deliver)
        await runner.register_delivery("discord", broken)
        ok = await runner.submit(REQUEST, user(1))
        bad = await runner.submit(REQUEST, user(2, "discord"))
        await collect(runner, ok)
        await collect(runner, bad)
        await wait_until(lambda: delivery_is(store, ok.id, Delivery.DELIVERED))
        await wait_until(lambda: delivery_is(store, bad.id, Delivery.FAILED))
    assert received[0][0] == "chat1"
    assert received[0][1].name == "story.mp4"
    assert (await store.get(ok.id)).delivery is Delivery.DELIVERED
    assert (await store.get(bad.id)).delivery is Delivery.FAILED
    assert attempts == 3


async def test_a_second_process_sees_the_jobs(store: JobStore, tmp_path: Path) -> None:
    """Another process opening the same database (migrating again) reads the same jobs."""
    async with runner_for(store, tmp_path) as runner:
        job = await runner.submit(REQUEST, user(1))
        await collect(runner, job)
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from core.jobs import open_job_store\n"
        "async def main():\n"
        "    async with open_job_store(Path(sys.argv[1])) as s:\n"
        "        j = await s.get(sys.argv[2])\n"
        "        print(j.status.value, len(await s.recent()))\n"
        "asyncio.run(main())\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, str(tmp_path / "jobs.db"), job.id,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert out.decode().split() == ["completed", "1"]
    async with open_job_store(tmp_path / "jobs.db") as again:  # idempotent migrations
        assert (await again.get(job.id)).status is JobStatus.COMPLETED


async def test_finished_job_waits_for_its_front_end(
    store: JobStore, tmp_path: Path, wait_until: WaitUntil
) -> None:
    """A job that finished with no handler registered is delivered once its front end starts."""
    delivered: list[str] = []

    async def deliver(job: Job, result: StoryVideo) -> None:
        delivered.append(job.id)

    async with runner_for(store, tmp_path) as runner:
        job = await runner.submit(REQUEST, user(1))
        await collect(runner, job)
        assert (await store.get(job.id)).delivery is Delivery.PENDING
    async with runner_for(store, tmp_path) as runner:  # a restart
        await runner.register_delivery("telegram", deliver)
        await wait_until(lambda: delivery_is(store, job.id, Delivery.DELIVERED))
    assert delivered == [job.id]
    assert (await store.get(job.id)).delivery is Delivery.DELIVERED


async def test_delivery_attempts_are_bounded_across_restarts(
    store: JobStore, tmp_path: Path, wait_until: WaitUntil
) -> None:
    """A delivery that keeps failing is given up after its attempts, restarts included."""
    attempts = 0

    async def broken(job: Job, result: StoryVideo) -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("Forbidden: bot was blocked by the user")

    async with runner_for(store, tmp_path, delivery_retry_delay_s=0.01) as runner:
        job = await runner.submit(REQUEST, user(1))
        await collect(runner, job)
    await store.update(job.id, delivery=Delivery.DELIVERING, delivery_attempts=2)  # crashed
    async with runner_for(store, tmp_path, delivery_retry_delay_s=0.01) as runner:
        await runner.register_delivery("telegram", broken)
        await wait_until(lambda: delivery_is(store, job.id, Delivery.FAILED))
    assert attempts == 1  # only the third and last attempt was left
    assert (await store.get(job.id)).delivery is Delivery.FAILED
