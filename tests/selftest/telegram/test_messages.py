"""The fake Telegram sends and edits messages, and answers errors, the way python-telegram-bot 22
expects."""

from __future__ import annotations

import asyncio
import datetime as dtm

import pytest
from telegram import Bot
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

from tests.selftest.telegram.helpers import CHAT, KEYBOARD
from tests.telegram_server import FakeTelegram

pytestmark = pytest.mark.timeout(30)


# ---------------------------------------------------------------- messages and errors


async def test_send_and_edit_round_trip(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(CHAT, "Queued: a cat", reply_markup=KEYBOARD)
    assert sent.from_user is not None
    assert sent.from_user.username == "story_test_bot"
    assert sent.date.year >= 2025
    assert sent.chat.type == "private"
    call = fake.calls_to("sendMessage")[-1]
    assert call.params["chat_id"] == str(CHAT)
    assert call.params["text"] == "Queued: a cat"
    assert call.json("reply_markup") == KEYBOARD.to_dict()

    edited = await bot.edit_message_text("Working… 50%", CHAT, sent.message_id,
                                         reply_markup=KEYBOARD)  # fmt: skip
    assert not isinstance(edited, bool)
    assert edited.edit_date is not None
    assert fake.messages[(CHAT, sent.message_id)]["text"] == "Working… 50%"

    with pytest.raises(BadRequest) as caught:
        await bot.edit_message_text("Working… 50%", CHAT, sent.message_id, reply_markup=KEYBOARD)
    assert "not modified" in caught.value.message.lower()
    assert fake.calls_to("editMessageText")[-1].status == 400

    await bot.edit_message_text("Working… 50%", CHAT, sent.message_id)  # drops the keyboard
    assert "reply_markup" not in fake.messages[(CHAT, sent.message_id)]
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", CHAT, 999)
    assert await bot.delete_message(CHAT, sent.message_id) is True
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(CHAT, sent.message_id)
    second = await bot.send_message(CHAT, "next")
    assert second.message_id == sent.message_id + 1


async def test_reply_caption_and_user_messages(bot: Bot, fake: FakeTelegram) -> None:
    asked = fake.send_command("/story a dog")
    reply = await bot.send_message(CHAT, "<b>Queued</b> &amp; ok", parse_mode="HTML",
                                   reply_to_message_id=asked)  # fmt: skip
    assert reply.text == "Queued & ok"
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == asked
    assert fake.calls_to("sendMessage")[-1].json("reply_parameters") == {"message_id": asked}
    with pytest.raises(BadRequest, match=r"(?i)can't be edited"):
        await bot.edit_message_text("hijack", CHAT, asked)
    with pytest.raises(BadRequest, match=r"(?i)no caption"):
        await bot.edit_message_caption(CHAT, reply.message_id, caption="x")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999_999, "hello?")
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await bot.send_message(CHAT, "")
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(CHAT, "x" * 4097)
    assert await bot.send_chat_action(CHAT, "upload_video") is True
    assert fake.calls_to("sendChatAction")[-1].params["action"] == "upload_video"


async def test_retry_after(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(CHAT, "Working… 10%")
    fake.fail_next("editMessageText", status=429, retry_after=2)
    with pytest.raises(RetryAfter) as caught:
        await bot.edit_message_text("Working… 20%", CHAT, sent.message_id)
    assert caught.value._retry_after == dtm.timedelta(seconds=2)
    assert caught.value.retry_after == dtm.timedelta(seconds=2)  # PTB_TIMEDELTA=true
    failed = fake.calls_to("editMessageText")[-1]
    assert failed.status == 429
    assert failed.response == {"ok": False, "error_code": 429, "parameters": {"retry_after": 2},
                               "description": "Too Many Requests: retry after 2"}  # fmt: skip
    await bot.edit_message_text("Working… 20%", CHAT, sent.message_id)  # one-shot


async def test_forbidden_and_other_scripted_errors(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(CHAT, "hi")
    fake.blocked.add(CHAT)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_chat_action(CHAT, "typing")
    fake.blocked.clear()
    fake.fail_next("sendMessage", status=502, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(CHAT, "hi")
    fake.delay_next("sendMessage", 0.3)
    start = asyncio.get_running_loop().time()
    await bot.send_message(CHAT, "late")
    assert asyncio.get_running_loop().time() - start >= 0.25


async def test_wrong_token_and_unknown_method(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("123456:WRONG", base_url=fake.base_url):
            pass
    assert fake.calls[-1].response == {"ok": False, "error_code": 401,
                                       "description": "Unauthorized"}  # fmt: skip
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("noSuchMethod")
    assert fake.calls[-1].response == {"ok": False, "error_code": 404,
                                       "description": "Not Found: method not found"}  # fmt: skip
