"""What a Telegram user sees when the Bot API misbehaves during delivery: one row per fault,
through the real python-telegram-bot against the fake Bot API.

Each row ends by asserting how many videos the chat holds, the last text the user sees, the
job's delivery state and a bound on the calls to the failing route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from core.models import Delivery, Job
from core.providers import Providers
from core.providers.offline import OfflineIllustrator, OfflineNarrator, OfflineStoryWriter
from core.store import JobStore
from tests.fakeserver import FakeServerError
from tests.telegram_bot import start_adapter, telegram_settings
from tests.telegram_server import FakeTelegram

if TYPE_CHECKING:
    from tests.conftest import WaitUntil

FAKE = FakeTelegram
CHAT = 4242
UNCONFIRMED = "⚠️ Telegram did not confirm your video."


@dataclass(frozen=True)
class Row:
    """A fault, when it strikes, and what the user must end up with."""

    name: str
    arrange: Callable[[FakeTelegram], None]
    videos: int
    last_text: str
    delivery: Delivery
    max_uploads: int
    during: Callable[[FakeTelegram], Awaitable[None]] | None = None


async def _delete_progress(fake: FakeTelegram) -> None:
    progress = await fake.wait_for("sendMessage")
    fake.delete_message(CHAT, int(progress.result["message_id"]))


async def _block(fake: FakeTelegram) -> None:
    await fake.wait_for("sendMessage")  # the job is under way
    fake.blocked.add(CHAT)


def _nothing(fake: FakeTelegram) -> None:
    pass


ROWS = [
    Row("progress message deleted", _nothing, 1, "✅", Delivery.DELIVERED, 1, _delete_progress),
    Row("500 on sendVideo", lambda f: f.fail_next("sendVideo", status=500), 1, "✅",
        Delivery.DELIVERED, 2),
    Row("502 on sendVideo", lambda f: f.fail_next("sendVideo", status=502), 1, "✅",
        Delivery.DELIVERED, 2),
    Row("429 retry_after", lambda f: f.fail_next("sendVideo", retry_after=2), 1, "✅",
        Delivery.DELIVERED, 2),
    Row("timeout, upload lost", lambda f: f.delay_next("sendVideo", 5), 1, "✅",
        Delivery.DELIVERED, 2),
    Row("timeout twice, both lost", lambda f: f.delay_next("sendVideo", 5, times=2), 0,
        UNCONFIRMED, Delivery.UNCONFIRMED, 2),
    # The one duplicate window besides a crash: Telegram kept the video but never said so.
    Row("timeout after the upload arrived", lambda f: f.delay_next("sendVideo", 5, after=True),
        2, "✅", Delivery.DELIVERED, 2),
    Row("413 from the server", lambda f: f.fail_next("sendVideo", status=413), 1, "✅",
        Delivery.DELIVERED, 2),
    Row("chat not found", lambda f: f.fail_next("sendVideo", status=400,
        description="Bad Request: chat not found", times=5), 0, "", Delivery.FAILED, 1),
    Row("blocked by the user", _nothing, 0, "", Delivery.FAILED, 1, _block),
]  # fmt: skip


async def start_bot(
    stack: AsyncExitStack, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> JobStore:
    """The Telegram adapter over the offline providers: progress edits every 0.5 s, uploads
    that time out after 1 s, deliveries tried again after 0.2 s."""
    settings = telegram_settings(
        fake, monkeypatch,
        STORYBOT_PROGRESS_INTERVAL_S="0.5", STORYBOT_TELEGRAM_UPLOAD_TIMEOUT_S="1",
    )  # fmt: skip
    providers = Providers(OfflineStoryWriter(), OfflineIllustrator(), OfflineNarrator())
    bot = await start_adapter(stack, settings, providers, delivery_retry_delay_s=0.2)
    await fake.wait_for("setMyCommands")
    return bot.store


async def settled(store: JobStore, wait_until: WaitUntil) -> Job:
    """The only job, once its delivery has ended one way or another."""

    async def ended() -> Job | None:
        jobs = await store.recent(limit=1)
        return jobs[0] if jobs and jobs[0].delivery.settled else None

    job: Job = await wait_until(ended, timeout=90, interval=0.05, what="the delivery to end")
    return job


def last_text(fake: FakeTelegram) -> str:
    texts = [m["text"] for m in fake.bot_messages(CHAT) if "text" in m]
    return texts[-1] if texts else ""


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_delivery_fault(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil, row: Row
) -> None:
    row.arrange(fake)
    async with AsyncExitStack() as stack:
        store = await start_bot(stack, fake, monkeypatch)
        fake.send_command("/story scenes=1 a cat", chat_id=CHAT)
        if row.during is not None:
            await row.during(fake)
        job = await settled(store, wait_until)
        if row.delivery is not Delivery.FAILED:  # the last word comes after the delivery
            await fake.wait_for(
                "sendMessage" if row.during else "editMessageText",
                lambda c: c.params["text"].startswith(row.last_text[:2]),
            )
    videos = [m for m in fake.bot_messages(CHAT) if "video" in m]
    assert len(videos) == row.videos
    assert job.delivery is row.delivery
    uploads = fake.calls_to("sendVideo")
    assert 1 <= len(uploads) <= row.max_uploads
    if row.last_text:
        assert last_text(fake).startswith(row.last_text), last_text(fake)
    else:  # the user cannot be reached: nothing more was sent after the refusal
        assert not [c for c in fake.calls if c.time > uploads[-1].time and c.status == 200
                    and c.method in ("sendMessage", "sendVideo")]  # fmt: skip


async def test_flood_control_waits_exactly_what_telegram_asked(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """A 429 on sendVideo with retry_after 2: the video is sent again no sooner than 2 s."""
    fake.fail_next("sendVideo", retry_after=2)
    async with AsyncExitStack() as stack:
        store = await start_bot(stack, fake, monkeypatch)
        fake.send_command("/story scenes=1 a cat", chat_id=CHAT)
        await settled(store, wait_until)
    first, second = fake.calls_to("sendVideo")
    assert second.time - first.time >= 2.0


async def test_a_413_sends_a_smaller_video(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    fake.fail_next("sendVideo", status=413)
    async with AsyncExitStack() as stack:
        store = await start_bot(stack, fake, monkeypatch)
        fake.send_command("/story scenes=1 a cat", chat_id=CHAT)
        await settled(store, wait_until)
    refused, sent = fake.calls_to("sendVideo")
    assert (refused.status, sent.status) == (413, 200)
    assert len(sent.files["video"].data) < len(refused.files["video"].data)


async def test_a_broken_fake_fails_its_test() -> None:
    """An exception inside one of the fake's own handlers is not hidden behind a 500 that the
    product would retry: stopping the fake raises."""
    fake = FakeTelegram()
    await fake.start()
    fake._api_getMe = lambda call: 1 / 0  # type: ignore[method-assign,assignment]  # a bug
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.base_url}{fake.token}/getMe") as reply,
    ):
        assert reply.status == 500
    with pytest.raises(FakeServerError, match="ZeroDivisionError"):
        await fake.stop()
