"""Shared fixtures: every test runs with a clean environment and its own data folder."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.bootstrap import StoryBot, open_storybot
from core.config import Settings
from core.limits import JobLimits, PipelineLimits
from core.providers import Providers
from tests.fakes import fake_providers
from tests.gemini_server import FakeGemini

pytest_plugins = ["tests.postgres", "tests.s3"]  # postgres_url; s3_server, bucket_url

# What StoryBot reads from the environment, directly (`core/config.py`) or through the libraries
# it drives: google-genai and google-auth (keys, Vertex project, base URLs, ADC files, the GCE
# metadata server), obstore (AWS_* credentials and endpoints; GOOGLE_* for gs:// buckets), the
# chat platforms, proxies and CA bundles (httpx, aiohttp, websockets and
# the SDKs honour them), netrc (httpx adds its credentials), and imageio-ffmpeg's binary.
_PREFIXES = ("STORYBOT_", "GOOGLE_", "GEMINI_", "GCLOUD_", "CLOUDSDK_", "GCE_METADATA_",
             "TELEGRAM_", "DISCORD_", "AWS_")  # fmt: skip
_NAMES = frozenset({
    "NO_GCE_CHECK", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "SSLKEYLOGFILE", "NETRC", "IMAGEIO_FFMPEG_EXE",
})  # fmt: skip


def _read_by_storybot(name: str) -> bool:
    """Whether the variable can change what StoryBot or its clients do (proxies in any case:
    `http_proxy`, `HTTPS_PROXY`, `all_proxy`, `no_proxy`, `wss_proxy`, ...)."""
    upper = name.upper()
    return upper in _NAMES or upper.startswith(_PREFIXES) or upper.endswith("_PROXY")


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if _read_by_storybot(name):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session", autouse=True)
def clean_session_env() -> Iterator[None]:
    """Module- and session-scoped fixtures are set up before any function-scoped one, so the
    environment is cleaned once for the whole session too (restored at its end)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clear(monkeypatch)
        yield


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No real credentials leak in; `.env` of the checkout is not read; data goes to tmp."""
    _clear(monkeypatch)  # again: an earlier test or an import may have set one since
    monkeypatch.chdir(tmp_path)
    # google-auth looks for application default credentials (a developer's `gcloud auth
    # application-default login`) in the gcloud config folder: point it at an empty one.
    gcloud = tmp_path / "gcloud"
    gcloud.mkdir()
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(gcloud))
    # python-telegram-bot 22: time values as timedelta (as `storybot run` sets it), no warning.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    data = tmp_path / "data"
    monkeypatch.setenv("STORYBOT_DATA_DIR", str(data))
    # Videos made through the settings are encoded at 12 fps rather than 24: half the frames,
    # the same code paths (the 24 fps default has tests of its own, e.g. test_end_to_end).
    monkeypatch.setenv("STORYBOT_FPS", "12")
    return data


WaitUntil = Callable[..., Awaitable[Any]]


async def _wait_until(
    condition: Callable[[], object],
    *,
    timeout: float = 30.0,  # noqa: ASYNC109 - a deadline for the whole wait, like pytest's
    interval: float = 0.02,
    what: str = "",
) -> Any:
    """Poll `condition` (a function, or one returning an awaitable) until it gives a truthy
    value, and return that value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
        await asyncio.sleep(interval)


@pytest.fixture
def wait_until() -> WaitUntil:
    """`await wait_until(lambda: ..., timeout=30, what="...")`: wait on a condition, never on
    a fixed sleep (see `_wait_until`)."""
    return _wait_until


OpenStoryBot = Callable[..., contextlib.AbstractAsyncContextManager[StoryBot]]


@pytest.fixture
def storybot(clean_env: Path) -> OpenStoryBot:
    """`async with storybot(providers, **limits) as bot:` — the core as `storybot run` builds
    it (`core.bootstrap`), on this test's data folder, with fake providers unless given, fast
    retries, and `resume` platforms whose unfinished jobs restart with it."""

    @contextlib.asynccontextmanager
    async def opened(
        providers: Providers | None = None,
        *,
        settings: Settings | None = None,
        pipeline: PipelineLimits | None = None,
        resume: frozenset[str] = frozenset(),
        work: bool = True,
        **limits: Any,
    ) -> AsyncIterator[StoryBot]:
        async with open_storybot(
            settings or Settings(),
            providers=providers or fake_providers(),
            pipeline_limits=pipeline,
            limits=JobLimits(**{"step_retry_delay_s": 0.01, **limits}),
            resume_platforms=resume,
            work=work,
        ) as bot:
            yield bot

    return opened


@pytest.fixture
async def gemini(request: pytest.FixtureRequest) -> AsyncIterator[FakeGemini]:
    """The fake Gemini on port 0, with the test module's `KEY` as its API key and its pictures
    drawn at `GEMINI_IMAGE_SCALE` (0.25 unless the module says)."""
    module = request.module
    scale = getattr(module, "GEMINI_IMAGE_SCALE", 0.25)
    async with FakeGemini(api_key=module.KEY, image_scale=scale) as server:
        yield server


@pytest.fixture
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The loopback fake server the test module names in `FAKE` (a class or a factory), started
    on port 0; leaving fails the test if a handler of the fake failed."""
    factory = getattr(request.module, "FAKE", None)
    if factory is None:
        pytest.fail(f"{request.module.__name__} uses `fake` but names no FAKE server")
    async with factory() as server:
        yield server
