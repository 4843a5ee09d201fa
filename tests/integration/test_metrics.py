"""Prometheus metrics: `GET /metrics` on the HTTP API (real uvicorn on 127.0.0.1) and on
`STORYBOT_METRICS_PORT` for a process without it (`storybot worker`), read with the
Prometheus text parser; the counters move with the jobs, deliveries and provider calls, and
both endpoints are protected like the API (tokens, or loopback without them)."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.cli import main
from bot.http_api import HttpApi
from bot.metrics_server import serve_metrics
from core.config import Settings
from core.errors import AttemptFailed, ConfigurationError
from core.models import Delivery, Job, JobId, Origin, StoryRequest
from core.providers import Providers
from core.service import JobService
from tests.fakes import FakeAnimator, FakeIllustrator, FakeNarrator, fake_providers
from tests.processes import serving
from tests.service_helpers import delivery_is

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot, WaitUntil

TOKEN = "metrics-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FINISHED = ("completed", "failed", "cancelled")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, by name and labels (the parser raises on bad text)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 for a series not there yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


@asynccontextmanager
async def api(
    storybot: OpenStoryBot,
    monkeypatch: pytest.MonkeyPatch,
    providers: Providers | None = None,
    **limits: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP API over a core with `providers` (fakes by default), on a free port, with a
    token; a client on it."""
    monkeypatch.setenv("STORYBOT_HTTP_PORT", "0")
    monkeypatch.setenv("STORYBOT_HTTP_TOKENS", TOKEN)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with AsyncExitStack() as stack:
        bot = await stack.enter_async_context(storybot(providers, settings=settings, **limits))
        http = await stack.enter_async_context(HttpApi(bot.service, settings))
        url = f"http://127.0.0.1:{http.port}"
        yield await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))


async def story(client: httpx.AsyncClient, theme: str = "a cat and a dog") -> str:
    body = {"theme": theme, "scenes": 1, "aspect_ratio": "1:1"}
    response = await client.post("/api/stories/generate", json=body, headers=AUTH)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


async def status(client: httpx.AsyncClient, job_id: str) -> str:
    response = await client.get(f"/api/videos/status/{job_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    job_status: str = response.json()["status"]
    return job_status


async def ended(client: httpx.AsyncClient, job_id: str, wait_until: WaitUntil) -> str:
    async def finished() -> str | None:
        current = await status(client, job_id)
        return current if current in FINISHED else None

    result: str = await wait_until(finished, timeout=120, what=f"job {job_id} to end")
    return result


# ------------------------------------------------------------------------ the HTTP API


async def test_metrics_parse_and_count_jobs_stages_and_provider_calls(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """Two stories over HTTP, the first failing (its narrator is down once), and a video job:
    /metrics parses with the Prometheus text parser, and jobs submitted, completed and failed
    (by kind and front end), stage durations, provider calls and errors (by role and error
    class) move by exactly what happened; the queue depth is there."""
    illustrator = FakeIllustrator()
    providers = fake_providers(
        illustrator=illustrator, narrator=FakeNarrator(fail_first=1), animator=FakeAnimator()
    )
    async with api(storybot, monkeypatch, providers, step_retries=0) as client:
        before = await scrape(client)
        failed = await story(client)
        assert await ended(client, failed, wait_until) == "failed"
        completed = await story(client, "a fox and an owl")
        assert await ended(client, completed, wait_until) == "completed"
        body = {"prompt": "a kitten chasing a leaf", "duration_seconds": 4}
        response = await client.post("/api/videos/generate", json=body, headers=AUTH)
        assert response.status_code == 202, response.text
        assert await ended(client, response.json()["job_id"], wait_until) == "completed"
        after = await scrape(client)
    job = {"kind": "story", "front_end": "http"}
    assert moved(before, after, "storybot_jobs_submitted_total", **job) == 2
    assert moved(before, after, "storybot_jobs_completed_total", **job) == 1
    assert moved(before, after, "storybot_jobs_failed_total", **job) == 1
    assert moved(before, after, "storybot_jobs_cancelled_total", **job) == 0
    video = {"kind": "video", "front_end": "http"}
    assert moved(before, after, "storybot_jobs_submitted_total", **video) == 1
    assert moved(before, after, "storybot_jobs_completed_total", **video) == 1
    assert moved(before, after, "storybot_provider_calls_total", role="story") == 2
    assert moved(before, after, "storybot_provider_calls_total", role="tts") == 2
    drawn = len(illustrator.prompts)
    assert moved(before, after, "storybot_provider_calls_total", role="image") == drawn
    error = {"role": "tts", "error": "ProviderUnavailable"}
    assert moved(before, after, "storybot_provider_errors_total", **error) == 1
    assert moved(before, after, "storybot_provider_calls_total", role="video") == 2  # start, wait
    stage = "storybot_stage_duration_seconds_count"
    assert moved(before, after, stage, stage="story") == 2  # both jobs wrote their story
    assert moved(before, after, stage, stage="narration") == 1  # the first one's failed
    assert moved(before, after, stage, stage="assembly") == 1
    assert moved(before, after, stage, stage="video") == 1  # a video job's one stage
    assert moved(before, after, "storybot_stage_duration_seconds_sum", stage="assembly") > 0
    inf = {"stage": "assembly", "le": "+Inf"}
    assert moved(before, after, "storybot_stage_duration_seconds_bucket", **inf) == 1
    assert value(after, "storybot_queue_depth") == 0
    assert value(after, "storybot_process_resident_memory_bytes") > 0


async def test_cancelled_jobs_and_the_queue_depth(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """One job slot, its job held at its picture: the second job waits (queue depth 1 at the
    scrape); both are cancelled, the waiting one and the running one, and counted."""
    gate = asyncio.Event()
    providers = fake_providers(illustrator=FakeIllustrator(gate=gate))
    limits = {"max_concurrent_jobs": 1, "user_jobs_in_flight": 2}
    async with api(storybot, monkeypatch, providers, **limits) as client:
        before = await scrape(client)
        running = await story(client)
        waiting = await story(client, "a fox and an owl")
        await wait_until(
            lambda: _is(client, running, "generating"), what="the first job at its picture"
        )
        queued = await scrape(client)
        for job_id in (waiting, running):
            assert (await client.delete(f"/api/videos/{job_id}", headers=AUTH)).status_code == 200
            assert await ended(client, job_id, wait_until) == "cancelled"
        gate.set()
        after = await scrape(client)
    assert value(queued, "storybot_queue_depth") == 1
    assert value(after, "storybot_queue_depth") == 0
    job = {"kind": "story", "front_end": "http"}
    assert moved(before, after, "storybot_jobs_submitted_total", **job) == 2
    assert moved(before, after, "storybot_jobs_cancelled_total", **job) == 2
    assert moved(before, after, "storybot_jobs_completed_total", **job) == 0


async def _is(client: httpx.AsyncClient, job_id: str, wanted: str) -> bool:
    return await status(client, job_id) == wanted


async def test_deliveries_failures_and_bytes_uploaded_by_platform(
    storybot: OpenStoryBot, wait_until: WaitUntil
) -> None:
    """A chat front end's delivery fails its first try and then uploads the video the core
    fitted for it: one delivery, one failure and exactly the video's bytes, by platform."""
    uploaded: list[Path] = []
    tries = 0

    async with storybot(delivery_retry_delay_s=0.01) as bot:
        jobs = bot.service

        async def deliver(job: Job) -> None:
            nonlocal tries
            tries += 1
            if tries == 1:
                raise AttemptFailed("the chat did not answer", error="TimedOut")
            uploaded.extend(await jobs.videos(job, 50 * 1024 * 1024))  # fitted to the limit

        jobs.deliver_with("telegram", deliver)
        before = parse((await jobs.metrics_text()).decode())
        job = await jobs.submit_story(
            StoryRequest(theme="a cat", scenes=1), Origin("telegram", "u")
        )
        await wait_until(
            lambda: delivery_is(bot.store, job.id, Delivery.DELIVERED), what="the delivery"
        )
        after = parse((await jobs.metrics_text()).decode())
        (video,) = uploaded
        size = (await asyncio.to_thread(video.stat)).st_size
    assert tries == 2
    assert moved(before, after, "storybot_deliveries_total", platform="telegram") == 1
    assert moved(before, after, "storybot_delivery_failures_total", platform="telegram") == 1
    assert moved(before, after, "storybot_uploaded_bytes_total", platform="telegram") == size
    job_labels = {"kind": "story", "front_end": "telegram"}
    assert moved(before, after, "storybot_jobs_completed_total", **job_labels) == 1


async def test_metrics_need_a_token_or_a_loopback_caller(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With tokens, /metrics answers 401 without one or with a wrong one; without tokens it
    serves loopback callers. It is not in the OpenAPI document."""
    async with api(storybot, monkeypatch, work=False) as client:
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 24})
        document = (await client.get("/openapi.json")).json()
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json() == {"error": "a valid bearer token is needed"}
    assert "/metrics" not in document["paths"]
    monkeypatch.delenv("STORYBOT_HTTP_TOKENS")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with (
        storybot(settings=settings, work=False) as bot,
        HttpApi(bot.service, settings) as http,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{http.port}") as client,
    ):
        local = await client.get("/metrics")
    assert local.status_code == 200
    assert "storybot_jobs_submitted" in local.text


# ------------------------------------------------------------------------ STORYBOT_METRICS_PORT


async def test_the_metrics_port_serves_the_core_s_metrics_with_a_token(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """`STORYBOT_METRICS_PORT=0`: a free port serves /metrics, 401 without the token; its
    counters move with a job the process runs. Unset, there is no server."""
    monkeypatch.setenv("STORYBOT_HTTP_TOKENS", TOKEN)
    unset = Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("STORYBOT_METRICS_PORT", "0")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with (
        storybot(settings=settings) as bot,
        serve_metrics(bot.service, settings) as port,
        serve_metrics(bot.service, unset) as no_port,
    ):
        assert port is not None
        assert no_port is None
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            refused = await client.get("/metrics")
            before = await scrape(client)
            job = await bot.service.submit_story(StoryRequest(theme="a cat"), Origin("cli", "u"))
            await wait_until(lambda: _finished(bot.service, job.id), timeout=120, what="the job")
            after = await scrape(client)
            docs = await client.get("/docs", headers=AUTH)
    assert refused.status_code == 401
    assert docs.status_code == 404  # nothing but /metrics there
    labels = {"kind": "story", "front_end": "cli"}
    assert moved(before, after, "storybot_jobs_submitted_total", **labels) == 1
    assert moved(before, after, "storybot_jobs_completed_total", **labels) == 1


async def _finished(jobs: JobService, job_id: JobId) -> bool:
    return (await jobs.get(job_id)).status.finished


async def test_the_metrics_port_refuses_an_open_host_and_a_taken_port(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A non-loopback host without tokens, or a port in use: `ConfigurationError` at start,
    one line naming the setting."""
    with _taken_port() as port:
        monkeypatch.setenv("STORYBOT_METRICS_PORT", str(port))
        taken = Settings(_env_file=None)  # type: ignore[call-arg]
        monkeypatch.setenv("STORYBOT_HTTP_HOST", "0.0.0.0")
        open_host = Settings(_env_file=None)  # type: ignore[call-arg]
        async with storybot(settings=taken, work=False) as bot:
            with pytest.raises(ConfigurationError, match="STORYBOT_METRICS_PORT") as in_use:
                await serve_metrics(bot.service, taken).__aenter__()
            with pytest.raises(ConfigurationError, match=r"open to anyone on 0\.0\.0\.0"):
                await serve_metrics(bot.service, open_host).__aenter__()
    assert "\n" not in str(in_use.value)


@contextmanager
def _taken_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


# ------------------------------------------------------------------------ `storybot worker`


@pytest.mark.slow
async def test_storybot_worker_serves_its_own_metrics(
    storybot: OpenStoryBot,
    monkeypatch: pytest.MonkeyPatch,
    wait_until: WaitUntil,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    """A `storybot worker` process with STORYBOT_METRICS_PORT=0 logs its metrics address and
    serves /metrics there with the token (401 without): the story a front end (this process)
    submitted is counted completed by the worker that ran it, submitted by the front end."""
    env = {
        "STORYBOT_DATABASE_URL": postgres_url, "STORYBOT_DATA_DIR": str(tmp_path / "shared"),
        "STORYBOT_HTTP_TOKENS": TOKEN, "STORYBOT_METRICS_PORT": "0",
        "STORYBOT_LOG_LEVEL": "INFO",
    }  # fmt: skip
    for name, setting in env.items():
        monkeypatch.setenv(name, setting)
    log = tmp_path / "worker.log"
    async with storybot(settings=Settings(), work=False) as front:
        with serving(env, log, ["worker"]):
            found = await wait_until(
                lambda: re.search(r"metrics on (http://[\d.]+:\d+)/metrics", log.read_text()),
                timeout=60, what="the worker's metrics address",
            )  # fmt: skip
            async with httpx.AsyncClient(base_url=found.group(1), timeout=30) as client:
                assert (await client.get("/metrics")).status_code == 401
                job = await front.service.submit_story(
                    StoryRequest(theme="a fox in the snow", scenes=1), Origin("cli", "u")
                )
                labels = {"kind": "story", "front_end": "cli"}

                async def counted() -> bool:
                    done = await scrape(client)
                    return value(done, "storybot_jobs_completed_total", **labels) == 1

                await wait_until(counted, timeout=120, what="the worker to count the job")
                worker = await scrape(client)
        front_end = parse((await front.service.metrics_text()).decode())
        assert (await front.service.get(job.id)).status.value == "completed"
    assert value(worker, "storybot_jobs_submitted_total", **labels) == 0
    assert value(worker, "storybot_stage_duration_seconds_count", stage="assembly") == 1
    assert value(worker, "storybot_provider_calls_total", role="tts") >= 1
    assert value(front_end, "storybot_jobs_submitted_total", **labels) == 1
    assert value(front_end, "storybot_jobs_completed_total", **labels) == 0


def test_storybot_worker_stops_with_one_line_when_the_metrics_port_is_taken(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`storybot worker` with STORYBOT_METRICS_PORT in use: exit code 2 and one line."""
    monkeypatch.setenv("STORYBOT_DATABASE_URL", postgres_url)
    monkeypatch.setenv("STORYBOT_LOG_LEVEL", "WARNING")  # the start's INFO lines are not errors
    with _taken_port() as port:
        monkeypatch.setenv("STORYBOT_METRICS_PORT", str(port))
        assert main(["worker"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "STORYBOT_METRICS_PORT" in lines[0]
