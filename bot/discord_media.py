"""Pictures users attach to a Discord command (/video's first frame, /story's hero): checked
from the attachment's metadata before any download, then fetched from its signed URL."""

from __future__ import annotations

import mimetypes

import discord

from core.errors import InvalidRequest

MAX_PICTURE_BYTES = 20 * 1024 * 1024  # a picture bigger than this is surely a mistake


def check_picture(attachment: discord.Attachment) -> None:
    """Refuse, before downloading it, a file that is no picture or far too big for one."""
    kind = attachment.content_type or mimetypes.guess_type(attachment.filename)[0] or ""
    name = discord.utils.escape_markdown(attachment.filename[:60])
    if not kind.startswith("image/"):
        raise InvalidRequest(f"“{name}” is not a picture; send a PNG or JPEG")
    if attachment.size > MAX_PICTURE_BYTES:
        raise InvalidRequest(
            f"“{name}” is {attachment.size / 2**20:.0f} MB; send a picture under "
            f"{MAX_PICTURE_BYTES / 2**20:.0f} MB"
        )


async def read_picture(attachment: discord.Attachment) -> bytes:
    """The attachment's bytes (never logged: a user's photo stays between them and the job)."""
    try:
        return await attachment.read()
    except discord.HTTPException:
        raise InvalidRequest("I could not fetch that picture; please send it again") from None
