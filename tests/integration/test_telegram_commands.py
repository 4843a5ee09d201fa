"""What the README promises Telegram users beyond `/story`: `/status`, `/cancel`, and progress
that survives Telegram's "message is not modified"."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

import pytest

from core.models import Aspect, JobStatus, Scene, Style
from core.providers import Providers
from core.providers.offline import OfflineIllustrator, OfflineNarrator, OfflineStoryWriter
from core.store import JobStore
from tests.telegram_bot import start_adapter, telegram_settings
from tests.telegram_server import NOT_MODIFIED, FakeTelegram

FAKE = FakeTelegram
CHAT = 5151


class GatedIllustrator(OfflineIllustrator):
    """Offline pictures that wait for `gate`, so a test decides when drawing may finish."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = asyncio.Event()

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        self.started.set()
        await self.gate.wait()
        return await super().draw(scene, style=style, aspect=aspect, reference=reference)


async def start_bot(
    stack: AsyncExitStack,
    fake: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    illustrator: OfflineIllustrator,
) -> JobStore:
    """The Telegram adapter over the offline providers with `illustrator`, progress edits
    every 0.5 s; returns once the bot is polling."""
    settings = telegram_settings(fake, monkeypatch, STORYBOT_PROGRESS_INTERVAL_S="0.5")
    providers = Providers(OfflineStoryWriter(), illustrator, OfflineNarrator())
    bot = await start_adapter(stack, settings, providers)
    await fake.wait_for("setMyCommands")
    return bot.store


async def ask(fake: FakeTelegram, command: str) -> str:
    """Send `command` as the user; the text of the bot's next message."""
    before = len(fake.calls)
    fake.send_command(command, chat_id=CHAT, user_id=CHAT)
    call = await fake.wait_for(
        "sendMessage", lambda c: any(c is later for later in fake.calls[before:])
    )
    return str(call.params["text"])


async def test_status_lists_the_users_jobs(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before any job: a hint; after a story: its id, status, theme and age on one line."""
    async with AsyncExitStack() as stack:
        store = await start_bot(stack, fake, monkeypatch, OfflineIllustrator())
        assert (await ask(fake, "/status")).startswith("Nothing yet. Try /story")
        fake.send_command("/story scenes=1 a cat on the moon", chat_id=CHAT, user_id=CHAT)
        await fake.wait_for("sendVideo", timeout=60)
        (job,) = await store.recent()
        line = await ask(fake, "/status")
    assert line == f"{job.id} · completed 100% · a cat on the moon · just now"


async def test_cancel_stops_the_running_job(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/cancel` with nothing running says so; during a story it cancels it: the progress
    message says so and no video comes."""
    illustrator = GatedIllustrator()
    async with AsyncExitStack() as stack:
        store = await start_bot(stack, fake, monkeypatch, illustrator)
        assert await ask(fake, "/cancel") == "Nothing to cancel."
        fake.send_command("/story scenes=2 a cat", chat_id=CHAT, user_id=CHAT)
        await asyncio.wait_for(illustrator.started.wait(), 30)
        (job,) = await store.recent()
        assert await ask(fake, "/cancel") == f"🚫 Cancelled {job.id}."
        await fake.wait_for("editMessageText", lambda c: "cancel" in c.params["text"].lower())
        illustrator.gate.set()
        assert (await store.get(job.id)).status is JobStatus.CANCELLED
    assert not fake.calls_to("sendVideo")


async def test_message_not_modified_is_not_an_error(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram answers "message is not modified" to an edit: nothing is logged as a failure
    and the progress goes on to the final ✅."""
    fake.fail_next("editMessageText", status=400, description=NOT_MODIFIED)
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, monkeypatch, OfflineIllustrator())
        fake.send_command("/story scenes=1 a cat", chat_id=CHAT, user_id=CHAT)
        await fake.wait_for("editMessageText", lambda c: c.params["text"].startswith("✅"))
    assert fake.calls_to("editMessageText")[0].status == 400
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
