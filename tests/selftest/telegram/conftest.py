"""Fixtures of the fake Telegram's self-tests: the fake, a bare Bot and a polling Application."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.selftest.telegram.helpers import CHAT, Running
from tests.telegram_server import FakeTelegram


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it PTB 22.8 warns (PTBDeprecationWarning) inside RetryAfter.__init__ itself, so
    # under filterwarnings=error a 429 surfaces as the warning instead of RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A bare Bot (initialised: getMe) for calls that need no update handling."""
    fake.add_chat(CHAT)
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as b:
        yield b


@pytest.fixture
async def running(fake: FakeTelegram) -> AsyncIterator[Running]:
    """A real Application polling the fake, with /story and button handlers."""
    app = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    state = Running(app)

    async def on_story(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await state.seen.put(("story", update, list(context.args or [])))

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("Cancelling…")
        await state.seen.put(("button", update, [update.callback_query.data or ""]))

    app.add_handler(CommandHandler("story", on_story))
    app.add_handler(CallbackQueryHandler(on_button))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1)
        yield state
        await app.updater.stop()
        await app.stop()
