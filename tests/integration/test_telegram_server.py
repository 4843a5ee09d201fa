"""The fake Telegram server speaks the wire format the real python-telegram-bot 22 expects."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaDocument,
    InputMediaVideo,
    MessageEntity,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.telegram_server import FakeTelegram

pytestmark = pytest.mark.timeout(30)

ROOT = Path(__file__).resolve().parents[2]
CHAT = 4242
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Cancel", callback_data="cancel")]])


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


@dataclass
class Running:
    app: Application[Any, Any, Any, Any, Any, Any]
    seen: asyncio.Queue[tuple[str, Update, list[str]]] = field(default_factory=asyncio.Queue)

    async def next(self) -> tuple[str, Update, list[str]]:
        return await asyncio.wait_for(self.seen.get(), 5)


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


def jpeg(width: int = 320, height: int = 180) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


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


# ---------------------------------------------------------------- uploads and files


async def test_send_video_with_thumbnail(bot: Bot, fake: FakeTelegram) -> None:
    asked = fake.send_command("/story a cat")
    video, thumb = os.urandom(300_000), jpeg()
    message = await bot.send_video(
        CHAT, video, filename="story.mp4", thumbnail=InputFile(thumb, "thumb.jpg", attach=True),
        width=1280, height=720, duration=12,
        supports_streaming=True, caption="Story: a cat", reply_to_message_id=asked,
    )  # fmt: skip
    call = fake.calls_to("sendVideo")[-1]
    assert call.files["video"].filename == "story.mp4"
    assert call.files["video"].content_type == "video/mp4"
    assert call.files["video"].data == video
    assert call.params["thumbnail"].startswith("attach://")
    thumbnail = call.file("thumbnail")
    assert thumbnail is not None
    assert thumbnail.data == thumb
    assert thumbnail.content_type == "image/jpeg"  # guessed from the InputFile's filename
    sent = {k: call.params[k] for k in ("width", "height", "duration", "supports_streaming")}
    assert sent == {
        "width": "1280",
        "height": "720",
        "duration": "12",
        "supports_streaming": "true",
    }
    assert call.params["caption"] == "Story: a cat"
    assert call.json("reply_parameters") == {"message_id": asked}

    assert message.video is not None
    assert message.caption == "Story: a cat"
    assert (message.video.width, message.video.height) == (1280, 720)
    assert message.video.file_size == len(video)
    assert message.video.thumbnail is not None
    assert message.video.thumbnail.width == 320

    # re-send by file_id, and download through getFile
    again = await bot.send_video(CHAT, message.video.file_id)
    assert again.video is not None
    assert again.video.file_id == message.video.file_id
    file = await bot.get_file(message.video.file_id)
    assert bytes(await file.download_as_bytearray()) == video


async def test_thumbnail_rules(bot: Bot, fake: FakeTelegram) -> None:
    big = await bot.send_video(CHAT, b"\0" * 1000, filename="s.mp4", thumbnail=jpeg(640, 360))
    assert big.video is not None
    assert big.video.thumbnail is None  # over 320 px: ignored, like Telegram
    png = io.BytesIO()
    Image.new("RGB", (32, 32)).save(png, "PNG")
    other = await bot.send_video(CHAT, b"\0" * 1000, filename="s.mp4", thumbnail=png.getvalue())
    assert other.video is not None
    assert other.video.thumbnail is None  # not a JPEG
    # an InputFile without attach=True goes out as a direct `thumbnail` part, also accepted
    direct = await bot.send_video(CHAT, b"\0" * 1000, filename="s.mp4",
                                  thumbnail=InputFile(jpeg(), "t.jpg"))  # fmt: skip
    assert "thumbnail" in fake.calls_to("sendVideo")[-1].files
    assert direct.video is not None
    assert direct.video.thumbnail is not None


async def test_upload_above_max_upload_is_413() -> None:
    async with FakeTelegram(max_upload=500_000) as fake:
        fake.add_chat(CHAT)
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            with pytest.raises(NetworkError, match="Request Entity Too Large") as caught:
                await bot.send_video(CHAT, b"\0" * 600_000, filename="big.mp4")
            assert not isinstance(caught.value, BadRequest)
            assert fake.calls_to("sendVideo")[-1].status == 413
            await bot.send_video(CHAT, b"\0" * 400_000, filename="ok.mp4")


async def test_media_group_and_document(bot: Bot, fake: FakeTelegram) -> None:
    media = [
        InputMediaVideo(b"a" * 1000, filename="one.mp4", caption="One", width=640, height=360,
                        duration=3, thumbnail=jpeg()),
        InputMediaVideo(b"b" * 2000, filename="two.mp4", width=640, height=360, duration=4),
    ]  # fmt: skip
    messages = await bot.send_media_group(CHAT, media)
    assert [m.video.file_size for m in messages if m.video] == [1000, 2000]
    assert len({m.media_group_id for m in messages}) == 1
    assert messages[0].caption == "One"
    call = fake.calls_to("sendMediaGroup")[-1]
    items = call.json("media")
    assert [i["media"].startswith("attach://") for i in items] == [True, True]
    assert len(call.files) == 3  # two videos and one thumbnail
    thumbnail = call.files[items[0]["thumbnail"].removeprefix("attach://")]
    # bare bytes without a filename go out as application/octet-stream; Telegram sniffs JPEG
    assert (thumbnail.filename, thumbnail.content_type) == (
        "application.octet-stream", "application/octet-stream")  # fmt: skip
    assert messages[0].video is not None
    assert messages[0].video.thumbnail is not None

    doc = await bot.send_document(CHAT, b"%PDF-1.4", filename="story.pdf", caption="PDF")
    assert doc.document is not None
    assert doc.document.file_name == "story.pdf"
    await bot.edit_message_caption(CHAT, doc.message_id, caption="PDF v2")
    assert fake.messages[(CHAT, doc.message_id)]["caption"] == "PDF v2"


async def test_user_photo_can_be_downloaded(bot: Bot, fake: FakeTelegram) -> None:
    picture = jpeg(64, 48)
    fake.send_photo(picture, caption="my cat")
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None
    assert update.message.caption == "my cat"
    largest = update.message.photo[-1]
    assert (largest.width, largest.height) == (64, 48)
    file = await (await bot.get_file(largest.file_id)).download_as_bytearray()
    assert bytes(file) == picture


async def test_user_photo_comes_in_sizes_smallest_first(bot: Bot, fake: FakeTelegram) -> None:
    """A large photo arrives as JPEG renditions (longest side 90, 320, 800) and then itself;
    every size downloads through getFile, the largest byte for byte."""
    picture = jpeg(1280, 720)
    fake.send_photo(picture)
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None
    sizes = update.message.photo
    assert [(p.width, p.height) for p in sizes] == [(90, 51), (320, 180), (800, 450), (1280, 720)]
    for size in sizes[:-1]:
        data = bytes(await (await bot.get_file(size.file_id)).download_as_bytearray())
        assert data[:3] == b"\xff\xd8\xff"
        assert size.file_size == len(data)
    largest = await (await bot.get_file(sizes[-1].file_id)).download_as_bytearray()
    assert bytes(largest) == picture


async def test_image_sent_as_file_is_a_document(bot: Bot, fake: FakeTelegram) -> None:
    """A picture sent "as file" is a document with its image MIME type and its own bytes."""
    out = io.BytesIO()
    Image.new("RGB", (64, 36), (10, 200, 30)).save(out, "PNG")
    fake.send_document(out.getvalue(), filename="frame.png", caption="/video a frog")
    (update,) = await bot.get_updates(timeout=0)
    message = update.message
    assert message is not None
    assert message.document is not None
    assert (message.document.file_name, message.document.mime_type) == ("frame.png", "image/png")
    assert message.caption == "/video a frog"
    assert [(e.type, e.offset, e.length) for e in message.caption_entities] == [
        ("bot_command", 0, 6)
    ]
    data = await (await bot.get_file(message.document.file_id)).download_as_bytearray()
    assert bytes(data) == out.getvalue()


async def test_photo_captions_and_replies_reach_handlers(fake: FakeTelegram) -> None:
    """A real Application sees a `/video` caption through a caption filter (CommandHandler
    ignores captions), and a `/video` command replying to a photo carries that photo."""
    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
    seen: asyncio.Queue[tuple[str, Update]] = asyncio.Queue()

    async def on_caption(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await seen.put(("caption", update))

    async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await seen.put(("command", update))

    app.add_handler(CommandHandler("video", on_command))
    app.add_handler(
        MessageHandler(filters.PHOTO & filters.CaptionRegex(r"^/video(@\w+)?(\s|$)"), on_caption)
    )
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1)
        photo = fake.send_photo(jpeg(), caption="/video@story_test_bot a cat")
        kind, update = await asyncio.wait_for(seen.get(), 5)
        assert kind == "caption"
        assert update.message is not None
        assert update.message.caption == "/video@story_test_bot a cat"
        assert update.message.parse_caption_entities([MessageEntity.BOT_COMMAND]) == {
            update.message.caption_entities[0]: "/video@story_test_bot"
        }

        fake.send_command("/video make it move", reply_to=photo)
        kind, update = await asyncio.wait_for(seen.get(), 5)
        assert kind == "command"
        assert update.message is not None
        replied = update.message.reply_to_message
        assert replied is not None
        assert replied.message_id == photo
        assert replied.photo[-1].width == 320
        await app.updater.stop()
        await app.stop()


async def test_album_of_videos_records_each_upload(bot: Bot, fake: FakeTelegram) -> None:
    """Two uploaded videos form one album; the call keeps each item's bytes in order and its
    fields (caption on the first, supports_streaming, size and length)."""
    videos = [os.urandom(3000), os.urandom(4000)]
    media = [
        InputMediaVideo(InputFile(data, filename=f"video_{n}.mp4", attach=True),
                        caption="A kitten" if n == 1 else None, width=1280, height=720,
                        duration=8, supports_streaming=True)
        for n, data in enumerate(videos, start=1)
    ]  # fmt: skip
    messages = await bot.send_media_group(CHAT, media, reply_to_message_id=None)
    call = fake.calls_to("sendMediaGroup")[-1]
    uploads = call.media_files()
    assert [u.data if u else None for u in uploads] == videos
    assert [u.content_type if u else None for u in uploads] == ["video/mp4", "video/mp4"]
    items = call.json("media")
    assert [i.get("supports_streaming") for i in items] == [True, True]
    assert [i.get("caption") for i in items] == ["A kitten", None]
    assert len({m.media_group_id for m in messages}) == 1
    assert messages[0].media_group_id is not None
    assert [(m.video.width, m.video.duration) for m in messages if m.video] == [
        (1280, dtm.timedelta(seconds=8)), (1280, dtm.timedelta(seconds=8)),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("media", "error"),
    [
        (["video"] * 11, "too many messages to send as an album"),
        (["video", "document"], "document can't be mixed with other media types"),
    ],
)
async def test_album_refused_as_a_whole(
    bot: Bot, fake: FakeTelegram, media: list[str], error: str
) -> None:
    """A bad album is refused with Telegram's words, and nothing of it is sent."""
    items = [
        (InputMediaVideo if kind == "video" else InputMediaDocument)(
            InputFile(b"x" * 100, filename=f"f{n}.mp4", attach=True)
        )
        for n, kind in enumerate(media)
    ]
    with pytest.raises(BadRequest, match=error.capitalize()):
        await bot.send_media_group(CHAT, items)
    assert fake.bot_messages(CHAT) == []


async def test_empty_album_is_refused(bot: Bot, fake: FakeTelegram) -> None:
    async with httpx.AsyncClient() as client:  # PTB itself cannot send an empty album
        answer = await client.post(
            f"{fake.base_url}{fake.token}/sendMediaGroup", data={"chat_id": CHAT, "media": "[]"}
        )
    assert answer.status_code == 400
    assert answer.json()["description"] == "Bad Request: there are no messages to send"


async def test_album_of_one_is_an_ordinary_message(bot: Bot, fake: FakeTelegram) -> None:
    (message,) = await bot.send_media_group(CHAT, [InputMediaVideo(b"v" * 100, filename="a.mp4")])
    assert message.video is not None
    assert message.media_group_id is None


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
