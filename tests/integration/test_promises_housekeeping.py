"""README, "What survives a restart" → Disk: finished videos are kept `STORYBOT_KEEP_HOURS`,
then removed by the service's own periodic housekeeping — nobody calls a cleanup by hand.

Seen from the HTTP API as a user sees it: the MP4 downloads while it is fresh, and once it is
older than the keep time the download answers 410 and the job's folder is gone from disk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite
import httpx
import pytest

from bot.http_api import HttpApi
from core.config import Settings

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot, WaitUntil

TOKEN = "promises-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SWEEP_S = 0.1  # the service's housekeeping interval here (600 s in production)


@dataclass
class Service:
    client: httpx.AsyncClient
    settings: Settings


@asynccontextmanager
async def service(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Service]:
    """The core and the HTTP API as `storybot run` composes them (fake providers), with the
    keep time and disk budget of the settings (their defaults) and a short housekeeping
    interval."""
    monkeypatch.setenv("STORYBOT_HTTP_PORT", "0")
    monkeypatch.setenv("STORYBOT_HTTP_TOKENS", TOKEN)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    limits = {
        "keep_hours": settings.keep_hours, "disk_budget_mb": settings.disk_budget_mb,
        "sweep_interval_s": SWEEP_S,
    }  # fmt: skip
    async with AsyncExitStack() as stack:
        bot = await stack.enter_async_context(storybot(settings=settings, **limits))
        http = await stack.enter_async_context(HttpApi(bot.service, settings))
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{http.port}", headers=AUTH, timeout=30)
        )
        yield Service(client, settings)


async def ended_at(database: Path, job_id: str, when: datetime) -> None:
    """Time going by for one job: its end recorded at `when` (the clock of the store, not of
    the test). Nothing in StoryBot moves a job's end, so the store has no method for it: the
    one column is written as a clock that far behind would have written it."""
    async with aiosqlite.connect(database) as db:
        await db.execute(
            "UPDATE jobs SET completed_at = ? WHERE id = ?", (when.isoformat(), job_id)
        )
        await db.commit()


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


async def test_old_outputs_are_removed_by_the_services_own_timer(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """A video older than STORYBOT_KEEP_HOURS (24 h by default) stops downloading (410) and its
    folder leaves the disk on a later sweep of the running service; a fresh one stays."""
    async with service(storybot, monkeypatch) as api:
        old = await story_made(api, wait_until, "a cat")
        fresh = await story_made(api, wait_until, "a dog")
        for job_id in (old, fresh):  # both served while fresh
            download = await api.client.get(f"/api/videos/file/{job_id}/0")
            assert download.status_code == 200
            assert download.content[4:8] == b"ftyp"
        # A day and an hour go by for `old` (the clock of the store, not of the test).
        keep = timedelta(hours=api.settings.keep_hours)
        assert keep == timedelta(hours=24)
        await ended_at(api.settings.database, old, datetime.now(UTC) - keep - timedelta(hours=1))

        async def expired() -> bool:
            response = await api.client.get(f"/api/videos/file/{old}/0")
            return response.status_code == 410

        await wait_until(expired, timeout=60, what="the service's housekeeping to expire it")
        status = (await api.client.get(f"/api/videos/status/{old}")).json()
        still = await api.client.get(f"/api/videos/file/{fresh}/0")
    jobs = api.settings.jobs_dir
    assert not (jobs / old).exists()
    assert status["status"] == "completed"  # the job is kept; its files are not
    assert still.status_code == 200  # the sweep that expired `old` kept the fresh one
    assert (jobs / fresh / "story.mp4").is_file()


async def test_housekeeping_leaves_a_file_outside_the_jobs_folder(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil,
    tmp_path: Path,
) -> None:  # fmt: skip
    """ "Nothing outside the jobs folder is ever removed": an expired job whose output was moved
    out (where the CLI puts it with `--out`) loses its folder, not that file."""
    async with service(storybot, monkeypatch) as api:
        job_id = await story_made(api, wait_until, "a fox")
        mine = tmp_path / "my-story.mp4"
        (api.settings.jobs_dir / job_id / "story.mp4").rename(mine)
        await ended_at(api.settings.database, job_id, datetime.now(UTC) - timedelta(hours=48))
        await wait_until(
            lambda: not (api.settings.jobs_dir / job_id).exists(),
            timeout=60, what="the service's housekeeping to expire the job",
        )  # fmt: skip
    assert mine.read_bytes()[4:8] == b"ftyp"  # still the whole MP4
