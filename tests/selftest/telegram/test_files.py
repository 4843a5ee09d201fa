"""The fake Telegram's uploads, files, photos, thumbnails and albums, as python-telegram-bot 22
sends and reads them."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import os

import httpx
import pytest
from PIL import Image
from telegram import Bot, InputFile, InputMediaDocument, InputMediaVideo, MessageEntity, Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes, MessageHandler, filters

from tests.selftest.telegram.helpers import CHAT, jpeg
from tests.telegram_server import FakeTelegram

pytestmark = pytest.mark.timeout(30)


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
