"""Pictures users send to the Telegram bot (a photo, or an image sent as a file): found and
checked from the message alone, then downloaded (so a refusal costs no download)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Bot, Message
from telegram.error import TelegramError

from core.errors import InvalidRequest

log = logging.getLogger(__name__)

_DOWNLOAD_LIMIT = 20_000_000  # getFile on the cloud Bot API


@dataclass(frozen=True, slots=True)
class PictureFile:
    """A picture a user sent: its file id on Telegram and its size, if Telegram gave it."""

    file_id: str
    size: int | None


def find_picture(message: Message, *, files_must_be_pictures: bool = False) -> PictureFile | None:
    """The photo sent with the command or replied to (its largest size), or a picture sent as
    a file; None when there is none. A picture over the download limit is refused here, before
    any download; so is a file that is no picture when `files_must_be_pictures`."""
    for source in (message, message.reply_to_message):
        if source is None:
            continue
        if source.photo:
            largest = max(source.photo, key=lambda size: size.width * size.height)
            picture = PictureFile(largest.file_id, largest.file_size)
        elif source.document and (source.document.mime_type or "").startswith("image/"):
            picture = PictureFile(source.document.file_id, source.document.file_size)
        elif source.document and files_must_be_pictures:
            name = (source.document.file_name or "that file")[:60]
            raise InvalidRequest(f"“{name}” is not a picture; send a photo, or a PNG or JPEG")
        else:
            continue
        if picture.size is not None and picture.size > _DOWNLOAD_LIMIT:
            raise InvalidRequest(
                f"that picture is {picture.size / 1e6:.0f} MB; I can fetch pictures of up to "
                f"{_DOWNLOAD_LIMIT / 1e6:.0f} MB — send it as a photo instead"
            )
        return picture
    return None


async def download(bot: Bot, picture: PictureFile) -> bytes:
    """The picture's bytes (never logged: a user's photo stays between them and the job)."""
    try:
        file = await bot.get_file(picture.file_id)
        return bytes(await file.download_as_bytearray())
    except TelegramError as exc:  # the file URL holds the token: log the type only
        log.warning("could not download a picture: %s", type(exc).__name__)
        raise InvalidRequest("I could not fetch that picture; please send it again") from None


async def fetch_picture(bot: Bot, message: Message) -> bytes | None:
    """The picture sent with the command or replied to, downloaded; None when there is none."""
    picture = find_picture(message)
    return None if picture is None else await download(bot, picture)
