"""Runs the real Telegram adapter against `FakeTelegram` in integration tests: its settings, the
core (`core.bootstrap`) over the given providers or those the settings name, and what the
tests read back from the fake."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest

from bot.telegram_adapter import TelegramAdapter
from core.bootstrap import StoryBot
from core.config import Settings
from core.providers import Providers
from tests.front_ends import settings_with, start_core
from tests.gemini_server import FakeGemini
from tests.telegram_server import Call, FakeTelegram


def telegram_settings(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, **extra: str
) -> Settings:
    """Settings from the environment, with the bot token and URLs of `fake` (and `extra`)."""
    return settings_with(monkeypatch, {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_API_FILE_URL": fake.base_file_url,
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
    and the Telegram adapter on its service, entered on `stack`."""
    bot = await start_core(
        stack, settings, "telegram", providers,
        delivery_retry_delay_s=delivery_retry_delay_s, resume=resume,
    )  # fmt: skip
    await stack.enter_async_context(TelegramAdapter(bot.service, settings))
    return bot


async def start_on_gemini(
    stack: AsyncExitStack,
    fake: FakeTelegram,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    **extra: str,
) -> StoryBot:
    """The Telegram adapter over the core with Gemini's providers on `gemini`, progress
    edits every 0.5 s (and `extra` settings)."""
    env = gemini.env() | {"STORYBOT_PROGRESS_INTERVAL_S": "0.5", **extra}
    return await start_adapter(stack, telegram_settings(fake, monkeypatch, **env))


def edits_of(fake: FakeTelegram, message_id: int) -> list[Call]:
    """Every `editMessageText` of one message, in order."""
    return [
        c for c in fake.calls_to("editMessageText") if int(c.params["message_id"]) == message_id
    ]
