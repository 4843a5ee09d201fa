"""Telegram front end: parse → runner.submit → one progress message edited in place → video(s).

`/story THEME` makes a story video; `/video PROMPT` (or a photo captioned `/video PROMPT`, or
`/video PROMPT` in reply to a photo) makes short clips, the photo being their first frame.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
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
from bot.options import parse_video_words, parse_words
from bot.render import done_summary, help_text
from bot.telegram_delivery import VideoSender
from bot.telegram_media import fetch_picture
from bot.telegram_progress import ProgressEditor, ProgressMessage
from bot.telegram_text import VIDEO_EXAMPLE, VIDEO_HELP, ago, command_and_rest
from core.config import Settings
from core.errors import CoreError, DeliveryUnconfirmed, InvalidRequest
from core.jobs import Job, JobKind, Origin
from core.models import JobId, JobResult, StoryVideo
from core.runner import JobRunner

log = logging.getLogger(__name__)

PLATFORM = "telegram"
_UPLOAD_MARGIN = 0.96  # stay a little under the limit: multipart overhead, rounding
_UNCONFIRMED = (
    "⚠️ Telegram did not confirm your video. If it does not show up here in a minute, "
    "please ask again."
)
_COMMANDS = [
    BotCommand("story", "make a story video: /story a cat and a dog"),
    BotCommand("video", "make a short video: /video a kitten chasing a leaf"),
    BotCommand("status", "your recent stories and videos"),
    BotCommand("cancel", "stop your story or video in progress"),
    BotCommand("help", "what I do and the options"),
]
# CommandHandler reads only `text`: a photo (or a picture sent as a file) captioned `/video …`
# needs a handler of its own. The `@name` is checked against the bot's own in the handler.
_VIDEO_CAPTION = re.compile(r"^/video(@\w+)?(\s|$)", re.IGNORECASE)


def _cancel_button(job_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("Cancel", callback_data=f"cancel:{job_id}")]]
    )


class TelegramAdapter:
    """The Telegram bot: long polling, handlers that return at once, and the delivery handler."""

    def __init__(self, runner: JobRunner, settings: Settings) -> None:
        if settings.telegram_bot_token is None:
            raise CoreError("TELEGRAM_BOT_TOKEN is not set")
        self.runner, self.settings = runner, settings
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
        self.app.add_handler(CommandHandler("story", self.story, filters=new))
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
        self.app.add_error_handler(self.on_error)
        self._messages: dict[str, ProgressMessage] = {}
        self.progress = ProgressEditor(self.app.bot, settings.progress_interval_s)
        self.sender = VideoSender(
            self.app.bot,
            limit_bytes=self.upload_limit,
            read_timeout_s=settings.telegram_upload_timeout_s,
        )

    @property
    def upload_limit(self) -> int:
        """Bytes a video may have: 50 MB on the cloud Bot API, more on a local server."""
        return int(self.settings.telegram_upload_limit_mb * 1_000_000 * _UPLOAD_MARGIN)

    async def __aenter__(self) -> TelegramAdapter:
        await self.app.initialize()
        await self.app.bot.set_my_commands(_COMMANDS)
        await self.app.start()
        assert self.app.updater is not None  # built with the default updater
        await self.app.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        await self.runner.register_delivery(PLATFORM, self.deliver)
        for job in await self.runner.unfinished(PLATFORM):
            await self._reattach(job)
        log.info("Telegram bot @%s is polling", self.app.bot.username)
        return self

    async def stop_polling(self) -> None:
        """Take no new updates (shutdown); sending stays possible for jobs finishing now."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()

    async def _reattach(self, job: Job) -> None:
        """After a restart: follow a resumed job in its old progress message, or a new one."""
        message = self._message_of(job)
        if message is None:
            try:
                what = "video" if job.kind is JobKind.VIDEO else "story"
                sent = await self.app.bot.send_message(
                    int(job.origin.chat_id), f"🔄 Your {what} resumed after a restart…",
                    reply_markup=_cancel_button(job.id),
                )  # fmt: skip
            except TelegramError as exc:
                log.warning("job %s: cannot post its progress message: %s", job.id, exc)
                return
            await self.runner.remember(job.id, progress_message_id=str(sent.message_id))
            message = ProgressMessage(
                sent.chat_id, sent.message_id, sent.text or "", time.monotonic()
            )
        self._messages[job.id] = message
        self.app.create_task(self._follow(job.id, message))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop_polling()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    # ------------------------------------------------------------------ commands

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/start` and `/help`: what the bot does, an example, the options."""
        if update.effective_message is not None:
            await update.effective_message.reply_text(self._help())

    async def story(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/story [options] THEME`: submit the job, post the progress message, follow it."""
        message, user, chat = (
            update.effective_message,
            update.effective_user,
            update.effective_chat,
        )
        if message is None or user is None or chat is None:
            return
        try:
            options, theme = parse_words(context.args or [])
            if not theme.strip():
                await message.reply_text(self._help())
                return
            request = options.request(
                theme, self.settings, self._user_language(user.language_code)
            )
            origin = Origin(PLATFORM, str(user.id), str(chat.id))
            job = await self.runner.submit(request, origin)
        except CoreError as exc:
            await message.reply_text(f"⚠️ {exc}")
            return
        await self._track(job, message, "✍️ Got it — writing your story…", context, update)

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
            await self.runner.check_limits(origin, makes_clips=True)  # before any download
            picture = await fetch_picture(self.app.bot, message)
            job = await self.runner.submit_video(request, origin, image=picture)
        except CoreError as exc:
            await message.reply_text(f"⚠️ {exc}")
            return
        await self._track(job, message, "🎬 Got it — making your video…", context, update)

    async def _track(
        self,
        job: Job,
        message: Message,
        first: str,
        context: ContextTypes.DEFAULT_TYPE,
        update: Update,
    ) -> None:
        """Post the job's progress message (its place in line, if it has to wait) and follow
        the job in it."""
        position = self.runner.queue_position(job.id)
        if position is not None and position > self.settings.max_concurrent_jobs:
            first = f"⏳ Got it — #{position} in line"
        progress = await message.reply_text(first, reply_markup=_cancel_button(job.id))
        await self.runner.remember(
            job.id, request_message_id=str(message.message_id),
            progress_message_id=str(progress.message_id),
        )  # fmt: skip
        tracked = ProgressMessage(progress.chat_id, progress.message_id, first, time.monotonic())
        self._messages[job.id] = tracked
        context.application.create_task(self._follow(job.id, tracked), update=update)

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/status`: the user's recent jobs."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        jobs = await self.runner.recent(Origin(PLATFORM, str(user.id)))
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
        jobs = await self.runner.recent(Origin(PLATFORM, str(user.id)), limit=20)
        wanted = context.args[0] if context.args else None
        job = next(
            (j for j in jobs if (j.id == wanted if wanted else not j.status.finished)), None
        )
        if job is None or job.status.finished:
            await message.reply_text("Nothing to cancel.")
            return
        await self.runner.cancel(job.id)
        await message.reply_text(f"🚫 Cancelled {job.id}.")

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The Cancel button under a progress message."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        job_id = JobId(query.data.removeprefix("cancel:"))
        try:
            job = await self.runner.get(job_id)
        except CoreError:
            await query.answer("That job is gone.")
            return
        if str(query.from_user.id) != job.origin.user_id and (
            str(query.from_user.id) not in self.settings.admin_ids
        ):
            await query.answer("Only the person who asked for this can cancel it.")
            return
        await query.answer("Cancelling…")
        await self.runner.cancel(job_id)

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
            markup = None if final else _cancel_button(job_id)
            await self.progress.edit(message, text, final=final, markup=markup)

        await follow(self.runner, job_id, self.settings.progress_interval_s, show)

    # ------------------------------------------------------------------ delivery

    async def deliver(self, job: Job, result: JobResult) -> None:
        """The runner's delivery handler: the MP4(s), each fitted to the upload limit, as a
        reply to the request — one video as a video, several as one album (`VideoSender`
        decides what each fault means)."""
        chat_id = int(job.origin.chat_id)
        message = self._messages.pop(job.id, None) or self._message_of(job)
        sources: tuple[Path, ...]
        if isinstance(result, StoryVideo):
            sources, caption = (result.video,), result.story.title
        else:
            sources, caption = result.videos, result.prompt
        try:
            uploads = await self.sender.prepare(sources, result)
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
                chat_id, uploads, result, caption[:1024], int(reply_to) if reply_to else None
            )
        except DeliveryUnconfirmed:
            await self._final(message, chat_id, _UNCONFIRMED)
            raise
        await self._final(message, chat_id, done_summary(result))

    async def _final(self, message: ProgressMessage | None, chat_id: int, text: str) -> None:
        if message is not None:
            await self.progress.edit(message, text, final=True)
        else:
            await self.app.bot.send_message(chat_id, text)

    def _message_of(self, job: Job) -> ProgressMessage | None:
        """The job's progress message from its stored ids (after a restart)."""
        message_id = job.origin.extra.get("progress_message_id")
        if message_id is None:
            return None
        return ProgressMessage(int(job.origin.chat_id), int(message_id), "")

    # ------------------------------------------------------------------ helpers

    def _help(self) -> str:
        providers = self.runner.pipeline.providers
        voices = providers.narrator.voices()
        example = voices[0].name if voices else "default"
        text = help_text(
            example="/story a cat and a dog",
            with_options=f"/story scenes=4 aspect=9:16 style=watercolor voice={example} "
            "language=fr a brave little fox  (options go before the theme)",
            voices=voices,
        )
        return text + VIDEO_HELP if providers.animator is not None else text

    def _user_language(self, code: str | None) -> str | None:
        """The user's Telegram language, if the active story writer can write it."""
        return code if code and self.runner.pipeline.writes(code) else None
