"""Workers on other processes over PostgreSQL and procrastinate (real servers on loopback):
`storybot worker` processes run the jobs a front end stores; one killed with SIGKILL has its
job taken over from its checkpoints; cancels and progress cross processes."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from core.config import Settings
from core.errors import StoreUnavailable
from core.models import Delivery, Job, JobStatus, Origin, StoryRequest
from core.progress import JobCancelled, ProgressEvent, StageProgressed, StageStarted
from core.service import JobService
from core.store import JobStore
from tests.gemini_server import FakeGemini
from tests.postgres import stop_server
from tests.processes import serving

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot, WaitUntil

pytestmark = pytest.mark.slow

KEY = "scale-key"
LATENCY = {"story": 0.3, "image": 1.0, "tts": 0.3}


@asynccontextmanager
async def fake_gemini(**latency: float) -> AsyncIterator[FakeGemini]:
    latencies = {**LATENCY, **latency}
    async with FakeGemini(api_key=KEY, latency=latencies, image_scale=0.25) as server:
        yield server


def environment(fake: FakeGemini, url: str, data: Path) -> dict[str, str]:
    """What every process of the deployment shares: the database, the folder, the back end."""
    return {
        "GEMINI_API_KEY": KEY, "GEMINI_BASE_URL": fake.base_url,
        "STORYBOT_DATABASE_URL": url, "STORYBOT_DATA_DIR": str(data),
        "STORYBOT_WORKER_STALL_S": "2", "STORYBOT_MAX_CONCURRENT_JOBS": "2",
        "STORYBOT_LOG_LEVEL": "INFO",
    }  # fmt: skip


def worker(env: dict[str, str], log: Path) -> contextlib.AbstractContextManager[Any]:
    """A `storybot worker` process for the block."""
    return serving(env, log, ["worker"])


async def front_end_jobs(service: JobService, count: int, scenes: int = 2) -> list[Job]:
    return [
        await service.submit_story(
            StoryRequest(theme=f"a fox number {n}", scenes=scenes), Origin("telegram", f"u{n}")
        )
        for n in range(count)
    ]


async def test_a_killed_worker_s_job_is_taken_over_and_delivered_once(
    storybot: OpenStoryBot,
    wait_until: WaitUntil,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A front end (this process) and two `storybot worker` processes. The first worker is
    killed with SIGKILL while it draws a job's pictures: the second takes the job over once
    the heartbeat is missed, every job completes and is delivered exactly once, and the fake
    saw each story written once (the killed job's story was checkpointed)."""
    data = tmp_path / "shared"
    async with fake_gemini() as fake:
        env = environment(fake, postgres_url, data)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        delivered: Counter[str] = Counter()

        async def deliver(job: Job) -> None:
            delivered[job.id] += 1

        async with storybot(settings=Settings(), work=False) as front:
            front.service.deliver_with("telegram", deliver)
            with worker(env, tmp_path / "first.log") as first:
                jobs = await front_end_jobs(front.service, 3)
                await wait_until(
                    lambda: _drawing(front.store, jobs), timeout=90, what="a job at its pictures"
                )
                with worker(env, tmp_path / "second.log"):
                    first.send_signal(signal.SIGKILL)
                    first.wait()
                    await wait_until(
                        lambda: _all_delivered(front.store, jobs), timeout=120,
                        what="every job delivered",
                    )  # fmt: skip
        assert sorted(delivered.values()) == [1, 1, 1]
        assert len(fake.calls("story")) == 3
    taken_over = [j for j in jobs if (tmp_path / "second.log").read_text().count(j.id)]
    assert taken_over, "the second worker ran none of the jobs"


async def _drawing(store: JobStore, jobs: list[Job]) -> bool:
    for job in jobs:
        current = await store.get(job.id)
        if current.status is JobStatus.GENERATING and "pictures" in current.message:
            return True
    return False


async def _all_delivered(store: JobStore, jobs: list[Job]) -> bool:
    for job in jobs:
        current = await store.get(job.id)
        if current.delivery is not Delivery.DELIVERED:
            return False
    return True


async def test_cancel_and_progress_cross_processes(
    storybot: OpenStoryBot,
    wait_until: WaitUntil,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A front end follows a job a worker process runs (its progress arrives through the
    database), cancels it, and the job ends `cancelled` with no provider call started after
    the cancel was stored."""
    data = tmp_path / "shared"
    async with fake_gemini(image=4.0) as fake:  # a wide window with no call due
        env = environment(fake, postgres_url, data)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        async with storybot(settings=Settings(), work=False) as front:
            with worker(env, tmp_path / "worker.log"):
                (job,) = await front_end_jobs(front.service, 1, scenes=4)
                events: list[ProgressEvent] = []

                async def follow() -> None:  # its progress comes through the database
                    async for event in front.service.subscribe(job.id):
                        events.append(event)

                follower = asyncio.create_task(follow())
                # Picture 1 is being drawn (4 s) and the narrations have started: no other
                # call is due until picture 1 is back, so any later call came after the cancel.
                await wait_until(lambda: fake.calls("image") and len(fake.calls("tts")) == 4)
                before_cancel = len(fake.requests)
                cancelled = await front.service.cancel(job.id)  # returns once it has stopped
                await asyncio.wait_for(follower, timeout=30)
        assert cancelled.status is JobStatus.CANCELLED
        assert [r.kind for r in fake.requests[before_cancel:]] == []
    assert any(isinstance(e, StageStarted | StageProgressed) for e in events)
    assert isinstance(events[-1], JobCancelled)


async def test_a_database_that_goes_away_and_comes_back_loses_no_job(
    storybot: OpenStoryBot,
    wait_until: WaitUntil,
    own_postgres_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database stops while a worker draws a job's pictures, then starts again: a user
    asking meanwhile is told to try again, the worker and the front end wait and reconnect,
    the job resumes from its checkpoints, completes and is delivered exactly once, its story
    written once."""
    server = own_postgres_server
    url = server.get_uri()
    async with fake_gemini() as fake:
        env = environment(fake, url, tmp_path / "shared")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        delivered: Counter[str] = Counter()

        async def deliver(job: Job) -> None:
            delivered[job.id] += 1

        async with storybot(settings=Settings(), work=False, outbox_poll_s=1.0) as front:
            front.service.deliver_with("telegram", deliver)
            log = tmp_path / "worker.log"
            with worker(env, log):
                (job,) = await front_end_jobs(front.service, 1, scenes=3)
                await wait_until(lambda: fake.calls("image"), timeout=60, what="a picture")
                await asyncio.to_thread(stop_server, server)
                with pytest.raises(StoreUnavailable, match="try again in a minute"):
                    await front_end_jobs(front.service, 1)  # a user meanwhile: told to wait
                # Down until the worker's next write has failed and it waits for the database.
                await wait_until(
                    lambda: "went away" in log.read_text(), timeout=60, what="a failed write"
                )
                await asyncio.to_thread(server.ensure_postgres_running)
                await wait_until(lambda: delivered[job.id], timeout=120, what="the delivery")
                final = await front.service.get(job.id)
    assert final.status is JobStatus.COMPLETED
    assert delivered == {job.id: 1}
    assert len(fake.calls("story")) == 1


async def test_an_http_front_end_and_a_worker_in_separate_processes(
    wait_until: WaitUntil, postgres_url: str, tmp_path: Path
) -> None:
    """`storybot run --no-worker` (the HTTP API alone) and `storybot worker`, sharing only the
    database and the folder: a story asked over HTTP is made by the worker, its status read
    and its MP4 downloaded from the front end."""
    token = "scale-token-0123456789abcdef"
    async with fake_gemini() as fake:
        env = environment(fake, postgres_url, tmp_path / "shared")
        front_env = {**env, "STORYBOT_HTTP_PORT": "0", "STORYBOT_HTTP_TOKENS": token}
        front_log = tmp_path / "front.log"
        with (
            worker(env, tmp_path / "worker.log"),
            serving(front_env, front_log, ["run", "--no-worker"]),
        ):
            found = await wait_until(
                lambda: re.search(r"HTTP API on (http://[\d.]+:\d+)", front_log.read_text()),
                timeout=60, what="the HTTP API",
            )  # fmt: skip
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=found.group(1), headers=headers) as client:
                accepted = await client.post(
                    "/api/stories/generate", json={"theme": "a fox in the snow", "scenes": 2}
                )
                assert accepted.status_code == 202, accepted.text
                job_id = accepted.json()["job_id"]

                async def status() -> str | None:
                    body = (await client.get(f"/api/videos/status/{job_id}")).json()
                    return body["status"] if body["status"] in ("completed", "failed") else None

                assert await wait_until(status, timeout=120, what="the job") == "completed"
                video = await client.get(f"/api/videos/file/{job_id}/0")
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"
    assert "Starting job" in (tmp_path / "worker.log").read_text()  # the worker ran it
    assert "Starting job" not in front_log.read_text()  # the front end ran no job
