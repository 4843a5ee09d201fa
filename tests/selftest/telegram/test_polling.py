"""The fake Telegram's updates reach python-telegram-bot 22 as the real Bot API's do: start-up,
long polls, conflicts, button presses, commands, and the command line."""

from __future__ import annotations

import asyncio
import datetime as dtm
import signal
import sys

import pytest
from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, Update
from telegram.error import BadRequest, Conflict
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from tests.selftest.telegram.helpers import CHAT, KEYBOARD, ROOT, Running
from tests.telegram_server import FakeTelegram

pytestmark = pytest.mark.timeout(30)


# ---------------------------------------------------------------- polling and commands


async def test_startup_sequence_and_commands(fake: FakeTelegram, running: Running) -> None:
    await fake.wait_for("getUpdates", answered=False)
    assert [c.method for c in fake.calls[:3]] == ["getMe", "deleteWebhook", "getUpdates"]

    first = fake.send_command("/story a cat")
    kind, update, args = await running.next()
    assert (kind, args) == ("story", ["a", "cat"])
    assert update.effective_chat is not None
    assert update.effective_chat.id == CHAT
    assert update.effective_user is not None
    assert update.effective_user.language_code == "en"
    assert update.effective_message is not None
    assert update.effective_message.message_id == first

    fake.send_command("/story@other_bot ignored", chat_id=-100, chat_type="group")
    fake.send_command("/story@story_test_bot a cat", chat_id=-100, chat_type="group", user_id=7)
    kind, update, args = await running.next()
    assert args == ["a", "cat"]
    assert update.effective_chat is not None
    assert update.effective_chat.type == "group"
    assert update.effective_chat.id == -100

    fake.send_command("/story three")
    assert (await running.next())[2] == ["three"]  # nothing was delivered twice in between
    last = fake.updates[-1]["update_id"]
    confirmed = await fake.wait_for(
        "getUpdates", lambda c: c.params.get("offset") == str(last + 1), answered=False
    )
    assert confirmed.status in (0, 200)  # arrived; a long poll may still be waiting
    assert fake.updates == []  # confirmed and dropped
    await asyncio.sleep(0.1)
    assert running.seen.empty()


async def test_updater_stop_confirms_the_offset(fake: FakeTelegram) -> None:
    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
    handled = asyncio.Event()

    async def on_story(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        handled.set()

    app.add_handler(CommandHandler("story", on_story))
    async with app:
        assert app.updater is not None
        await app.start()
        await app.updater.start_polling(timeout=1)
        fake.send_command("/story once")
        await asyncio.wait_for(handled.wait(), 5)
        await app.updater.stop()
        await app.stop()
    polls = fake.calls_to("getUpdates")
    final = polls[-1]
    assert (final.params["timeout"], final.params["offset"]) == ("0", "2")
    assert final.status == 200
    assert fake.updates == []
    # the long poll PTB abandoned when stopping was cancelled, never answered
    assert [p.status for p in polls[1:-1]] in ([0], [])


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    bot: Bot, fake: FakeTelegram
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.3)) == ()
    assert loop.time() - start >= 0.25
    loop.call_later(0.2, fake.send_text, "hello")
    start = loop.time()
    (update,) = await bot.get_updates(timeout=5)
    assert loop.time() - start < 2
    assert update.message is not None
    assert update.message.text == "hello"
    assert not update.message.entities
    (again,) = await bot.get_updates(timeout=0)  # not confirmed yet: redelivered
    assert again.update_id == update.update_id
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()


async def test_a_second_poller_ends_the_first_with_conflict(bot: Bot, fake: FakeTelegram) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.2)
    async with Bot(fake.token, base_url=fake.base_url) as other:  # a second bot instance
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await first


# ---------------------------------------------------------------- buttons and commands


async def test_button_press_reaches_callback_handler(fake: FakeTelegram, running: Running) -> None:
    fake.add_chat(CHAT)
    sent = await running.app.bot.send_message(CHAT, "Working…", reply_markup=KEYBOARD)
    query_id = fake.press_button(chat_id=CHAT, message_id=sent.message_id, data="cancel")
    kind, update, data = await running.next()
    assert (kind, data) == ("button", ["cancel"])
    assert update.callback_query is not None
    assert update.callback_query.id == query_id
    message = update.callback_query.message
    assert message is not None
    assert message.message_id == sent.message_id
    answer = await fake.wait_for("answerCallbackQuery")
    assert answer.status == 200
    assert answer.params["callback_query_id"] == query_id
    assert fake.callback_answers[query_id]["text"] == "Cancelling…"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await running.app.bot.answer_callback_query(query_id)


async def test_set_my_commands_round_trip(bot: Bot, fake: FakeTelegram) -> None:
    commands = [BotCommand("story", "Make a story video"), BotCommand("help", "How it works")]
    assert await bot.set_my_commands(commands) is True
    assert await bot.get_my_commands() == tuple(commands)
    assert await bot.set_my_commands([BotCommand("histoire", "Une histoire")],
                                     language_code="fr") is True  # fmt: skip
    assert [c.command for c in await bot.get_my_commands(language_code="fr")] == ["histoire"]
    assert await bot.get_my_commands(scope=BotCommandScopeAllGroupChats()) == ()
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Story", "upper case is invalid")])


# ---------------------------------------------------------------- standalone


async def test_standalone_mode_serves_and_injects() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.telegram_server", "--port", "0", "--command", "/story a cat",
        cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 10)).decode() for _ in range(3)]
        urls = dict(line.strip().split("=", 1) for line in lines)
        async with Bot(urls["token"], base_url=urls["base_url"]) as bot:
            (update,) = await bot.get_updates(timeout=0)
            assert update.message is not None
            assert update.message.text == "/story a cat"
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
