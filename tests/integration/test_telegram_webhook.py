"""Telegram's webhook mode: the real python-telegram-bot, its updates POSTed by the fake Bot API
(as Telegram does) to the path on the HTTP API's server; the secret header checked, an update
delivered twice acted on once."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from bot.http_api import HttpApi
from bot.serve import check_front_ends
from bot.telegram_adapter import TelegramAdapter
from core.config import Settings
from core.errors import ConfigurationError
from core.store import JobStore
from tests.front_ends import start_core
from tests.telegram_bot import telegram_settings
from tests.telegram_server import FakeTelegram

if TYPE_CHECKING:
    from tests.conftest import WaitUntil

pytestmark = pytest.mark.slow

FAKE = FakeTelegram
HOOK = "https://bot.example.com/telegram/Zq3-hook"
SECRET = "s3cret_Token-42"


def webhook_settings(fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return telegram_settings(
        fake, monkeypatch,
        STORYBOT_TELEGRAM_WEBHOOK_URL=HOOK, STORYBOT_TELEGRAM_WEBHOOK_SECRET=SECRET,
        STORYBOT_HTTP_PORT="0",
    )  # fmt: skip


async def start_webhook_bot(stack: AsyncExitStack, settings: Settings) -> tuple[str, JobStore]:
    """The core, the HTTP API with the adapter's webhook route, then the adapter — in the
    order `storybot run` starts them. The server's base URL and the store."""
    bot = await start_core(stack, settings, "telegram")
    telegram = TelegramAdapter(bot.service, settings)
    http = await stack.enter_async_context(
        HttpApi(bot.service, settings, telegram.intake.routes())
    )
    await stack.enter_async_context(telegram)
    return f"http://127.0.0.1:{http.port}", bot.store


async def post(base: str, update: dict[str, Any], secret: str | None) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        return await client.post("/telegram/Zq3-hook", content=json.dumps(update), headers=headers)


async def test_webhook_mode_sets_the_webhook_and_serves_updates_once(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """`setWebhook` gets the URL, the secret and the handled update kinds; nothing polls; a
    `/story` POSTed to the path with the secret gets its progress message and its video; the
    same update POSTed again (Telegram's retry) starts nothing more; a missing or wrong secret
    is a 401 that starts nothing."""
    settings = webhook_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        base, store = await start_webhook_bot(stack, settings)
        assert fake.webhook == {
            "url": HOOK, "secret_token": SECRET, "allowed_updates": ["message", "callback_query"],
        }  # fmt: skip
        fake.send_command("/story scenes=1 a cat and a dog")
        update = json.loads(json.dumps(fake.updates[0]))
        for secret in (None, "wrong", SECRET[:-1]):
            refused = await post(base, update, secret)
            assert refused.status_code == 401
        assert await store.recent(limit=5) == []
        assert fake.calls_to("sendMessage") == []
        assert await fake.push_updates(base) == [200]  # Telegram's own delivery
        sent = await fake.wait_for("sendVideo", timeout=120)
        again = await post(base, update, SECRET)  # Telegram sends it again: no 200 in time
        assert again.status_code == 200
        await fake.wait_for("editMessageText", lambda c: c.params["text"].startswith("✅"))
        jobs = await store.recent(limit=5)
    assert len(jobs) == 1
    assert len(fake.calls_to("sendVideo")) == 1
    progress = fake.calls_to("sendMessage")
    assert len(progress) == 1
    assert progress[0].params["text"].startswith(("✍️", "⏳"))
    assert sent.json("reply_parameters")["message_id"] == update["message"]["message_id"]
    assert fake.calls_to("getUpdates") == []
    assert fake.calls_to("deleteWebhook") == []
    # Shutting down leaves the webhook set: other front ends may still serve it.
    assert fake.webhook is not None


async def test_a_body_that_is_no_update_is_a_400(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = webhook_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        base, store = await start_webhook_bot(stack, settings)
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            answer = await client.post(
                "/telegram/Zq3-hook", content=b"{not json",
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )  # fmt: skip
        assert answer.status_code == 400
        assert await store.recent(limit=5) == []


async def test_polling_after_webhook_mode_removes_the_webhook(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Switching back to polling: `deleteWebhook` first, then `getUpdates` works again."""
    fake.webhook = {"url": HOOK, "secret_token": SECRET, "allowed_updates": []}
    settings = telegram_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        bot = await start_core(stack, settings, "telegram")
        await stack.enter_async_context(TelegramAdapter(bot.service, settings))
        fake.send_command("/help")
        await fake.wait_for("sendMessage")
    assert fake.calls_to("deleteWebhook")
    assert fake.webhook is None
    assert fake.conflicts == 0


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"STORYBOT_TELEGRAM_WEBHOOK_URL": HOOK, "STORYBOT_TELEGRAM_WEBHOOK_SECRET": SECRET},
         "STORYBOT_HTTP_PORT"),
        ({"STORYBOT_TELEGRAM_WEBHOOK_URL": HOOK, "STORYBOT_HTTP_PORT": "0"},
         "STORYBOT_TELEGRAM_WEBHOOK_SECRET"),
    ],
)  # fmt: skip
def test_webhook_settings_that_cannot_work_stop_start_up(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], says: str
) -> None:
    for name, value in {"TELEGRAM_BOT_TOKEN": "1:x", **env}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=says):
        check_front_ends(Settings(_env_file=None))  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STORYBOT_TELEGRAM_WEBHOOK_URL", "http://bot.example.com/telegram/x"),
        ("STORYBOT_TELEGRAM_WEBHOOK_URL", "https://bot.example.com:8080/telegram/x"),
        ("STORYBOT_TELEGRAM_WEBHOOK_URL", "https://bot.example.com/api/videos/x"),
        ("STORYBOT_TELEGRAM_WEBHOOK_SECRET", "has spaces"),
        ("STORYBOT_TELEGRAM_WEBHOOK_SECRET", "x" * 257),
    ],
)
def test_bad_webhook_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        Settings(_env_file=None)  # type: ignore[call-arg]
