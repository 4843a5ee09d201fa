"""The HTTP API as `storybot run` composes it, for the HTTP tests: the core (`core.bootstrap`,
through the `storybot` fixture) with the offline providers, the webhook sender on the outbox,
real uvicorn on 127.0.0.1, and an httpx client; plus what those tests share (tokens, polling a
job to its end, submitting a video, a PNG)."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image

from bot.http_api import HttpApi
from bot.webhooks import WebhookSender
from core.config import Settings
from core.models import WEBHOOK
from core.providers import build_providers
from core.service import JobService
from core.store import JobStore
from core.storyboard import board_consumer

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot

TOKEN_A = "token-a-0123456789abcdef"
TOKEN_B = "token-b-0123456789abcdef"
A = {"Authorization": f"Bearer {TOKEN_A}"}
B = {"Authorization": f"Bearer {TOKEN_B}"}
SECRET = "webhook-secret-42"
FINISHED = ("completed", "failed", "cancelled")


@dataclass
class Api:
    client: httpx.AsyncClient
    url: str
    jobs: JobService
    store: JobStore


@asynccontextmanager
async def running_api(
    storybot: OpenStoryBot,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str] | None = None,
    **limits: Any,
) -> AsyncIterator[Api]:
    """The API as `storybot run` composes it, on a free port, with the offline providers;
    webhooks retry within 0.1 s. `env` adds settings (`STORYBOT_DATA_DIR` for a data folder of
    its own); `limits` are job limits (one job slot per `STORYBOT_MAX_CONCURRENT_JOBS`)."""
    env = {
        "STORYBOT_HTTP_PORT": "0",
        "STORYBOT_HTTP_TOKENS": f"{TOKEN_A}, {TOKEN_B}",
        **(env or {}),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    limits = {
        "user_jobs_in_flight": 4, "animated_per_day": 10,
        "max_concurrent_jobs": settings.max_concurrent_jobs, **limits,
    }  # fmt: skip
    async with AsyncExitStack() as stack:
        # Entered first, as `storybot run` does: it outlives the webhooks the outbox still runs.
        webhooks = await stack.enter_async_context(
            WebhookSender(
                default_url=str(settings.webhook_url) if settings.webhook_url else None,
                secret=secret, environment=settings.environment, first_delay_s=0.05,
            )
        )  # fmt: skip
        bot = await stack.enter_async_context(
            storybot(build_providers(settings), settings=settings, **limits)
        )
        bot.service.deliver_with(WEBHOOK, webhooks.send, webhooks.policy)
        board = webhooks.storyboards(bot.service)
        bot.service.deliver_with(board_consumer(WEBHOOK), board, webhooks.policy)
        http = await stack.enter_async_context(HttpApi(bot.service, settings))
        url = f"http://127.0.0.1:{http.port}"
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))
        yield Api(client, url, bot.service, bot.store)


async def finished(api: Api, job_id: str, headers: dict[str, str]) -> Any:
    """Poll the status endpoint, as a client would, until the job ends (2 minutes at most)."""
    async with asyncio.timeout(120):
        while True:
            response = await api.client.get(f"/api/videos/status/{job_id}", headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            if body["status"] in FINISHED:
                return body
            await asyncio.sleep(0.2)


async def submit_video(api: Api, headers: dict[str, str], **fields: Any) -> Any:
    """POST a 4-second video job (plus `fields`); its 202 body."""
    body = {"prompt": "a kitten chasing a leaf", "duration_seconds": 4, **fields}
    response = await api.client.post("/api/videos/generate", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


def png(size: tuple[int, int], noise: bool = False) -> bytes:
    """A PNG of `size`: one colour, or random pixels (which do not compress)."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) if noise else None
    image = image or Image.new("RGB", size, (200, 120, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
