"""The storyboard of a Telegram preview story: its delivery (the outbox's `telegram:storyboard`
consumer) and the storyboard message's life.

When the storyboard is ready the progress message says so, the scenes' pictures go as an album
(one photo for a one-scene story) replying to the request, each captioned with its line, and
one message follows with the buttons. When it comes back after a redraw, the pictures drawn
again are replaced in place (`editMessageMedia`) and the buttons refreshed; when it expired,
the storyboard message says so. Every message id is remembered with the job, so all of it works
after a restart."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup, InputFile, InputMediaPhoto, ReplyParameters
from telegram.error import BadRequest, Forbidden

from bot.feed import follow
from bot.telegram_progress import ProgressMessage, cancel_button
from bot.telegram_storyboard_view import (
    BUTTONS_KEY,
    DRAWS_KEY,
    EXPIRED,
    PHOTOS_KEY,
    READY,
    board_text,
    caption,
    joined,
    keyboard,
    message_ids,
    redrawing,
)
from core.errors import DeliveryRefused
from core.models import Job, JobId, JobStatus
from core.storyboard import BoardScene, Storyboard

if TYPE_CHECKING:
    from bot.telegram_adapter import TelegramAdapter

log = logging.getLogger(__name__)

_REFUSED = ("chat not found", "bot was kicked", "not enough rights", "have no rights")
_GONE = "message to edit not found"


class TelegramStoryboards:
    """Shows storyboards in their chat and keeps the storyboard message up to date."""

    def __init__(self, adapter: TelegramAdapter) -> None:
        self.adapter, self.jobs, self.bot = adapter, adapter.jobs, adapter.app.bot
        self._redraws: dict[JobId, asyncio.Task[None]] = {}
        self._locks: dict[JobId, asyncio.Lock] = {}

    def _lock(self, job_id: JobId) -> asyncio.Lock:
        """One change of a job's storyboard messages at a time (a redraw's progress starts
        before the redrawn storyboard is shown)."""
        return self._locks.setdefault(job_id, asyncio.Lock())

    async def show(self, job: Job) -> None:
        """The outbox's storyboard handler: the storyboard first shown, shown again after a
        redraw, or ended (expired). A refusal of the chat is final."""
        try:
            async with self._lock(job.id):
                await self._show(job)
        except Forbidden as exc:
            raise DeliveryRefused(f"Telegram refused chat {job.origin.chat_id}: {exc}") from None
        except BadRequest as exc:
            if any(words in exc.message.lower() for words in _REFUSED):
                raise DeliveryRefused(
                    f"Telegram refused chat {job.origin.chat_id}: {exc}"
                ) from None
            raise

    async def _show(self, job: Job) -> None:
        await self.stop_following(job.id)  # the storyboard message is the storyboard's again
        if job.status is JobStatus.CANCELLED:  # only an expiry shows a cancelled storyboard
            await self.close(job, EXPIRED)
            return
        if job.status is not JobStatus.AWAITING_APPROVAL:
            return  # redrawn or rendered meanwhile: a newer turn of the outbox shows it
        board = await self.jobs.storyboards.get(job)
        photos = message_ids(job, PHOTOS_KEY)
        progress = self.adapter.progress_of(job, stored=not photos)
        if not photos:
            photos = await self._send_pictures(job, board)
        else:
            photos = await self._replace_redrawn(job, board, photos)
        draws = [scene.draws for scene in board.scenes]
        await self.jobs.remember(job.id, **{PHOTOS_KEY: joined(photos), DRAWS_KEY: joined(draws)})
        await self.refresh(job, board)
        if progress is not None:  # first shown, or followed again after a restart; last: its
            await self.adapter.progress.edit(progress, READY, final=True)  # turn may be later

    async def _send_pictures(self, job: Job, board: Storyboard) -> list[int]:
        """Each scene's picture captioned with its line: an album, or one photo."""
        chat_id, reply = int(job.origin.chat_id), reply_to(job)
        pictures = [await self.jobs.storyboards.preview(job, s.index) for s in board.scenes]
        if len(board.scenes) == 1:
            sent = await self.bot.send_photo(
                chat_id, InputFile(pictures[0], filename="scene_01.jpg"),
                caption=caption(board.scenes[0]), reply_parameters=reply,
            )  # fmt: skip
            return [sent.message_id]
        album = [
            InputMediaPhoto(
                InputFile(data, filename=f"scene_{scene.index:02d}.jpg", attach=True),
                caption=caption(scene),
            )
            for scene, data in zip(board.scenes, pictures, strict=True)
        ]
        messages = await self.bot.send_media_group(chat_id, album, reply_parameters=reply)
        return [message.message_id for message in messages]

    async def _replace_redrawn(self, job: Job, board: Storyboard, photos: list[int]) -> list[int]:
        """The pictures drawn again since shown, replaced in place (a deleted one sent anew)."""
        shown, photos = message_ids(job, DRAWS_KEY), list(photos)
        for n, scene in enumerate(board.scenes):
            old = photos[n] if n < len(photos) else None
            if old is not None and n < len(shown) and shown[n] == scene.draws:
                continue
            new = await self._replace(job, scene, old)
            if old is None:
                photos.append(new)
            else:
                photos[n] = new
        return photos

    async def _replace(self, job: Job, scene: BoardScene, message_id: int | None) -> int:
        """Scene `scene`'s new picture in its album item `message_id` (`editMessageMedia`,
        which keeps its place in the album), or as a new photo if that is gone."""
        picture = await self.jobs.storyboards.preview(job, scene.index)
        chat_id, name = int(job.origin.chat_id), f"scene_{scene.index:02d}.jpg"
        if message_id is not None:
            media = InputMediaPhoto(
                InputFile(picture, filename=name, attach=True), caption=caption(scene)
            )
            try:
                await self.bot.edit_message_media(media, chat_id, message_id)
                return message_id
            except BadRequest as exc:
                if _GONE not in exc.message.lower():
                    raise
        sent = await self.bot.send_photo(
            chat_id, InputFile(picture, filename=name), caption=caption(scene),
            reply_parameters=reply_to(job),
        )  # fmt: skip
        return int(sent.message_id)

    async def refresh(self, job: Job, board: Storyboard) -> None:
        """The storyboard message with its buttons (sent anew if there is none, or it was
        deleted)."""
        text = board_text(job, board)
        markup = keyboard(job.id, board, self.adapter.settings.preview_redraws)
        if await self._edit(job, text, markup):
            return
        sent = await self.bot.send_message(int(job.origin.chat_id), text, reply_markup=markup)
        await self.jobs.remember(job.id, **{BUTTONS_KEY: str(sent.message_id)})

    async def close(self, job: Job, text: str) -> None:
        """The storyboard message says `text`, without buttons (or it is sent, if gone): the
        storyboard is done with (rendered, cancelled, expired)."""
        self._locks.pop(job.id, None)
        if not await self._edit(job, text, None):
            await self.bot.send_message(int(job.origin.chat_id), text)

    async def _edit(self, job: Job, text: str, markup: InlineKeyboardMarkup | None) -> bool:
        """Edit the storyboard message; False if there is none (any more)."""
        message_id = job.origin.extra.get(BUTTONS_KEY)
        if message_id is None:
            return False
        try:
            await self.bot.edit_message_text(
                text, chat_id=int(job.origin.chat_id), message_id=int(message_id),
                reply_markup=markup,
            )  # fmt: skip
        except BadRequest as exc:
            reason = exc.message.lower()
            if _GONE in reason:
                return False
            if "not modified" not in reason:
                raise
        return True

    async def redraw(self, job: Job, scene: int, hint: str | None = None) -> None:
        """Draw scene `scene` again (the core refuses what it must); the storyboard message
        shows the drawing, with a Cancel button, until the storyboard comes back."""
        async with self._lock(job.id):  # `show` of the redrawn storyboard comes after this
            await self.jobs.storyboards.redraw(job, scene, hint)
            text = redrawing(scene, hint)
            if await self._edit(job, text, cancel_button(job.id)):
                message_id = int(job.origin.extra[BUTTONS_KEY])
                message = ProgressMessage(
                    int(job.origin.chat_id), message_id, text, last_edit=time.monotonic()
                )
                self._follow(job.id, message)

    def _follow(self, job_id: JobId, message: ProgressMessage) -> None:
        """Progress in the storyboard message until the storyboard is back (`show` stops it)
        or the job ends (its last word shown there)."""

        async def show(text: str, final: bool) -> None:
            markup = None if final else cancel_button(job_id)
            await self.adapter.progress.edit(message, text, final=final, markup=markup)

        interval = self.adapter.settings.progress_interval_s
        task = asyncio.create_task(follow(self.jobs, job_id, interval, show))
        self._redraws[job_id] = task
        task.add_done_callback(lambda done: self._followed(job_id, done))

    def _followed(self, job_id: JobId, task: asyncio.Task[None]) -> None:
        if self._redraws.get(job_id) is task:
            del self._redraws[job_id]
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("following a redraw failed", exc_info=error)

    async def stop_following(self, job_id: JobId) -> None:
        """No more progress edits of the storyboard message for this job."""
        task = self._redraws.pop(job_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop every redraw's progress (the adapter stops)."""
        for job_id in list(self._redraws):
            await self.stop_following(job_id)


def reply_to(job: Job) -> ReplyParameters | None:
    """A reply to the job's request message, if it is known (sent anyway if it was deleted)."""
    request = job.origin.extra.get("request_message_id")
    if request is None:
        return None
    return ReplyParameters(int(request), allow_sending_without_reply=True)
