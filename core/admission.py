"""Admission: whether a user may start a job now (the allow-list and per-user limits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.errors import LimitReached
from core.limits import JobLimits
from core.models import UNFINISHED, Origin
from core.store import JobStore


class Admission:
    """Checks the allow-list and each user's limits before a job is stored."""

    def __init__(self, store: JobStore, limits: JobLimits) -> None:
        self.store, self.limits = store, limits

    async def check(self, origin: Origin, *, makes_clips: bool) -> None:
        """Raise `LimitReached` if `origin` may not start a job now."""
        if not await self.check_running(origin):
            return
        await self._daily(origin, self.limits.user_jobs_per_day, "stories", clips=False)
        if makes_clips:
            await self._daily(origin, self.limits.animated_per_day, "animated videos", clips=True)

    async def check_running(self, origin: Origin) -> bool:
        """Raise `LimitReached` if `origin` may not have one more job running now (a new one,
        or a storyboard going back to work); False if no limit applies to `origin` at all."""
        if origin.platform == "cli":
            return False  # the local user owns the machine
        ids = {origin.user_id, origin.chat_id} - {""}
        if ids & self.limits.admin_ids:
            return False
        if self.limits.allowed_ids and not ids & self.limits.allowed_ids:
            raise LimitReached("This bot is private: ask its owner to add you to the allow-list.")
        in_flight = await self.store.count(
            platform=origin.platform, user_id=origin.user_id, statuses=UNFINISHED
        )
        if in_flight >= self.limits.user_jobs_in_flight:
            raise LimitReached(
                f"You already have {in_flight} story or video in progress (the limit is "
                f"{self.limits.user_jobs_in_flight}); wait for it to finish or cancel it.",
                retry_after_s=60,  # a guess: jobs take about a minute
            )
        return True

    async def _daily(self, origin: Origin, limit: int, what: str, *, clips: bool) -> None:
        """A rolling 24 h limit; the refusal says when the oldest counted job frees a slot."""
        since = datetime.now(UTC) - timedelta(days=1)
        platform, user_id = origin.platform, origin.user_id
        today = await self.store.count(
            platform=platform, user_id=user_id, since=since, clips=clips
        )
        if today < limit:
            return
        if limit == 0:
            raise LimitReached(f"Making {what} is turned off on this bot.")
        oldest = (
            await self.store.oldest_since(
                platform=platform, user_id=user_id, since=since, clips=clips
            )
            or since
        )
        wait = oldest + timedelta(days=1) - datetime.now(UTC)
        raise LimitReached(
            f"You have made {today} {what} in the last 24 hours (the limit is {limit}); "
            f"the next one frees up in {_duration(wait)}.",
            retry_after_s=max(1.0, wait.total_seconds()),
        )


def _duration(delta: timedelta) -> str:
    minutes = max(1, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
