"""Telegram front end: parse → submit to the job service → one progress message edited in place

`/story THEME` makes a story video (a photo sent with it becomes its hero) and `/sequel` goes on
with the last one (both in `bot.telegram_hero`); `/video PROMPT` (or a photo captioned `/video
PROMPT`, or `/video PROMPT` in reply to a photo) makes short clips, the photo being their first
frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.feed import follow
from bot.options import parse_video_words
from bot.render import done_summary, help_text
from bot.telegram_delivery import VideoSender
from bot.telegram_hero import STORY_CAPTION, StoryHandlers
from bot.telegram_intake import PLATFORM, TelegramIntake
from bot.telegram_media import fetch_picture
from bot.telegram_progress import ProgressEditor, ProgressMessage, cancel_button
from bot.telegram_storyboard import TelegramStoryboards
from bot.telegram_storyboard_actions import REPLIES, StoryboardActions
from bot.telegram_storyboard_view import CALLBACK_PATTERN
from bot.telegram_text import (
    COMMANDS,
    HERO_HELP,
    PREVIEW_HELP,
    SEQUEL_HELP,
    UNCONFIRMED,
    VIDEO_EXAMPLE,
    VIDEO_HELP,
    ago,
    command_and_rest,
)
from core.config import Settings
from core.errors import CoreError, DeliveryUnconfirmed, InvalidRequest
from core.models import Job, JobId, JobKind, Origin, StoryVideo
from core.service import JobService
from core.storyboard import board_consumer

log = logging.getLogger(__name__)

_UPLOAD_MARGIN = 0.96  # stay a little under the limit: multipart overhead, rounding
# CommandHandler reads only `text`: a photo (or a picture sent as a file) captioned `/video …`
# needs a handler of its own. The `@name` is checked against the bot's own in the handler.
_VIDEO_CAPTION = re.compile(r"^/video(@\w+)?(\s|$)", re.IGNORECASE)


class TelegramAdapter:
    """The Telegram bot: its intake (polling or a webhook), handlers that return at once, and
    the delivery handler."""

    def __init__(self, jobs: JobService, settings: Settings) -> None:
        if settings.telegram_bot_token is None:
            raise CoreError("TELEGRAM_BOT_TOKEN is not set")
        self.jobs, self.settings = jobs, settings
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_bot_token.get_secret_value())
            .rate_limiter(AIORateLimiter(max_retries=0))
            .media_write_timeout(120)
        )
        if settings.telegram_api_base_url:
            builder = builder.base_url(settings.telegram_api_base_url)
        if settings.telegram_api_file_url:
            builder = builder.base_file_url(settings.telegram_api_file_url)
        self.app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        # New messages only: editing a `/story` or `/video` message must not start another job.
        new = filters.UpdateType.MESSAGE
        self.app.add_handler(CommandHandler(["start", "help"], self.help, filters=new))
        stories = StoryHandlers(self)
        self.app.add_handler(CommandHandler("story", stories.story, filters=new))
        self.app.add_handler(
            MessageHandler(
                new & (filters.PHOTO | filters.Document.ALL) & filters.CaptionRegex(STORY_CAPTION),
                stories.story,
            )
        )
        self.app.add_handler(CommandHandler("sequel", stories.sequel, filters=new))
        self.app.add_handler(CommandHandler("video", self.video, filters=new))
        self.app.add_handler(
            MessageHandler(
                new
                & (filters.PHOTO | filters.Document.IMAGE)
                & filters.CaptionRegex(_VIDEO_CAPTION),
                self.video,
            )
        )
        self.app.add_handler(CommandHandler("status", self.status))
        self.app.add_handler(CommandHandler("cancel", self.cancel))
        self.app.add_handler(CallbackQueryHandler(self.button, pattern=r"^cancel:"))
        self.storyboards = TelegramStoryboards(self)
        actions = StoryboardActions(self, self.storyboards)
        self.app.add_handler(CallbackQueryHandler(actions.button, pattern=CALLBACK_PATTERN))
        self.app.add_handler(MessageHandler(REPLIES, actions.reply))
        self.app.add_error_handler(self.on_error)
        self._messages: dict[str, ProgressMessage] = {}
        self._followers: set[asyncio.Task[None]] = set()
        self.progress = ProgressEditor(self.app.bot, settings.progress_interval_s)
        self.sender = VideoSender(
            self.app.bot,
            jobs,
            limit_bytes=self.upload_limit,
            read_timeout_s=settings.telegram_upload_timeout_s,
        )
        self.intake = TelegramIntake(self.app, jobs, settings, self._adopt)

    @property
    def upload_limit(self) -> int:
        """Bytes a video may have: 50 MB on the cloud Bot API, more on a local server."""
        return int(self.settings.telegram_upload_limit_mb * 1_000_000 * _UPLOAD_MARGIN)

    async def __aenter__(self) -> TelegramAdapter:
        await self.app.initialize()
        await self.app.bot.set_my_commands(COMMANDS)
        await self.app.start()
        self.jobs.deliver_with(PLATFORM, self.deliver)
        self.jobs.deliver_with(board_consumer(PLATFORM), self.storyboards.show)
        await self.intake.start()
        return self

    async def stop_polling(self) -> None:
        """Take no new updates (shutdown); sending stays possible for jobs finishing now."""
        await self.intake.stop()

    async def _adopt(self) -> None:
        """Follow the unfinished jobs no one here follows (the lead was just taken: after a
        restart, or from a front end that died)."""
        for job in await self.jobs.unfinished(PLATFORM):
            if job.id not in self._messages:
                await self._reattach(job)

    async def _reattach(self, job: Job) -> None:
        """After a restart: follow a resumed job in its old progress message, or a new one."""
        message = self._message_of(job)
        if message is None:
            try:
                what = "video" if job.kind is JobKind.VIDEO else "story"
                sent = await self.app.bot.send_message(
                    int(job.origin.chat_id), f"🔄 Your {what} resumed after a restart…",
                    reply_markup=cancel_button(job.id),
                )  # fmt: skip
            except TelegramError as exc:
                log.warning("job %s: cannot post its progress message: %s", job.id, exc)
                return
            await self.jobs.remember(job.id, progress_message_id=str(sent.message_id))
            message = ProgressMessage(
                sent.chat_id, sent.message_id, sent.text or "", last_edit=time.monotonic()
            )
        self._messages[job.id] = message
        self._spawn(self._follow(job.id, message))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop_polling()
        for task in list(self._followers):  # jobs still running go on after the next start
            task.cancel()
        await asyncio.gather(*self._followers, return_exceptions=True)
        await self.storyboards.aclose()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    # ------------------------------------------------------------------ commands

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/start` and `/help`: what the bot does, an example, the options."""
        if update.effective_message is not None:
            await update.effective_message.reply_text(self.help_message())

    async def video(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/video [options] PROMPT`, typed or as a photo's caption: submit the job (a photo sent
        with it or replied to is its first frame), post the progress message, follow it."""
        message, user, chat = (
            update.effective_message,
            update.effective_user,
            update.effective_chat,
        )
        if message is None or user is None or chat is None:
            return
        command, rest = command_and_rest(message.text or message.caption or "")
        mention = command.partition("@")[2]
        if mention and mention.lower() != (self.app.bot.username or "").lower():
            return  # a caption addressed to another bot
        try:
            options, prompt = parse_video_words(rest)
            if not prompt.strip():
                raise InvalidRequest(f"say what the video should show, e.g. {VIDEO_EXAMPLE}")
            request = options.request(prompt)
            origin = Origin(PLATFORM, str(user.id), str(chat.id))
            await self.jobs.check_limits(origin, makes_clips=True)  # before any download
            picture = await fetch_picture(self.app.bot, message)
            job = await self.jobs.submit_video(request, origin, image=picture)
        except CoreError as exc:
            await message.reply_text(f"⚠️ {exc}")
            return
        await self.track(job, message, "🎬 Got it — making your video…")

    async def track(self, job: Job, message: Message, first: str) -> None:
        """Post the job's progress message (its place in line, if it has to wait) and follow
        the job in it."""
        position = await self.jobs.queue_position(job.id)
        if position is not None and position > self.settings.max_concurrent_jobs:
            first = f"⏳ Got it — #{position} in line"
        progress = await message.reply_text(first, reply_markup=cancel_button(job.id))
        await self.follow_in(job, progress, request_message_id=str(message.message_id))

    async def follow_in(self, job: Job, progress: Message, **remember: str) -> None:
        """Follow the job in its progress message `progress` (remembered, with `remember`: the
        delivery and a restart find it)."""
        await self.jobs.remember(job.id, progress_message_id=str(progress.message_id), **remember)
        tracked = ProgressMessage(
            progress.chat_id, progress.message_id, progress.text or "", last_edit=time.monotonic()
        )
        self._messages[job.id] = tracked
        self._spawn(self._follow(job.id, tracked))

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/status`: the user's recent jobs."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        jobs = await self.jobs.recent(Origin(PLATFORM, str(user.id)))
        if not jobs:
            await message.reply_text(f"Nothing yet. Try /story a cat and a dog or {VIDEO_EXAMPLE}")
            return
        now = datetime.now(UTC)
        lines = [
            f"{job.id} · {job.status.value} {job.percent}% · {job.subject[:40]} · "
            f"{ago(now - job.created_at)}"
            for job in jobs
        ]
        await message.reply_text("\n".join(lines))

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/cancel [JOB_ID]`: cancel the given job, or the user's newest unfinished one."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        jobs = await self.jobs.recent(Origin(PLATFORM, str(user.id)), limit=20)
        wanted = context.args[0] if context.args else None
        job = next(
            (j for j in jobs if (j.id == wanted if wanted else not j.status.finished)), None
        )
        if job is None or job.status.finished:
            await message.reply_text("Nothing to cancel.")
            return
        await self.jobs.cancel(job.id)
        await message.reply_text(f"🚫 Cancelled {job.id}.")

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The Cancel button under a progress message."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        job_id = JobId(query.data.removeprefix("cancel:"))
        try:
            job = await self.jobs.get(job_id)
        except CoreError:
            await query.answer("That job is gone.")
            return
        if str(query.from_user.id) != job.origin.user_id and (
            str(query.from_user.id) not in self.settings.admin_ids
        ):
            await query.answer("Only the person who asked for this can cancel it.")
            return
        await query.answer("Cancelling…")
        await self.jobs.cancel(job_id)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log unexpected errors; tell the user something went wrong, without details."""
        log.error("Telegram handler failed", exc_info=context.error)
        if isinstance(update, Update) and update.effective_message is not None:
            with contextlib.suppress(TelegramError):
                await update.effective_message.reply_text(
                    "😕 Something went wrong on my side. Please try again."
                )

    # ------------------------------------------------------------------ progress

    async def _follow(self, job_id: JobId, message: ProgressMessage) -> None:
        """Edit the progress message as the job goes on (a Cancel button until it ends)."""

        async def show(text: str, final: bool) -> None:
            markup = None if final else cancel_button(job_id)
            await self.progress.edit(message, text, final=final, markup=markup)

        await follow(self.jobs, job_id, self.settings.progress_interval_s, show)

    # ------------------------------------------------------------------ delivery

    async def deliver(self, job: Job) -> None:
        """The outbox's delivery handler: the MP4(s), each fitted to the upload limit, as a
        reply to the request — one video as a video, several as one album (`VideoSender`
        decides what each fault means)."""
        result = job.result
        assert result is not None, "only completed jobs wait in the outbox for a chat"
        chat_id = int(job.origin.chat_id)
        message = self.progress_of(job)
        caption = result.story.title if isinstance(result, StoryVideo) else result.prompt
        try:
            uploads = await self.sender.prepare(job)
        except CoreError as exc:
            await self._final(message, chat_id, f"❌ {exc}")
            return
        if message is not None:
            await self.progress.edit(message, "📤 Uploading your video…")  # a tick: may be skipped
        reply_to = job.origin.extra.get("request_message_id")
        with contextlib.suppress(TelegramError):  # only a hint; the upload decides
            await self.app.bot.send_chat_action(chat_id, ChatAction.UPLOAD_VIDEO)
        try:
            await self.sender.send(
                chat_id, uploads, job, caption[:1024], int(reply_to) if reply_to else None
            )
        except DeliveryUnconfirmed:
            await self._final(message, chat_id, UNCONFIRMED)
            raise
        await self._final(message, chat_id, done_summary(result))

    async def _final(self, message: ProgressMessage | None, chat_id: int, text: str) -> None:
        if message is not None:
            await self.progress.edit(message, text, final=True)
        else:
            await self.app.bot.send_message(chat_id, text)

    def progress_of(self, job: Job, *, stored: bool = True) -> ProgressMessage | None:
        """The job's progress message followed here (not followed any more from now), else,
        if `stored`, the one its stored ids name (after a restart)."""
        message = self._messages.pop(job.id, None)
        return message if message is not None or not stored else self._message_of(job)

    def _message_of(self, job: Job) -> ProgressMessage | None:
        """The job's progress message from its stored ids (after a restart)."""
        message_id = job.origin.extra.get("progress_message_id")
        if message_id is None:
            return None
        return ProgressMessage(int(job.origin.chat_id), int(message_id), "")

    # ------------------------------------------------------------------ helpers

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Follow a job in the background; stopping the adapter cancels the followers (the
        Application would wait for tasks of its own, and a queued job never ends at shutdown)."""
        task = asyncio.create_task(coroutine)
        self._followers.add(task)
        task.add_done_callback(self._followed)

    def _followed(self, task: asyncio.Task[None]) -> None:
        self._followers.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("following a job failed", exc_info=error)

    def help_message(self) -> str:
        """What `/help` says: the commands, the options, the voices."""
        capabilities = self.jobs.capabilities
        voices = list(capabilities.voices)
        example = voices[0].name if voices else "default"
        text = help_text(
            example="/story a cat and a dog",
            with_options=f"/story scenes=4 aspect=9:16 style=watercolor voice={example} "
            "language=fr a brave little fox  (options go before the theme)",
            voices=voices,
            hero=HERO_HELP,
            sequel=SEQUEL_HELP,
        )
        text += PREVIEW_HELP
        return text + VIDEO_HELP if capabilities.can_make_videos else text

    def user_language(self, code: str | None) -> str | None:
        """The user's Telegram language, if the active story writer can write it."""
        return code if code and self.jobs.capabilities.writes(code) else None
