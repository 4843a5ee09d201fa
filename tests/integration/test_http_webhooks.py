"""Webhooks of HTTP jobs: signed, retried by the outbox and recorded there, shown in the job's
status, given up after their attempts, and taken up again after a restart. A loopback aiohttp
server receives them; the core runs as `storybot run` builds it, on this test's data folder."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from bot.http_api import token_id
from bot.webhooks import SIGNATURE_HEADER, WebhookSender
from core.config import Settings
from core.errors import ContentRejected
from core.models import (
    WEBHOOK,
    ClipRequest,
    Delivery,
    DeliveryAttempt,
    Job,
    JobStatus,
    Origin,
    VideoRequest,
)
from core.service import JobService
from tests.fakes import FakeAnimator, fake_providers
from tests.http_client import SECRET, TOKEN_A, A, running_api, submit_video

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot, WaitUntil

REFUSED = "a prompt the model refuses"
# Jobs of these tests: video jobs, up to three per user.
LIMITS = {"user_jobs_in_flight": 3, "animated_per_day": 10}


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that answers 500 to its first `failures` calls."""

    failures: int = 0
    calls: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    accepted: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append((await request.read(), dict(request.headers)))
        if len(self.calls) <= self.failures:
            return web.Response(status=500)
        self.accepted.set()
        return web.Response(status=204)


@asynccontextmanager
async def receiver(failures: int = 0) -> AsyncIterator[tuple[Receiver, str]]:
    hooks = Receiver(failures)
    app = web.Application()
    app.router.add_post("/hook", hooks.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield hooks, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    finally:
        await runner.cleanup()


def signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


class RefusingAnimator(FakeAnimator):
    """Refuses the REFUSED prompt at once (a permanent failure); animates any other."""

    async def start(self, request: ClipRequest) -> str:
        if request.prompt == REFUSED:
            raise ContentRejected("the model refused")
        return await super().start(request)


def settings_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


async def ended(jobs: JobService, job: Job) -> Job:
    """The job once it has ended (its outbox rows, if any, are written with its end)."""
    async for _ in jobs.subscribe(job.id):
        pass
    return await jobs.get(job.id)


async def test_webhook_is_signed_retried_after_a_500_and_recorded(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """A job's own webhook_url gets the seed's payload, signed over the raw body; the first
    answer is a 500, so it is sent again; both attempts are recorded with the job."""
    async with (
        receiver(failures=1) as (hooks, url),
        running_api(
            storybot,
            monkeypatch,
            env={"STORYBOT_WEBHOOK_SECRET": SECRET, "STORYBOT_ENVIRONMENT": "staging"},
        ) as api,
    ):
        job_id = (await submit_video(api, A, webhook_url=f"{url}?job=1"))["job_id"]
        await asyncio.wait_for(hooks.accepted.wait(), timeout=120)

        async def recorded_as_delivered() -> Any:  # right after the receiver's answer
            status = (await api.client.get(f"/api/videos/status/{job_id}", headers=A)).json()
            return status if status["webhook"] and status["webhook"]["delivered"] else None

        status = await wait_until(recorded_as_delivered, what="the accepted attempt's record")
        stored = await api.jobs.delivery(job_id, WEBHOOK)
    assert len(hooks.calls) == 2
    (first, first_headers), (body, headers) = hooks.calls
    assert first == body  # the same bytes, the same signature
    assert headers[SIGNATURE_HEADER] == first_headers[SIGNATURE_HEADER] == signature(body)
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert set(sent) >= {"job_id", "status", "content_type", "timestamp", "has_data", "data"}
    assert (sent["job_id"], sent["status"], sent["content_type"]) == (job_id, "completed", "video")
    assert sent["has_data"] is True
    assert sent["environment"] == "staging"  # STORYBOT_ENVIRONMENT (default: production)
    assert sent["data"]["success"] is True
    assert sent["data"]["num_videos"] == 1
    assert sent["data"]["prompt"] == "a kitten chasing a leaf"
    assert sent["data"]["videos"][0]["file_url"] == f"{api.url}/api/videos/file/{job_id}/0"
    assert sent["data"]["metadata"]["model_name"] == "offline camera move"
    attempts = status["webhook"]["attempts"]
    assert [a.get("status") for a in attempts] == [500, 204]
    assert stored is not None
    assert stored.state is Delivery.DELIVERED
    assert [a.status for a in stored.attempts] == [500, 204]
    assert SECRET not in json.dumps(status)
    assert SECRET not in body.decode()


async def test_webhook_of_a_failed_job_goes_to_the_default_url_and_gives_up(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """A failed HTTP job is reported to STORYBOT_WEBHOOK_URL without data; a receiver that
    keeps failing gets the set number of attempts, each recorded; a cancelled HTTP job and a
    failed chat job send nothing."""
    gate = asyncio.Event()  # never opened: the cancelled job's clip waits until cancelled
    animator = RefusingAnimator(gate=gate)
    providers = fake_providers(animator=animator)
    async with (
        receiver(failures=99) as (hooks, url),
        WebhookSender(default_url=url, attempts=3, first_delay_s=0.01) as sender,
        storybot(
            providers, settings=settings_with(monkeypatch, STORYBOT_WEBHOOK_URL=url), **LIMITS
        ) as bot,
    ):
        jobs = bot.service
        jobs.deliver_with(WEBHOOK, sender.send, sender.policy)
        refused = VideoRequest(prompt=REFUSED)
        failed = await jobs.submit_video(refused, Origin("http", token_id(TOKEN_A)))
        running = await jobs.submit_video(VideoRequest(prompt="a kitten"), Origin("http", "local"))
        chat = await jobs.submit_video(refused, Origin("telegram", "1", "1"))
        assert (await ended(jobs, failed)).status is JobStatus.FAILED
        assert (await ended(jobs, chat)).status is JobStatus.FAILED
        await wait_until(lambda: animator.started, what="the kitten's clip to be started")
        assert (await jobs.cancel(running.id)).status is JobStatus.CANCELLED

        async def given_up() -> Any:
            record = await jobs.delivery(failed.id, WEBHOOK)
            return record if record is not None and record.state is Delivery.FAILED else None

        recorded = await wait_until(given_up, what="the webhook to be given up")
        others = [await jobs.delivery(job.id, WEBHOOK) for job in (running, chat)]
    assert len(hooks.calls) == 3
    sent = json.loads(hooks.calls[0][0])
    assert sent["job_id"] == failed.id
    assert (sent["status"], sent["has_data"], sent["data"]) == ("failed", False, None)
    assert sent["error"] == "the model refused"
    assert sent["environment"] == "production"
    assert SIGNATURE_HEADER not in hooks.calls[0][1]  # no secret configured: unsigned
    assert [a.status for a in recorded.attempts] == [500, 500, 500]
    assert others == [None, None]  # no webhook was due for them


async def test_a_restart_goes_on_with_webhooks_a_shutdown_cut_short(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """A webhook that had failed once before the process stopped is sent again at the next
    start, within the attempts left; a delivered one, and a job no webhook was due for (it
    ended before a default URL was set), are left alone."""
    providers = fake_providers(animator=RefusingAnimator())
    request = VideoRequest(prompt=REFUSED)
    async with receiver() as (hooks, url):
        hook = {"webhook_url": url}
        async with storybot(providers, settings=settings_with(monkeypatch), **LIMITS) as bot:
            cut_short, delivered, never = [
                await ended(bot.service, await bot.service.submit_video(request, origin))
                for origin in (
                    Origin("http", "local", extra=hook), Origin("http", "local", extra=hook),
                    Origin("http", "local"),
                )
            ]  # fmt: skip
            # What the outbox holds when a shutdown cut the first job's webhook short after
            # one failed try, and the second's after its one successful try.
            at = datetime(2026, 11, 22, tzinfo=UTC)
            for job, state, status in ((cut_short, Delivery.DELIVERING, 500),
                                       (delivered, Delivery.DELIVERED, 200)):  # fmt: skip
                await bot.store.delivering(job.id, WEBHOOK)
                await bot.store.delivered(job.id, WEBHOOK, state, DeliveryAttempt(at, status))
        settings = settings_with(monkeypatch, STORYBOT_WEBHOOK_URL=url)
        async with (
            WebhookSender(default_url=url, attempts=3, first_delay_s=0.01) as sender,
            storybot(providers, settings=settings, **LIMITS) as bot,
        ):
            bot.service.deliver_with(WEBHOOK, sender.send, sender.policy)

            async def sent_again() -> Any:
                record = await bot.service.delivery(cut_short.id, WEBHOOK)
                return record if record is not None and record.state.settled else None

            recorded = await wait_until(sent_again, what="the cut-short webhook to be sent")
            # Nothing else waits for the webhook: nothing else can be sent.
            assert await bot.store.waiting(WEBHOOK) == []
            assert hooks.accepted.is_set()
            kept = await bot.service.delivery(delivered.id, WEBHOOK)
            none = await bot.service.delivery(never.id, WEBHOOK)
    assert [json.loads(body)["job_id"] for body, _ in hooks.calls] == [cut_short.id]
    assert recorded.state is Delivery.DELIVERED
    assert [a.status for a in recorded.attempts] == [500, 204]
    assert kept is not None
    assert (kept.state, [a.status for a in kept.attempts]) == (Delivery.DELIVERED, [200])
    assert none is None
