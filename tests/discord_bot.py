"""Runs the real Discord adapter against `FakeDiscord` in integration tests: its settings, a
runner over the offline providers or over Veo on `FakeGemini`, and the URL roots put back."""

from __future__ import annotations

import dataclasses
from contextlib import AsyncExitStack
from pathlib import Path

import discord
import pytest

from bot.discord_adapter import DiscordAdapter
from core.config import Settings
from core.jobs import JobStore, open_job_store
from core.pipeline import Pipeline, PipelineLimits
from core.providers import Providers, build_providers
from core.runner import JobRunner, RunnerLimits
from tests.discord_server import FakeDiscord
from tests.gemini_server import FakeGemini

GEMINI_KEY = "AIzaSy-discord-video-test-key-0123"


def keep_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter points discord.py's class-level URL roots at the fake; have `monkeypatch`
    put them back after the test."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)


def discord_settings(fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch, **extra: str) -> Settings:
    """Settings from the environment, with the bot token and URLs of `fake` (and `extra`)."""
    env = {
        "DISCORD_BOT_TOKEN": fake.token,
        "DISCORD_API_BASE_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": str(fake.gateway_url),
        "STORYBOT_IMAGE_CONCURRENCY": "1",
        **extra,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


async def start_adapter(
    stack: AsyncExitStack,
    settings: Settings,
    providers: Providers,
    tmp_path: Path,
    *,
    delivery_retry_delay_s: float | None = None,
    resume: bool = False,
) -> tuple[JobStore, JobRunner]:
    """A job store, a runner over `providers` and the Discord adapter, entered on `stack`."""
    store = await stack.enter_async_context(open_job_store(tmp_path / "jobs.db"))
    limits = RunnerLimits.from_settings(settings)
    if delivery_retry_delay_s is not None:
        limits = dataclasses.replace(limits, delivery_retry_delay_s=delivery_retry_delay_s)
    runner = await stack.enter_async_context(
        JobRunner(
            store, Pipeline(providers, PipelineLimits.from_settings(settings)),
            tmp_path / "jobs", limits,
            resume_platforms=frozenset({"discord"}) if resume else frozenset(),
        )
    )  # fmt: skip
    await stack.enter_async_context(DiscordAdapter(runner, settings))
    return store, runner


async def start_video_bot(
    stack: AsyncExitStack,
    fake: FakeDiscord,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    delivery_retry_delay_s: float | None = None,
    **extra: str,
) -> tuple[JobStore, JobRunner]:
    """The Discord adapter over a runner whose animator is Veo on `gemini` (express mode),
    with progress edits every 0.5 s."""
    env = gemini.vertex_env(express=True) | {
        "GOOGLE_API_KEY": GEMINI_KEY, "STORYBOT_VIDEO_POLL_S": "0.05",
        "STORYBOT_PROGRESS_INTERVAL_S": "0.5",
    }  # fmt: skip
    settings = discord_settings(fake, monkeypatch, **env, **extra)
    providers = build_providers(settings)
    stack.push_async_callback(providers.aclose)
    return await start_adapter(
        stack, settings, providers, tmp_path, delivery_retry_delay_s=delivery_retry_delay_s
    )
