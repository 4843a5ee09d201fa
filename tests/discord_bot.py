"""Runs the real Discord adapter against `FakeDiscord` in integration tests: its settings, the
core (`core.bootstrap`) over the offline providers or over Veo on `FakeGemini`, and the URL roots
put back."""

from __future__ import annotations

from contextlib import AsyncExitStack

import discord
import pytest

from bot.discord_adapter import DiscordAdapter
from core.bootstrap import StoryBot
from core.config import Settings
from core.providers import Providers
from tests.discord_server import FakeDiscord
from tests.front_ends import settings_with, start_core
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
    return settings_with(monkeypatch, {
        "DISCORD_BOT_TOKEN": fake.token,
        "DISCORD_API_BASE_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": str(fake.gateway_url),
        **extra,
    })  # fmt: skip


async def start_adapter(
    stack: AsyncExitStack,
    settings: Settings,
    providers: Providers | None = None,
    *,
    delivery_retry_delay_s: float | None = None,
    resume: bool = False,
) -> StoryBot:
    """The core as `storybot run` builds it over `providers` (else those the settings name)
    and the Discord adapter on its service, entered on `stack`."""
    bot = await start_core(
        stack, settings, "discord", providers,
        delivery_retry_delay_s=delivery_retry_delay_s, resume=resume,
    )  # fmt: skip
    await stack.enter_async_context(DiscordAdapter(bot.service, settings))
    return bot


async def start_on_gemini(
    stack: AsyncExitStack,
    fake: FakeDiscord,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    **extra: str,
) -> StoryBot:
    """The Discord adapter over the core with Gemini's providers on `gemini`, progress
    edits every 0.5 s (and `extra` settings)."""
    env = gemini.env() | {"STORYBOT_PROGRESS_INTERVAL_S": "0.5", **extra}
    return await start_adapter(stack, discord_settings(fake, monkeypatch, **env))


async def start_video_bot(
    stack: AsyncExitStack,
    fake: FakeDiscord,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    *,
    delivery_retry_delay_s: float | None = None,
    **extra: str,
) -> StoryBot:
    """The Discord adapter over a core whose animator is Veo on `gemini` (express mode),
    with progress edits every 0.5 s."""
    env = gemini.vertex_env(express=True) | {
        "GOOGLE_API_KEY": GEMINI_KEY, "STORYBOT_VIDEO_POLL_S": "0.05",
        "STORYBOT_PROGRESS_INTERVAL_S": "0.5",
    }  # fmt: skip
    settings = discord_settings(fake, monkeypatch, **env, **extra)
    return await start_adapter(stack, settings, delivery_retry_delay_s=delivery_retry_delay_s)
