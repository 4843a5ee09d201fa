"""Feeds a job's progress to a chat message: rendered text, at a steady pace, then the ending.
Shared by the Telegram and Discord front ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.render import ProgressView, chat_progress
from core.models import JobId
from core.progress import AwaitingApproval, JobCancelled, JobFailed, JobSucceeded
from core.service import JobService

# show(text, final): a progress tick (final=False, may be dropped by the platform's throttle)
# or the job's last word (final=True, must be shown).
Show = Callable[[str, bool], Awaitable[None]]


async def follow(jobs: JobService, job_id: JobId, interval_s: float, show: Show) -> None:
    """Render the job's progress every `interval_s` (the elapsed time moves even when no event
    arrives, so progress never looks dead) until it ends. Success is left to the delivery
    handler, which replaces the message with the video or a summary."""
    view, started = ProgressView(), time.monotonic()
    events = jobs.subscribe(job_id)
    pending = asyncio.ensure_future(anext(events))
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=interval_s)
            if pending in done:
                event = pending.result()
                view.apply(event)
                match event:
                    case JobSucceeded():
                        return
                    case JobFailed(reason=reason):
                        await show(f"❌ {reason}", True)
                        return
                    case JobCancelled():
                        await show("🚫 Cancelled.", True)
                        return
                    case AwaitingApproval():  # the storyboard's delivery takes it from here
                        return
                pending = asyncio.ensure_future(anext(events))
            await show(chat_progress(view, time.monotonic() - started), False)
    finally:
        pending.cancel()
        await events.aclose()


@dataclass(kw_only=True)
class Paced:
    """A message edited in place at most once per interval, a platform's flood wait honoured
    (`blocked_until`); its lock keeps one edit at a time."""

    last_edit: float = 0.0
    blocked_until: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def my_turn(self, interval_s: float, *, final: bool) -> bool:
        """Whether to edit now: a progress tick inside the interval or a flood wait is dropped
        (False); a final edit waits for its turn."""
        wait = max(self.last_edit + interval_s, self.blocked_until) - time.monotonic()
        if wait > 0:
            if not final:
                return False
            await asyncio.sleep(wait)
        return True
