"""Pictures users send to the Telegram bot (a photo, or an image sent as a file)."""

from __future__ import annotations

import logging

from telegram import Bot, Message
from telegram.error import TelegramError

from core.errors import InvalidRequest

log = logging.getLogger(__name__)

_DOWNLOAD_LIMIT = 20_000_000  # getFile on the cloud Bot API


async def fetch_picture(bot: Bot, message: Message) -> bytes | None:
    """The photo sent with the command or replied to (its largest size), or a picture sent
    as a file; None when there is none."""
    for source in (message, message.reply_to_message):
        if source is None:
            continue
        if source.photo:
            largest = max(source.photo, key=lambda size: size.width * size.height)
            file_id, size = largest.file_id, largest.file_size
        elif source.document and (source.document.mime_type or "").startswith("image/"):
            file_id, size = source.document.file_id, source.document.file_size
        else:
            continue
        if size is not None and size > _DOWNLOAD_LIMIT:
            raise InvalidRequest(
                f"that picture is {size / 1e6:.0f} MB; I can fetch pictures of up to "
                f"{_DOWNLOAD_LIMIT / 1e6:.0f} MB — send it as a photo instead"
            )
        try:
            file = await bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:  # the file URL holds the token: log the type only
            log.warning("could not download a picture: %s", type(exc).__name__)
            raise InvalidRequest("I could not fetch that picture; please send it again") from None
    return None
