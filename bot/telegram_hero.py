"""Telegram's story commands: `/story THEME` (a photo sent with it, or replied to, becomes the
story's hero) and `/sequel [what happens next]` (the user's last story in that chat goes on).

The photo is checked from the message before anything is fetched (a file that is no picture, or
one too big to fetch), the user's limits before the download; the job service checks the picture
itself. The photo is never logged nor sent back."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from telegram import Chat, Message, Update, User
from telegram.ext import ContextTypes

from bot.options import HERO_THEME, NO_HEROES, parse_words, sequel_request
from bot.telegram_intake import PLATFORM
from bot.telegram_media import download, find_picture
from bot.telegram_text import command_and_rest
from core.errors import CoreError, InvalidRequest
from core.models import Job, Origin, StoryRequest

if TYPE_CHECKING:
    from bot.telegram_adapter import TelegramAdapter

# CommandHandler reads only `text`: a photo (or a file) captioned `/story …` needs a handler of
# its own. The `@name` is checked against the bot's own in the handler.
STORY_CAPTION = re.compile(r"^/story(@\w+)?(\s|$)", re.IGNORECASE)


class StoryHandlers:
    """The /story and /sequel handlers, over the adapter's job service and progress messages."""

    def __init__(self, adapter: TelegramAdapter) -> None:
        self.adapter, self.jobs, self.settings = adapter, adapter.jobs, adapter.settings

    async def story(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/story [options] THEME`, typed or as a photo's caption: submit the job (a photo sent
        with it or replied to is its hero), post the progress message, follow it."""
        message, user, chat = self._parts(update)
        if message is None or user is None or chat is None:
            return
        command, rest = command_and_rest(message.text or message.caption or "")
        if not self._for_this_bot(command):
            return  # a caption addressed to another bot
        try:
            options, theme = parse_words(rest.split())
            picture = find_picture(message, files_must_be_pictures=True)
            if not theme.strip():
                if picture is None:
                    await message.reply_text(self.adapter.help_message())
                    return
                theme = HERO_THEME  # the photo says enough
            request = options.request(theme, self.settings, self._language(user))
            origin = Origin(PLATFORM, str(user.id), str(chat.id))
            photo = None
            if picture is not None:
                if not self.jobs.capabilities.heroes:
                    raise InvalidRequest(NO_HEROES)  # before any download
                await self.jobs.check_limits(origin, makes_clips=request.animate)  # first
                photo = await download(self.adapter.app.bot, picture)
            job = await self.jobs.submit_story(request, origin, hero=photo)
        except CoreError as exc:
            await message.reply_text(f"⚠️ {exc}")
            return
        first = "✍️ Got it — looking at your hero, then writing your story…"
        await self.adapter.track(
            job, message, first if photo else "✍️ Got it — writing your story…"
        )

    async def sequel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/sequel [options] [what happens next]`: the next part of the user's last completed
        story in this chat, with its characters, look and voice."""
        message, user, chat = self._parts(update)
        if message is None or user is None or chat is None:
            return
        try:
            options, what_next = parse_words(context.args or [])
            request = sequel_request(options, what_next, self.settings, self._language(user))
            job = await self.jobs.submit_sequel(
                request, Origin(PLATFORM, str(user.id), str(chat.id))
            )
        except CoreError as exc:  # no earlier story here: the service says to start one
            await message.reply_text(f"⚠️ {exc}")
            return
        await self.adapter.track(job, message, _sequel_started(job))

    @staticmethod
    def _parts(update: Update) -> tuple[Message | None, User | None, Chat | None]:
        return update.effective_message, update.effective_user, update.effective_chat

    def _for_this_bot(self, command: str) -> bool:
        mention = command.partition("@")[2]
        return not mention or mention.lower() == (self.adapter.app.bot.username or "").lower()

    def _language(self, user: User) -> str | None:
        return self.adapter.user_language(user.language_code)


def _sequel_started(job: Job) -> str:
    """The first progress text of a sequel: which part of which story is being written."""
    request = job.request
    if isinstance(request, StoryRequest) and request.sequel is not None:
        brief = request.sequel
        return f"✍️ Got it — writing part {brief.part} of “{brief.title[:80]}”…"
    return "✍️ Got it — writing what happens next…"
