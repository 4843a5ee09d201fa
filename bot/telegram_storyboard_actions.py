"""What a Telegram user does with a storyboard: the buttons under it (🎲 Redraw N, ✏️ Edit N,
▶️ Render, ✖ Cancel), a reply `N: wish` to the storyboard message, and the reply to a "send the
new line" prompt. Only the user who asked may act; the core says what is allowed, and its
refusals come back as one short line. Each handler returns at once: redraws and the render run
in a worker, followed in a message."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram import ForceReply, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes, filters

from bot.telegram_intake import PLATFORM
from bot.telegram_progress import cancel_button
from bot.telegram_storyboard import TelegramStoryboards, reply_to
from bot.telegram_storyboard_view import (
    BUTTONS_KEY,
    CANCEL,
    CANCELLED,
    EDIT,
    GONE,
    NOT_YOURS,
    PHOTOS_KEY,
    REDRAW,
    RENDERING,
    REPLY_HOW,
    Press,
    caption,
    edit_key,
    edit_prompt,
    message_ids,
    read_press,
    read_redraw_reply,
)
from core.errors import CoreError, NotAwaitingApproval
from core.models import Job, JobStatus, Origin

if TYPE_CHECKING:
    from bot.telegram_adapter import TelegramAdapter

log = logging.getLogger(__name__)

# New text messages replying to a message (of the bot's: checked in the handler), no commands.
REPLIES = filters.UpdateType.MESSAGE & filters.REPLY & filters.TEXT & ~filters.COMMAND
_ANSWER_MAX = 200  # characters of a callback query's answer
_LOOKED_AT = 20  # the user's newest jobs searched for the storyboard a reply belongs to


class StoryboardActions:
    """The storyboard's button and reply handlers, over the adapter's job service."""

    def __init__(self, adapter: TelegramAdapter, boards: TelegramStoryboards) -> None:
        self.adapter, self.boards, self.jobs = adapter, boards, adapter.jobs

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A storyboard button: only its owner may press; the core's refusal is an alert."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        press = read_press(query.data)
        if press is None:
            await query.answer()
            return
        try:
            job = await self.jobs.get(press.job_id)
        except CoreError:
            await query.answer(GONE, show_alert=True)
            return
        if str(query.from_user.id) != job.origin.user_id:
            await query.answer(NOT_YOURS, show_alert=True)
            return
        try:
            answer = await self._act(job, press)
        except CoreError as exc:
            await query.answer(f"⚠️ {exc}"[:_ANSWER_MAX], show_alert=True)
            return
        await query.answer(answer[:_ANSWER_MAX])

    async def _act(self, job: Job, press: Press) -> str:
        """Do what the button says; the short answer shown to the user."""
        scene = press.scene or 0
        if press.action == CANCEL:
            if job.status.finished:
                raise NotAwaitingApproval("that story has already ended")
            await self.jobs.cancel(job.id)
            await self.boards.close(job, CANCELLED)
            return "🚫 Cancelled."
        waiting(job)
        if press.action == REDRAW:
            await self.boards.redraw(job, scene)
            return f"🎲 Drawing scene {scene} again…"
        if press.action == EDIT:
            await self._prompt(job, scene)
            return f"✏️ Reply with the new line for scene {scene}."
        await self._render(job)
        return "▶️ Making your video…"

    async def _prompt(self, job: Job, scene: int) -> None:
        """Ask for scene `scene`'s new line in a force_reply prompt (remembered with the job,
        so the reply finds its scene after a restart too)."""
        board_scene = (await self.jobs.storyboards.get(job)).scene(scene)
        prompt = await self.adapter.app.bot.send_message(
            int(job.origin.chat_id), edit_prompt(board_scene), reply_parameters=reply_to(job),
            reply_markup=ForceReply(selective=True, input_field_placeholder=f"Scene {scene}"),
        )  # fmt: skip
        await self.jobs.remember(job.id, **{edit_key(prompt.message_id): str(scene)})

    async def _render(self, job: Job) -> None:
        """Make the video; follow it in a new progress message, which the delivery finds."""
        await self.jobs.storyboards.render(job)
        await self.boards.close(job, RENDERING)
        progress = await self.adapter.app.bot.send_message(
            int(job.origin.chat_id), "▶️ Got it — making your video…",
            reply_markup=cancel_button(job.id), reply_parameters=reply_to(job),
        )  # fmt: skip
        await self.adapter.follow_in(job, progress)

    async def reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A reply to a storyboard message (`N: wish` redraws scene N with that wish) or to a
        "send the new line" prompt (the new line); other replies are none of the storyboard's
        business."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.text is None:
            return
        replied = message.reply_to_message
        bot_id = self.adapter.app.bot.id
        if replied is None or replied.from_user is None or replied.from_user.id != bot_id:
            return
        found = await self._find(str(user.id), str(message.chat_id), replied.message_id)
        if found is None:
            return
        job, scene = found
        try:
            if scene is None:
                wish = read_redraw_reply(message.text)
                if wish is None:
                    await message.reply_text(REPLY_HOW)
                    return
                waiting(job)
                await self.boards.redraw(job, *wish)
            else:
                await self._edit(job, scene, message)
        except CoreError as exc:
            await message.reply_text(f"⚠️ {exc}")

    async def _find(
        self, user_id: str, chat_id: str, message_id: int
    ) -> tuple[Job, int | None] | None:
        """The user's job whose storyboard message (scene None) or line prompt (its scene) is
        `message_id` in this chat."""
        for job in await self.jobs.recent(Origin(PLATFORM, user_id), limit=_LOOKED_AT):
            extra = job.origin.extra
            if job.origin.chat_id != chat_id:
                continue
            if extra.get(BUTTONS_KEY) == str(message_id):
                return job, None
            if (scene := extra.get(edit_key(message_id))) is not None:
                return job, int(scene)
        return None

    async def _edit(self, job: Job, scene: int, message: Message) -> None:
        """Scene `scene`'s new line: stored (the core checks it), its picture's caption
        changed, a short confirmation."""
        changed = await self.jobs.storyboards.edit(job, scene, message.text or "")
        photos = message_ids(job, PHOTOS_KEY)
        if scene <= len(photos):
            try:
                await self.adapter.app.bot.edit_message_caption(
                    chat_id=message.chat_id, message_id=photos[scene - 1],
                    caption=caption(changed),
                )  # fmt: skip
            except BadRequest as exc:  # the picture was deleted, or the line is the same
                log.info("job %s: scene %d's caption not changed: %s", job.id, scene, exc)
        await message.reply_text(f"✅ Scene {scene} now says: “{changed.script}”")


def waiting(job: Job) -> None:
    """`NotAwaitingApproval` unless the job's storyboard waits for the user (said before any
    message changes)."""
    if job.status is JobStatus.AWAITING_APPROVAL:
        return
    if job.status.finished:
        raise NotAwaitingApproval(f"the story is {job.status.value}: its storyboard is done")
    raise NotAwaitingApproval("the storyboard is being drawn or the video made: wait a moment")
