"""Telegram front end: parse → runner.submit → one progress message edited in place → video."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from bot.feed import follow
from bot.options import parse_words
from bot.render import done_summary, help_text
from core.config import Settings
from core.errors import CoreError
from core.ffmpeg import shrink_to_fit
from core.jobs import Job, Origin
from core.models import JobId, StoryVideo
from core.runner import JobRunner

log = logging.getLogger(__name__)

PLATFORM = "telegram"
_UPLOAD_MARGIN = 0.96  # stay a little under the limit: multipart overhead, rounding
_COMMANDS = [
    BotCommand("story", "make a story video: /story a cat and a dog"),
    BotCommand("status", "your recent stories"),
    BotCommand("cancel", "stop your story in progress"),
    BotCommand("help", "what I do and the options"),
]


@dataclass
class _Message:
    """One progress message and its edit budget (per-message flood control)."""

    chat_id: int
    message_id: int
    text: str
    last_edit: float = 0.0
    blocked_until: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns unless PTB_TIMEDELTA is set
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


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
        self.app.add_handler(CommandHandler(["start", "help"], self.help))
        self.app.add_handler(CommandHandler("story", self.story))
        self.app.add_handler(CommandHandler("status", self.status))
        self.app.add_handler(CommandHandler("cancel", self.cancel))
        self.app.add_handler(CallbackQueryHandler(self.button, pattern=r"^cancel:"))
        self.app.add_error_handler(self.on_error)
        self._messages: dict[str, _Message] = {}

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
                sent = await self.app.bot.send_message(
                    int(job.origin.chat_id), "🔄 Your story resumed after a restart…",
                    reply_markup=_cancel_button(job.id),
                )  # fmt: skip
            except TelegramError as exc:
                log.warning("job %s: cannot post its progress message: %s", job.id, exc)
                return
            await self.runner.remember(job.id, progress_message_id=str(sent.message_id))
            message = _Message(sent.chat_id, sent.message_id, sent.text or "", time.monotonic())
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
        position = self.runner.queue_position(job.id)
        first = (
            f"⏳ Got it — #{position} in line"
            if position is not None and position > self.settings.max_concurrent_jobs
            else "✍️ Got it — writing your story…"
        )
        progress = await message.reply_text(first, reply_markup=_cancel_button(job.id))
        await self.runner.remember(
            job.id, request_message_id=str(message.message_id),
            progress_message_id=str(progress.message_id),
        )  # fmt: skip
        tracked = _Message(chat.id, progress.message_id, first, last_edit=time.monotonic())
        self._messages[job.id] = tracked
        context.application.create_task(self._follow(job.id, tracked), update=update)

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/status`: the user's recent jobs."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        jobs = await self.runner.recent(Origin(PLATFORM, str(user.id)))
        if not jobs:
            await message.reply_text("You have no stories yet. Try /story a cat and a dog")
            return
        now = datetime.now(UTC)
        lines = [
            f"{job.id} · {job.status.value} {job.percent}% · {job.subject[:40]} · "
            f"{_ago(now - job.created_at)}"
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
            await query.answer("That story is gone.")
            return
        if str(query.from_user.id) != job.origin.user_id and (
            str(query.from_user.id) not in self.settings.admin_ids
        ):
            await query.answer("Only the person who asked for this story can cancel it.")
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

    async def _follow(self, job_id: JobId, message: _Message) -> None:
        """Edit the progress message as the job goes on (a Cancel button until it ends)."""

        async def show(text: str, final: bool) -> None:
            markup = None if final else _cancel_button(job_id)
            await self._edit(message, text, final=final, markup=markup)

        await follow(self.runner, job_id, self.settings.progress_interval_s, show)

    async def _edit(
        self,
        message: _Message,
        text: str,
        *,
        final: bool = False,
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        """Edit if the text changed; a progress tick inside the interval or flood wait is
        dropped, a final edit waits for its turn."""
        async with message.lock:
            if text == message.text:
                return
            interval = self.settings.progress_interval_s
            wait = max(message.last_edit + interval, message.blocked_until) - time.monotonic()
            if wait > 0:
                if not final:
                    return
                await asyncio.sleep(wait)
            for _attempt in range(2):
                try:
                    await self.app.bot.edit_message_text(
                        text, chat_id=message.chat_id, message_id=message.message_id,
                        reply_markup=markup,
                    )  # fmt: skip
                except RetryAfter as exc:
                    delay = _retry_seconds(exc)
                    message.blocked_until = time.monotonic() + delay
                    log.info(
                        "Telegram flood control: %.0f s on message %s", delay, message.message_id
                    )
                    if not final:
                        return
                    await asyncio.sleep(delay)
                    continue
                except BadRequest as exc:
                    if "not modified" not in str(exc).lower():
                        log.warning("progress edit failed: %s", exc)
                message.text, message.last_edit = text, time.monotonic()
                return

    # ------------------------------------------------------------------ delivery

    async def deliver(self, job: Job, result: StoryVideo) -> None:
        """The runner's delivery handler: the MP4 (fitted to the upload limit) as a reply."""
        chat_id = int(job.origin.chat_id)
        message = self._messages.pop(job.id, None) or self._message_of(job)
        try:
            video = await shrink_to_fit(
                result.video, result.video.with_name("story.telegram.mp4"),
                limit_bytes=self.upload_limit, duration_s=result.duration_s,
                size=(result.width, result.height),
            )  # fmt: skip
        except CoreError as exc:
            await self._final(message, chat_id, f"❌ {exc}")
            return
        if message is not None:
            await self._edit(message, "📤 Uploading your video…")  # a tick: may be skipped
        data = await asyncio.to_thread(video.read_bytes)
        thumbnail = await asyncio.to_thread(result.thumbnail.read_bytes)
        reply_to = job.origin.extra.get("request_message_id")
        await self.app.bot.send_chat_action(chat_id, ChatAction.UPLOAD_VIDEO)
        for _attempt in range(2):
            try:
                await self.app.bot.send_video(
                    chat_id,
                    video=InputFile(data, filename="story.mp4"),
                    thumbnail=InputFile(thumbnail, filename="thumbnail.jpg", attach=True),
                    width=result.width, height=result.height,
                    duration=max(1, round(result.duration_s)),
                    supports_streaming=True,
                    caption=result.story.title[:1024],
                    reply_parameters=(
                        ReplyParameters(int(reply_to), allow_sending_without_reply=True)
                        if reply_to else None
                    ),
                    write_timeout=max(30.0, len(data) / 250_000),  # ≥ 2 Mbit/s upstream
                    read_timeout=120.0,
                )  # fmt: skip
                break
            except RetryAfter as exc:
                await asyncio.sleep(_retry_seconds(exc))
            except Forbidden:
                log.warning("job %s: the user blocked the bot; not delivered", job.id)
                raise
        await self._final(message, chat_id, done_summary(result))

    async def _final(self, message: _Message | None, chat_id: int, text: str) -> None:
        if message is not None:
            await self._edit(message, text, final=True)
        else:
            await self.app.bot.send_message(chat_id, text)

    def _message_of(self, job: Job) -> _Message | None:
        """The job's progress message from its stored ids (after a restart)."""
        message_id = job.origin.extra.get("progress_message_id")
        if message_id is None:
            return None
        return _Message(int(job.origin.chat_id), int(message_id), "")

    # ------------------------------------------------------------------ helpers

    def _help(self) -> str:
        narrator = self.runner.pipeline.providers.narrator
        voices = narrator.voices()
        example = voices[0].name if voices else "default"
        return help_text(
            example="/story a cat and a dog",
            with_options=f"/story scenes=4 aspect=9:16 style=watercolor voice={example} "
            "language=fr a brave little fox  (options go before the theme)",
            voices=voices,
        )

    def _user_language(self, code: str | None) -> str | None:
        """The user's Telegram language, if the active story writer can write it."""
        return code if code and self.runner.pipeline.writes(code) else None


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago"
