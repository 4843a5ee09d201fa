"""README, "What survives a restart" → Disk: finished videos are kept `STORYBOT_KEEP_HOURS`,
then removed by the runner's own periodic housekeeping — nobody calls a cleanup by hand.

Seen from the HTTP API as a user sees it: the MP4 downloads while it is fresh, and once it is
older than the keep time the download answers 410 and the job's folder is gone from disk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from bot.http_api import HttpApi
from core.config import Settings
from core.jobs import JobStore, open_job_store
from core.pipeline import Pipeline
from core.runner import JobRunner, RunnerLimits
from tests.fakes import fake_providers

if TYPE_CHECKING:
    from tests.conftest import WaitUntil

TOKEN = "promises-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SWEEP_S = 0.1  # the runner's housekeeping interval here (600 s in production)


@dataclass
class Service:
    client: httpx.AsyncClient
    store: JobStore
    settings: Settings


@asynccontextmanager
async def service(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Service]:
    """The runner and the HTTP API as `storybot run` composes them (fake providers), with the
    default keep time of the settings and a short housekeeping interval."""
    monkeypatch.setenv("STORYBOT_HTTP_PORT", "0")
    monkeypatch.setenv("STORYBOT_HTTP_TOKENS", TOKEN)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    limits = replace(RunnerLimits.from_settings(settings), sweep_interval_s=SWEEP_S)
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(open_job_store(settings.database))
        runner = await stack.enter_async_context(
            JobRunner(store, Pipeline(fake_providers()), settings.jobs_dir, limits)
        )
        http = await stack.enter_async_context(HttpApi(runner, settings))
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{http.port}", headers=AUTH, timeout=30)
        )
        yield Service(client, store, settings)


async def story_made(api: Service, wait_until: WaitUntil, theme: str) -> str:
    """Ask for a one-scene story and wait until the API reports it completed."""
    body = {"theme": theme, "scenes": 1}
    accepted = await api.client.post("/api/stories/generate", json=body)
    assert accepted.status_code == 202, accepted.text
    job_id: str = accepted.json()["job_id"]

    async def completed() -> Any:
        status = (await api.client.get(f"/api/videos/status/{job_id}")).json()
        assert status["status"] not in ("failed", "cancelled"), status
        return status["status"] == "completed"

    await wait_until(completed, timeout=120, interval=0.1, what=f"job {job_id} to complete")
    return job_id


async def test_old_outputs_are_removed_by_the_runners_own_timer(
    monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """A video older than STORYBOT_KEEP_HOURS (24 h by default) stops downloading (410) and its
    folder leaves the disk on a later sweep of the running service; a fresh one stays."""
    async with service(monkeypatch) as api:
        old = await story_made(api, wait_until, "a cat")
        fresh = await story_made(api, wait_until, "a dog")
        for job_id in (old, fresh):  # both served while fresh
            download = await api.client.get(f"/api/videos/file/{job_id}/0")
            assert download.status_code == 200
            assert download.content[4:8] == b"ftyp"
        # A day and an hour go by for `old` (the clock of the store, not of the test).
        keep = timedelta(hours=api.settings.keep_hours)
        assert keep == timedelta(hours=24)
        await api.store.update(old, completed_at=datetime.now(UTC) - keep - timedelta(hours=1))

        async def expired() -> bool:
            response = await api.client.get(f"/api/videos/file/{old}/0")
            return response.status_code == 410

        await wait_until(expired, timeout=60, what="the runner's housekeeping to expire it")
        status = (await api.client.get(f"/api/videos/status/{old}")).json()
        still = await api.client.get(f"/api/videos/file/{fresh}/0")
    jobs = api.settings.jobs_dir
    assert not (jobs / old).exists()
    assert status["status"] == "completed"  # the job is kept; its files are not
    assert still.status_code == 200  # the sweep that expired `old` kept the fresh one
    assert (jobs / fresh / "story.mp4").is_file()


async def test_housekeeping_leaves_a_file_outside_the_jobs_folder(
    monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil, tmp_path: Path
) -> None:
    """ "Nothing outside the jobs folder is ever removed": an expired job whose output was moved
    out (as the CLI does with `--out`) loses its folder, not that file."""
    async with service(monkeypatch) as api:
        job_id = await story_made(api, wait_until, "a fox")
        job = await api.store.get(job_id)
        mine = tmp_path / "my-story.mp4"
        (api.settings.jobs_dir / job_id / "story.mp4").rename(mine)
        kept = tuple(mine if p.name == "story.mp4" else p for p in job.outputs)
        await api.store.update(
            job_id, outputs=kept, completed_at=datetime.now(UTC) - timedelta(hours=48)
        )
        await wait_until(
            lambda: not (api.settings.jobs_dir / job_id).exists(),
            timeout=60, what="the runner's housekeeping to expire the job",
        )  # fmt: skip
    assert mine.read_bytes()[4:8] == b"ftyp"  # still the whole MP4
