"""The one progress message of a Telegram job, edited in place within Telegram's limits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.feed import Paced
from bot.telegram_delivery import retry_seconds

log = logging.getLogger(__name__)


def cancel_button(job_id: str) -> InlineKeyboardMarkup:
    """The Cancel button under a running job's progress message."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("Cancel", callback_data=f"cancel:{job_id}")]]
    )


@dataclass
class ProgressMessage(Paced):
    """One progress message and its edit budget (per-message flood control)."""

    chat_id: int
    message_id: int
    text: str
    gone: bool = False  # the user deleted it: no more edits; the last word comes as a new one


class ProgressEditor:
    """Edits progress messages: at most one edit per message per interval, flood waits
    honoured, and a message the user deleted (or a chat that blocked the bot) left alone."""

    def __init__(self, bot: Bot, interval_s: float) -> None:
        self.bot, self.interval_s = bot, interval_s

    async def edit(
        self,
        message: ProgressMessage,
        text: str,
        *,
        final: bool = False,
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        """Edit if the text changed; a progress tick inside the interval or flood wait is
        dropped, a final edit waits for its turn."""
        async with message.lock:
            if text == message.text or (message.gone and not final):
                return
            if message.gone:
                await self._post_instead(message, text)
                return
            if not await message.my_turn(self.interval_s, final=final):
                return
            for _attempt in range(2):
                try:
                    await self.bot.edit_message_text(
                        text, chat_id=message.chat_id, message_id=message.message_id,
                        reply_markup=markup,
                    )  # fmt: skip
                except RetryAfter as exc:
                    delay = retry_seconds(exc)
                    message.blocked_until = time.monotonic() + delay
                    log.info(
                        "Telegram flood control: %.0f s on message %s", delay, message.message_id
                    )
                    if not final:
                        return
                    await asyncio.sleep(delay)
                    continue
                except Forbidden:  # blocked, or removed from the group: stop editing
                    message.gone = True
                    return
                except BadRequest as exc:
                    reason = str(exc).lower()
                    if "message to edit not found" in reason:  # the user deleted it
                        message.gone = True
                        if final:
                            await self._post_instead(message, text)
                    elif "not modified" not in reason:
                        log.warning("progress edit failed: %s", exc)
                message.text, message.last_edit = text, time.monotonic()
                return

    async def _post_instead(self, message: ProgressMessage, text: str) -> None:
        """The last word as a new message, the progress message being gone."""
        with contextlib.suppress(Forbidden, BadRequest):  # blocked or gone: nobody to tell
            await self.bot.send_message(message.chat_id, text)
        message.text = text
