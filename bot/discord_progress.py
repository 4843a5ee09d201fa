"""Shows a Discord job's progress and videos: on the interaction's response while it lives, else
in a channel message; survives a deleted message, an expired token and a forbidden channel."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.discord_uploads import Upload
from bot.feed import Paced

log = logging.getLogger(__name__)

# What the bot needs in a channel to post there, as Discord's permission names.
_NEEDED = (("view_channel", "View Channel"), ("send_messages", "Send Messages"))
_NEEDED_FOR_FILES = (("attach_files", "Attach Files"),)
_MOVED = "⬇️ Progress continues in a message below."


@dataclass
class JobMessage(Paced):
    """Where one job is shown: the interaction's response, then a channel message."""

    channel_id: int
    user_id: int
    interaction: discord.Interaction | None
    leave_at: float  # monotonic time to move to a channel message (before the token expires)
    message: discord.Message | None = None
    text: str = ""
    sent: int = 0  # videos delivered so far (a retried delivery does not send them twice)
    blocked: str | None = None  # why nothing more can be posted (the user was told if possible)

    @property
    def on_interaction(self) -> bool:
        """Whether to show things on the interaction's response (else in the channel)."""
        return self.interaction is not None and time.monotonic() < self.leave_at


def files(uploads: Sequence[Upload]) -> list[discord.File]:
    """New Files for every send: discord.py closes them after any send, even a failed one."""
    return [discord.File(path, filename=name) for path, name in uploads]


def cancel_view(job_id: str) -> discord.ui.View:
    """The Cancel button under a running job's progress."""
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(
            label="Cancel", style=discord.ButtonStyle.danger, custom_id=f"cancel:{job_id}"
        )
    )
    return view


def _response_gone(exc: discord.HTTPException) -> bool:
    """The interaction's response can no longer be edited: the token expired (401 50027) or
    the message or webhook was deleted (404 10008 Unknown Message, 10015 Unknown Webhook)."""
    return exc.status == 401 or (exc.status == 404 and exc.code in (10008, 10015))


class Messenger:
    """Posts progress text (throttled per message) and videos for jobs, with the fallbacks."""

    def __init__(self, client: discord.Client, interval_s: float) -> None:
        self.client, self.interval_s = client, interval_s

    async def show(
        self,
        where: JobMessage,
        text: str,
        *,
        job_id: str | None = None,
        final: bool = False,
        uploads: Sequence[Upload] = (),
    ) -> None:
        """Show `text` (with a Cancel button while running, or the videos at the end); a
        progress tick inside the interval is dropped, a final text waits for its turn."""
        async with where.lock:
            if where.blocked or (text == where.text and not uploads):
                return
            if not await where.my_turn(self.interval_s, final=final):
                return
            view = cancel_view(job_id) if job_id else None
            if not (
                where.on_interaction and await self._edit_response(where, text, view, uploads)
            ):
                try:
                    await self._in_channel(where, text, view, final, uploads)
                except discord.Forbidden as exc:
                    if not await self._stay_on_response(where, exc, text, view, uploads):
                        await self._blocked(where, exc, bool(uploads))
                        return
            where.text, where.last_edit = text, time.monotonic()

    async def send_more(self, where: JobMessage, text: str, uploads: Sequence[Upload]) -> None:
        """A further message after the final one (videos that did not fit in it)."""
        async with where.lock:
            if where.blocked:
                return
            if where.on_interaction:
                assert where.interaction is not None
                try:
                    await where.interaction.followup.send(text, files=files(uploads))
                    return
                except discord.HTTPException as exc:
                    if not _response_gone(exc):
                        raise
                where.interaction = None
            try:
                channel = await self._channel(where)
                await channel.send(content=text, files=files(uploads))
            except discord.Forbidden as exc:
                await self._blocked(where, exc, True)

    async def _edit_response(
        self,
        where: JobMessage,
        text: str,
        view: discord.ui.View | None,
        uploads: Sequence[Upload],
    ) -> bool:
        """Edit the interaction's response; False when it is gone (then the channel takes over)."""
        assert where.interaction is not None
        try:
            await where.interaction.edit_original_response(
                content=text, view=view,
                attachments=files(uploads) if uploads else discord.utils.MISSING,
            )  # fmt: skip
        except discord.HTTPException as exc:
            if not _response_gone(exc):
                raise
            log.info("the interaction's response is gone (%s %s); moving to the channel",
                     exc.status, exc.code)  # fmt: skip
            where.interaction = None
            return False
        return True

    async def _in_channel(
        self,
        where: JobMessage,
        text: str,
        view: discord.ui.View | None,
        final: bool,
        uploads: Sequence[Upload],
    ) -> None:
        channel = await self._channel(where)
        mention = f"<@{where.user_id}> " if final else ""
        allowed = discord.AllowedMentions(users=True, everyone=False, roles=False)
        if where.message is not None and not uploads:
            try:
                await where.message.edit(
                    content=mention + text, view=view, allowed_mentions=allowed
                )
                return
            except discord.NotFound:  # deleted by someone: post a new one
                where.message = None
        sent = await channel.send(
            content=mention + text, view=view or discord.utils.MISSING,
            files=files(uploads) if uploads else discord.utils.MISSING, allowed_mentions=allowed,
        )  # fmt: skip
        if where.interaction is not None:  # left before the token expired: say where we went
            with contextlib.suppress(discord.HTTPException):
                await where.interaction.edit_original_response(content=_MOVED, view=None)
            where.interaction = None
        if not uploads:
            where.message = sent
        elif where.message is not None:  # the videos replace the progress message
            with contextlib.suppress(discord.HTTPException):
                await where.message.delete()
            where.message = None

    async def _stay_on_response(
        self,
        where: JobMessage,
        exc: discord.Forbidden,
        text: str,
        view: discord.ui.View | None,
        uploads: Sequence[Upload],
    ) -> bool:
        """The channel refused us while the response still lives: stay on the response until
        Discord refuses it too (then `_blocked`). False when there is no response to stay on."""
        if where.interaction is None:
            return False
        log.warning(
            "cannot post in channel %s (%s); staying on the interaction's response; missing: %s",
            where.channel_id, exc.text, ", ".join(self._missing(where, bool(uploads))) or "?",
        )  # fmt: skip
        where.leave_at = math.inf
        return await self._edit_response(where, text, view, uploads)

    async def _blocked(self, where: JobMessage, exc: discord.Forbidden, uploading: bool) -> None:
        """Discord refused a channel post (403: 50001 Missing Access, 50013 Missing
        Permissions): log which permission is missing, tell the user where we still can, and
        post nothing more for this job."""
        missing = self._missing(where, uploading)
        log.error(
            "Discord refused to post in channel %s: %s (code %s); missing permissions: %s",
            where.channel_id, exc.text, exc.code, ", ".join(missing) or "none that I can see",
        )  # fmt: skip
        what = "the video" if uploading else "messages"
        if missing:
            names = " and ".join(
                [", ".join(missing[:-1]), missing[-1]] if missing[1:] else missing
            )
            where.blocked = (
                f"❌ I can't post {what} in this channel: I need the {names} "
                f"permission{'s' * (len(missing) > 1)}. A server admin can grant "
                f"{'them' if missing[1:] else 'it'}; then try again."
            )
        else:
            where.blocked = f"❌ Discord did not let me post {what} in this channel."
        if where.message is not None:  # our own progress message can still be edited
            with contextlib.suppress(discord.HTTPException):
                await where.message.edit(
                    content=f"<@{where.user_id}> {where.blocked}", view=None,
                    allowed_mentions=discord.AllowedMentions(users=True),
                )  # fmt: skip

    def _missing(self, where: JobMessage, uploading: bool) -> list[str]:
        """The permissions the bot lacks in the job's channel, as the server shows them."""
        channel = self.client.get_channel(where.channel_id)
        if not isinstance(channel, discord.abc.GuildChannel):
            return []
        me = channel.guild.me
        granted = channel.permissions_for(me)
        needed = _NEEDED + (_NEEDED_FOR_FILES if uploading else ())
        return [label for name, label in needed if not getattr(granted, name)]

    async def _channel(self, where: JobMessage) -> discord.abc.Messageable:
        channel = self.client.get_channel(where.channel_id) or await self.client.fetch_channel(
            where.channel_id
        )
        assert isinstance(channel, discord.abc.Messageable)
        return channel
