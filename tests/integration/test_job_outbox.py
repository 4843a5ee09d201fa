"""The delivery outbox and restarts, as `core.bootstrap` builds them on a real SQLite file:
handlers get finished jobs, tries are bounded across restarts, results read back typed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.models import Delivery, Job, JobStatus
from core.progress import (
    JobSucceeded,
)  # fmt: skip
from tests.service_helpers import REQUEST, collect, delivery_is, reopened, user

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot, WaitUntil


async def test_delivery_handler_gets_the_output(
    storybot: OpenStoryBot, clean_env: Path, wait_until: WaitUntil
) -> None:
    """The platform's handler receives the finished job and its files; failures are bounded."""
    received: list[tuple[str, Path]] = []
    attempts = 0

    async def broken(job: Job) -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("chat not found")

    async with storybot(delivery_retry_delay_s=0.01) as bot:

        async def deliver(job: Job) -> None:
            received.append((job.origin.chat_id, (await bot.service.videos(job))[0]))

        bot.service.deliver_with("telegram", deliver)
        bot.service.deliver_with("discord", broken)
        ok = await bot.service.submit_story(REQUEST, user(1))
        bad = await bot.service.submit_story(REQUEST, user(2, "discord"))
        await collect(bot.service, ok)
        await collect(bot.service, bad)
        await wait_until(lambda: delivery_is(bot.store, ok.id, Delivery.DELIVERED))
        await wait_until(lambda: delivery_is(bot.store, bad.id, Delivery.FAILED))
        record = await bot.service.delivery(bad.id, "discord")
    assert received[0][0] == "chat1"
    assert received[0][1].name == "story.mp4"
    assert received[0][1].is_file()
    assert attempts == 3
    assert record is not None
    assert [a.error for a in record.attempts] == ["RuntimeError"] * 3


async def test_a_second_process_sees_the_jobs(storybot: OpenStoryBot, clean_env: Path) -> None:
    """Another process opening the same database (migrating again) reads the same jobs."""
    async with storybot() as bot:
        job = await bot.service.submit_story(REQUEST, user(1))
        await collect(bot.service, job)
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from core.store import open_job_store\n"
        "async def main():\n"
        "    async with open_job_store(Path(sys.argv[1])) as s:\n"
        "        j = await s.get(sys.argv[2])\n"
        "        print(j.status.value, len(await s.recent()))\n"
        "asyncio.run(main())\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, str(clean_env / "storybot.db"), job.id,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert out.decode().split() == ["completed", "1"]
    async with reopened(clean_env) as again:  # idempotent migrations
        assert (await again.get(job.id)).status is JobStatus.COMPLETED


async def test_finished_job_waits_for_its_front_end(
    storybot: OpenStoryBot, clean_env: Path, wait_until: WaitUntil
) -> None:
    """A job that finished with no handler registered is delivered once its front end starts."""
    delivered: list[str] = []

    async def deliver(job: Job) -> None:
        delivered.append(job.id)

    async with storybot() as bot:
        job = await bot.service.submit_story(REQUEST, user(1))
        await collect(bot.service, job)
        assert (await bot.service.get(job.id)).delivery is Delivery.PENDING
    async with storybot() as bot:  # a restart
        bot.service.deliver_with("telegram", deliver)
        await wait_until(lambda: delivery_is(bot.store, job.id, Delivery.DELIVERED))
    assert delivered == [job.id]


async def test_delivery_attempts_are_bounded_across_restarts(
    storybot: OpenStoryBot, clean_env: Path, wait_until: WaitUntil
) -> None:
    """A delivery that keeps failing is given up after its attempts, restarts included."""
    attempts = 0

    async def broken(job: Job) -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("Forbidden: bot was blocked by the user")

    async with storybot(delivery_retry_delay_s=0.01) as bot:
        job = await bot.service.submit_story(REQUEST, user(1))
        await collect(bot.service, job)
        for _ in range(2):  # two tries started, the process killed during the second
            await bot.store.delivering(job.id, "telegram")
    async with storybot(delivery_retry_delay_s=0.01) as bot:
        bot.service.deliver_with("telegram", broken)
        await wait_until(lambda: delivery_is(bot.store, job.id, Delivery.FAILED))
    assert attempts == 1  # only the third and last attempt was left


async def test_a_result_read_back_after_a_restart_equals_the_one_written(
    storybot: OpenStoryBot, clean_env: Path
) -> None:
    """The typed result is one stored document: after a restart, the job's result (subtitles,
    scene starts and story included) and its late subscribers' success event equal what the
    worker published when it finished."""
    async with storybot() as bot:
        job = await bot.service.submit_story(REQUEST, user(1, "cli"))
        events = await collect(bot.service, job)
    published = events[-1]
    assert isinstance(published, JobSucceeded)
    assert published.result.subtitles == "story.srt"
    async with storybot() as bot:  # a restart: everything read back from the store
        stored = await bot.service.get(job.id)
        late = await collect(bot.service, job)
        subtitles = await bot.service.file(stored, "story.srt")
    assert stored.result == published.result
    assert late == [published]
    assert "Scene number 2." in subtitles.read_text()


async def test_a_settled_delivery_is_never_claimed_again(
    storybot: OpenStoryBot, wait_until: WaitUntil
) -> None:
    """Each try claims the outbox row first: once delivered, a second claim (a consumer woken
    while the first try ended, or another process) gets nothing, so nothing is sent twice."""
    delivered: list[str] = []

    async def deliver(job: Job) -> None:
        delivered.append(job.id)

    async with storybot() as bot:
        bot.service.deliver_with("telegram", deliver)
        job = await bot.service.submit_story(REQUEST, user(1))
        await wait_until(lambda: delivery_is(bot.store, job.id, Delivery.DELIVERED))
        assert await bot.store.delivering(job.id, "telegram") is None
        assert (await bot.service.get(job.id)).delivery is Delivery.DELIVERED
    assert delivered == [job.id]
