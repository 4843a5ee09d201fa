"""Feeds a job's progress to a chat message: rendered text, at a steady pace, then the ending."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.render import ProgressView, chat_progress
from core.models import JobId
from core.progress import JobCancelled, JobFailed, JobSucceeded
from core.runner import JobRunner

# show(text, final): a progress tick (final=False, may be dropped by the platform's throttle)
# or the job's last word (final=True, must be shown).
Show = Callable[[str, bool], Awaitable[None]]


async def follow(runner: JobRunner, job_id: JobId, interval_s: float, show: Show) -> None:
    """Render the job's progress every `interval_s` (the elapsed time moves even when no event
    arrives, so progress never looks dead) until it ends. Success is left to the delivery
    handler, which replaces the message with the video or a summary."""
    view, started = ProgressView(), time.monotonic()
    events = runner.subscribe(job_id)
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
                pending = asyncio.ensure_future(anext(events))
            await show(chat_progress(view, time.monotonic() - started), False)
    finally:
        pending.cancel()
        await events.aclose()
