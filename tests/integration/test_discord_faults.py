"""What the user sees on Discord when the platform misbehaves: one /video job per row, through the
real discord.py against FakeDiscord, Veo on FakeGemini, and one fault injected mid-job.

Each row holds the Veo operation open (`video_latency_s`) until its fault has been injected and
the product has reacted, then lets the job finish, and asserts at the end: how many videos the
channel holds, the last text its members see, the job's delivery state in the store, and a bound
on the calls to the route that failed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import pytest

from core.models import Delivery
from core.store import JobStore
from tests.discord_bot import GEMINI_KEY, keep_endpoints, start_video_bot
from tests.discord_server import CHANNEL_ID, USER_ID, Call, FakeDiscord, Interaction
from tests.discord_wire import ATTACH_FILES, VIEW_CHANNEL
from tests.gemini_server import FakeGemini

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

PROMPT = "a kitten chasing a leaf"
CHANNEL_POSTS = f"/channels/{CHANNEL_ID}/messages"
MENTION = f"<@{USER_ID}> "
DONE = "✅ 1 video of 8 s"


def uploads(call: Call) -> bool:
    return bool(call.files)


def response(interaction: Interaction) -> str:
    return f"{interaction.token}/messages/@original"


@dataclass(frozen=True)
class Route:
    """The route a row makes fail, to count the calls to it."""

    method: str
    path: str  # may hold `{token}`
    predicate: Callable[[Call], bool] | None = None

    def calls(self, fake: FakeDiscord, interaction: Interaction) -> list[Call]:
        path = self.path.format(token=interaction.token)
        return [c for c in fake.calls_to(self.method, path)
                if self.predicate is None or self.predicate(c)]  # fmt: skip


Inject = Callable[[FakeDiscord, Interaction], Awaitable[None]]


@dataclass(frozen=True)
class Row:
    """One fault and what the user must see after it."""

    inject: Inject
    route: Route
    calls: range  # how many calls the failing route may get
    videos: int  # videos the channel holds at the end
    last_text: str  # a pattern the newest message the channel shows matches at its start
    delivery: Delivery
    gap_s: float = 0.0  # the least time between the first and the last failing call
    deny: int = 0  # permissions the channel denies the bot from the start
    settings: dict[str, str] = field(default_factory=dict)
    command: dict[str, int] = field(default_factory=dict)  # extra send_command arguments
    logged: str = ""  # what the error log must name


# -- the faults


async def delete_the_response(fake: FakeDiscord, interaction: Interaction) -> None:
    """A user or moderator deletes the bot's progress response."""
    assert interaction.original is not None
    fake.delete_message(interaction.original["id"])
    await fake.wait_for("POST", CHANNEL_POSTS)  # the progress went on in the channel


async def delete_the_channel_progress(fake: FakeDiscord, interaction: Interaction) -> None:
    """The token dies early, progress moves to a channel message, and that one is deleted."""
    fake.expire_token(interaction.token)
    moved = await fake.wait_for("POST", CHANNEL_POSTS)
    fake.delete_message(moved.response["id"])
    await fake.wait_for("PATCH", f"{CHANNEL_POSTS}/{moved.response['id']}")  # 404 10008
    await fake.wait_for("POST", CHANNEL_POSTS, lambda c: c is not moved)  # a new one


async def rate_limit_the_upload(fake: FakeDiscord, interaction: Interaction) -> None:
    body = {"message": "You are being rate limited.", "retry_after": 0.5, "global": False}
    fake.fail_next("PATCH", response(interaction), status=429, body=body, predicate=uploads)


async def break_the_upload_once(fake: FakeDiscord, interaction: Interaction) -> None:
    fake.fail_next("PATCH", response(interaction), status=502, predicate=uploads)


async def expire_then_break_the_channel_upload(
    fake: FakeDiscord, interaction: Interaction
) -> None:
    """The token dies early (progress moves to the channel), then the channel upload gets a
    503, which discord.py does not retry on bot routes: the outbox's next attempt must."""
    fake.expire_token(interaction.token)
    await fake.wait_for("POST", CHANNEL_POSTS)
    fake.fail_next("POST", CHANNEL_POSTS, status=503, predicate=uploads)


async def refuse_the_upload_as_too_large(fake: FakeDiscord, interaction: Interaction) -> None:
    """The server's real limit is below the one the interaction announced (it lost a boost
    level): the first upload is refused with 413 40005."""
    fake.fail_next("PATCH", response(interaction), status=413, predicate=uploads)


async def nothing_more(fake: FakeDiscord, interaction: Interaction) -> None:
    """The fault was set up with the command (a tiny enforced upload limit)."""


async def expire_the_token(fake: FakeDiscord, interaction: Interaction) -> None:
    fake.expire_token(interaction.token)
    await fake.wait_for("POST", CHANNEL_POSTS)  # the product's move to the channel


async def wait_for_the_refused_move(fake: FakeDiscord, interaction: Interaction) -> None:
    await fake.wait_for("POST", CHANNEL_POSTS)  # 403 when the product leaves the response


async def expire_the_token_at_the_upload(fake: FakeDiscord, interaction: Interaction) -> None:
    fake.expire_token(interaction.token, when=uploads)


ROWS = {
    "response-deleted-10008": Row(
        delete_the_response,
        Route("PATCH", "{token}/messages/@original", lambda c: c.status == 404),
        calls=range(1, 2), videos=1, last_text=MENTION + DONE, delivery=Delivery.DELIVERED,
    ),
    "channel-progress-deleted-10008": Row(
        delete_the_channel_progress,
        Route("PATCH", f"{CHANNEL_POSTS}/", lambda c: c.status == 404),
        calls=range(1, 2), videos=1, last_text=MENTION + DONE, delivery=Delivery.DELIVERED,
    ),
    "upload-429": Row(
        rate_limit_the_upload, Route("PATCH", "{token}/messages/@original", uploads),
        calls=range(2, 3), videos=1, last_text=DONE, delivery=Delivery.DELIVERED, gap_s=0.5,
    ),
    "upload-502-retried-by-discord.py": Row(
        break_the_upload_once, Route("PATCH", "{token}/messages/@original", uploads),
        calls=range(2, 3), videos=1, last_text=DONE, delivery=Delivery.DELIVERED, gap_s=1.0,
    ),
    "channel-upload-503-retried-by-the-outbox": Row(
        expire_then_break_the_channel_upload, Route("POST", CHANNEL_POSTS, uploads),
        calls=range(2, 3), videos=1, last_text=MENTION + DONE, delivery=Delivery.DELIVERED,
        gap_s=0.1,
    ),
    "upload-413-shrunk": Row(
        refuse_the_upload_as_too_large, Route("PATCH", "{token}/messages/@original", uploads),
        calls=range(2, 3), videos=1, last_text=DONE, delivery=Delivery.DELIVERED,
    ),
    "upload-413-cannot-fit": Row(
        nothing_more, Route("PATCH", "{token}/messages/@original", uploads),
        calls=range(1, 5), videos=0, last_text="❌ Discord refused the video as too large",
        delivery=Delivery.FAILED, command={"enforced_size_limit": 1000},  # announced: 20 MiB
    ),
    "channel-50013-attach-files": Row(
        expire_the_token, Route("POST", CHANNEL_POSTS, uploads),
        calls=range(1, 2), videos=0,
        last_text=MENTION + "❌ I can't post the video in this channel: I need the Attach Files "
        "permission", delivery=Delivery.FAILED, deny=ATTACH_FILES, logged="Attach Files",
    ),
    "channel-50001-token-dead": Row(
        expire_the_token, Route("POST", CHANNEL_POSTS),
        calls=range(1, 2), videos=0, last_text="🎬 Making the video",
        delivery=Delivery.FAILED, deny=VIEW_CHANNEL, logged="View Channel",
    ),
    "channel-50001-response-alive": Row(
        wait_for_the_refused_move, Route("POST", CHANNEL_POSTS),
        calls=range(1, 2), videos=1, last_text=DONE, delivery=Delivery.DELIVERED,
        deny=VIEW_CHANNEL, settings={"STORYBOT_DISCORD_TOKEN_TTL_S": "2"},
    ),
    "token-expires-mid-upload-401": Row(
        expire_the_token_at_the_upload, Route("PATCH", "{token}/messages/@original", uploads),
        calls=range(1, 2), videos=1, last_text=MENTION + DONE, delivery=Delivery.DELIVERED,
    ),
}  # fmt: skip


@pytest.fixture(autouse=True)
def restore_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    keep_endpoints(monkeypatch)


FAKE = FakeDiscord  # the shared `fake` fixture: leaving raises if a handler of it failed


@pytest.fixture
async def gemini() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(api_key=GEMINI_KEY) as server:  # full size: room to shrink
        yield server


async def settled(store: JobStore, wait_until: Callable[..., Awaitable[object]]) -> Delivery:
    async def final() -> Delivery | None:
        (job,) = await store.recent()
        return job.delivery if job.delivery in (Delivery.DELIVERED, Delivery.FAILED) else None

    delivery = await wait_until(final, timeout=30, what="the delivery to settle")
    assert isinstance(delivery, Delivery)
    return delivery


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
async def test_the_user_sees_a_clear_outcome(
    row: Row,
    fake: FakeDiscord,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    wait_until: Callable[..., Awaitable[object]],
) -> None:
    """Each fault ends with the video delivered once (on the response, or in the channel when
    the response is gone) or, when it cannot arrive, with a short reason where the user looks
    and the delivery marked failed, after a bounded number of calls."""
    fake.deny_bot(row.deny)
    caplog.set_level(logging.WARNING)
    async with AsyncExitStack() as stack:
        bot = await start_video_bot(
            stack, fake, gemini, monkeypatch, delivery_retry_delay_s=0.1,
            STORYBOT_ANIMATED_PER_DAY="5", **row.settings,
        )  # fmt: skip
        gemini.video_latency_s = 60  # the job stays on "Making the video" until released
        interaction = fake.send_command("video", {"prompt": PROMPT, "duration": 8}, **row.command)
        await fake.wait_for(  # the job is under way, and says so
            "PATCH", response(interaction), lambda c: "Making the video" in c.get("content", "")
        )
        await row.inject(fake, interaction)
        await wait_until(lambda: gemini.operations, what="the Veo operation")
        gemini.video_latency_s = 0
        for operation in gemini.operations.values():
            operation.latency_s = 0  # released: the next poll finds the video done
        delivery = await settled(bot.store, wait_until)
    visible = fake.visible()
    failing = row.route.calls(fake, interaction)
    assert len(fake.videos()) == row.videos, [m["content"] for m in visible]
    assert re.match(row.last_text, fake.last_text()), fake.last_text()
    assert delivery is row.delivery
    assert len(failing) in row.calls, [(c.method, c.path, c.status) for c in failing]
    assert failing[-1].time - failing[0].time >= row.gap_s
    assert all(len(m["content"]) <= 300 and "Traceback" not in m["content"] for m in visible)
    if row.logged:
        assert row.logged in caplog.text
