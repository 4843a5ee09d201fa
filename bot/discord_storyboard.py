"""Shows a preview story's storyboard on Discord (the outbox's "discord:storyboard" consumer):
the scene pictures with their lines in channel messages, the buttons under the last one; after a
redraw the changed picture is replaced in its message, the others kept; an expired storyboard
says so. Channel messages never expire, and what they hold is remembered with the job."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator

import discord

from bot import discord_uploads as uploads
from bot.discord_progress import JobMessage, Messenger
from bot.discord_storyboard_layout import Layout, buttons, content, picture_name, plan
from core.errors import DeliveryRefused, NotAwaitingApproval
from core.models import Job, JobId, JobStatus
from core.service import JobService
from core.storyboard import EXPIRED, Storyboard

log = logging.getLogger(__name__)

READY = (
    "🖼️ Your storyboard is ready below: 🎲 draw a picture again, ✏️ change a line, then ▶️ Render."
)
EXPIRED_TEXT = "⌛ This storyboard waited too long and expired. Start again with /story."
CANCELLED_TEXT = "🚫 Cancelled."
_CANNOT_POST = (
    "❌ I can't post the storyboard in this channel: I need the Send Messages and Attach Files "
    "permissions. A server admin can grant them; then try again."
)


class DiscordStoryboard:
    """Posts and updates the storyboard messages of the jobs asked for on Discord."""

    def __init__(
        self,
        client: discord.Client,
        jobs: JobService,
        messenger: Messenger,
        where: dict[str, JobMessage],
    ) -> None:
        self.client, self.jobs, self.messenger = client, jobs, messenger
        self._where = where  # the adapter's progress messages, by job
        self._locks: dict[JobId, asyncio.Lock] = {}

    # ------------------------------------------------------------------ the outbox's consumer

    async def show(self, job: Job) -> None:
        """Show the storyboard that became ready (post it, or replace the pictures drawn
        again), or say that it expired. `DeliveryRefused` when Discord refuses the channel."""
        async with self._lock(job.id):
            job = await self.jobs.get(job.id)  # what an earlier try remembered, too
            if job.status is JobStatus.CANCELLED:
                text = EXPIRED_TEXT if job.error == EXPIRED else CANCELLED_TEXT
                where = self._where.pop(job.id, None)
                if Layout.of(job).messages:
                    await self._settle(job, text)
                else:  # it ended before it was shown: say so where its progress was
                    await self.messenger.show(where or _in_channel(job), text, final=True)
                return
            if job.status is not JobStatus.AWAITING_APPROVAL:
                return  # drawn again or rendered meanwhile: the next ready shows it
            board = await self.jobs.storyboards.get(job)
            layout = Layout.of(job)
            where = self._where.pop(job.id, None)
            if where is None and not layout.messages:  # after a restart: say so in the channel
                where = _in_channel(job)
            if where is not None:  # the progress message, which followed the drawing
                await self.messenger.show(where, READY, final=True)
            try:
                if layout.covers < len(board.scenes):
                    await self._post(job, board, layout)
                else:
                    await self._redrawn(job, board, layout)
            except discord.Forbidden as exc:
                log.error("job %s: Discord refused the storyboard: %s", job.id, exc.text)
                if where is not None:
                    await self.messenger.show(where, _CANNOT_POST, final=True)
                raise DeliveryRefused(_CANNOT_POST) from exc

    # ------------------------------------------------------------------ for the buttons

    async def refresh(self, job: Job) -> None:
        """Show the lines and buttons as the store has them now (after an edited line)."""
        async with self._lock(job.id):
            board = await self.jobs.storyboards.get(job)
            groups = Layout.of(await self.jobs.get(job.id)).groups()
            for number, (mid, scenes) in enumerate(groups, start=1):
                last = number == len(groups)
                try:
                    await self._channel(job).get_partial_message(mid).edit(
                        content=content(board, scenes, last=last),
                        view=buttons(job.id, board) if last else discord.utils.MISSING,
                    )  # fmt: skip
                except discord.HTTPException as exc:  # deleted, say: nothing to show there
                    log.warning("job %s: storyboard message %s not edited (%s %s)",
                                job.id, mid, exc.status, exc.code)  # fmt: skip

    async def settle(self, job: Job, footer: str) -> None:
        """The storyboard's last word (rendering, cancelled, expired): `footer` under the
        lines, the buttons gone."""
        async with self._lock(job.id):
            await self._settle(await self.jobs.get(job.id), footer)

    # ------------------------------------------------------------------ helpers

    async def _post(self, job: Job, board: Storyboard, layout: Layout) -> None:
        """Post the scenes not posted yet (all, the first time), as few messages as Discord's
        limits allow; each message is remembered as soon as it is posted."""
        first = layout.covers + 1
        previews = {
            n: await self.jobs.storyboards.preview(job, n)
            for n in range(first, len(board.scenes) + 1)
        }
        counts = plan(board, first, [len(p) for p in previews.values()], self._budget(job))
        for number, count in enumerate(counts, start=1):
            scenes = range(first, first + count)
            last = number == len(counts)
            message = await self._channel(job).send(
                content=content(board, scenes, last=last),
                files=[_file(previews[n], n) for n in scenes],
                view=buttons(job.id, board) if last else discord.utils.MISSING,
            )  # fmt: skip
            layout = layout.posted(message.id, board.scenes[first - 1 : first - 1 + count])
            await self.jobs.remember(job.id, **layout.extra())
            first += count

    async def _redrawn(self, job: Job, board: Storyboard, layout: Layout) -> None:
        """Replace the pictures drawn again in their messages (the other attachments kept by
        id) and refresh the buttons. A message that cannot be fetched or edited (deleted, or
        no Read Message History) is posted again, whole, with the new pictures."""
        changed = layout.changed(board)
        groups = layout.groups()
        for number, (mid, scenes) in enumerate(groups, start=1):
            last = number == len(groups)
            if not last and not changed.intersection(scenes):
                continue
            text = content(board, scenes, last=last)
            view = buttons(job.id, board) if last else discord.utils.MISSING
            try:
                if not changed.intersection(scenes):  # only the buttons change
                    await self._channel(job).get_partial_message(mid).edit(content=text, view=view)
                    continue
                message = await self._channel(job).fetch_message(mid)
                kept = {a.filename: a for a in message.attachments}
                files: list[discord.Attachment | discord.File] = [
                    kept[picture_name(n)]
                    if n not in changed and picture_name(n) in kept
                    else _file(await self.jobs.storyboards.preview(job, n), n)
                    for n in scenes
                ]
                await message.edit(content=text, attachments=files, view=view)
            except (discord.NotFound, discord.Forbidden) as exc:
                log.warning("job %s: storyboard message %s is out of reach (%s); posting it "
                            "again", job.id, mid, exc.status)  # fmt: skip
                previews = [await self.jobs.storyboards.preview(job, n) for n in scenes]
                again = await self._channel(job).send(
                    content=text, view=view,
                    files=[_file(p, n) for p, n in zip(previews, scenes, strict=True)],
                )  # fmt: skip
                layout = layout.moved(mid, again.id)
                if last:  # its buttons moved along (they would still work)
                    with contextlib.suppress(discord.HTTPException):
                        await self._channel(job).get_partial_message(mid).edit(view=None)
        await self.jobs.remember(job.id, **layout.shown(board).extra())

    async def _settle(self, job: Job, footer: str) -> None:
        groups = Layout.of(job).groups()
        self._locks.pop(job.id, None)
        if not groups:
            return
        mid, scenes = groups[-1]
        try:
            text = content(await self.jobs.storyboards.get(job), scenes, last=True, footer=footer)
        except NotAwaitingApproval:  # no storyboard left to list
            text = footer
        try:
            await self._channel(job).get_partial_message(mid).edit(content=text, view=None)
        except discord.HTTPException as exc:  # deleted, say: its buttons went with it
            log.warning("job %s: storyboard message %s not settled (%s %s)",
                        job.id, mid, exc.status, exc.code)  # fmt: skip

    def _channel(self, job: Job) -> discord.PartialMessageable:
        return self.client.get_partial_messageable(int(job.origin.chat_id))

    def _budget(self, job: Job) -> int:
        """Bytes one message may carry: the request limit, or one file's when bigger."""
        advertised = job.origin.extra.get("filesize_limit")
        limit = int(advertised or discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES)
        return uploads.budget(int(limit * uploads.MARGIN))

    @contextlib.asynccontextmanager
    async def _lock(self, job_id: JobId) -> AsyncIterator[None]:
        """One change of a job's storyboard messages at a time."""
        async with self._locks.setdefault(job_id, asyncio.Lock()):
            yield


def _in_channel(job: Job) -> JobMessage:
    """A new message in the job's channel (no interaction to answer on)."""
    return JobMessage(int(job.origin.chat_id), int(job.origin.user_id), None, 0.0)


def _file(jpeg: bytes, scene: int) -> discord.File:
    return discord.File(io.BytesIO(jpeg), filename=picture_name(scene))
