"""Updates a platform pushes to us (Telegram's webhook), remembered by id in the job store, so
the same update delivered twice — to one front end or to two behind a load balancer — is acted
on once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from core.database import Database

# Telegram keeps an unconfirmed update for 24 hours; an id is remembered twice as long.
REMEMBER = timedelta(hours=48)
_PRUNE_EVERY_S = 3600.0


class Inbox:
    """Which pushed updates arrived already."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._next_prune = 0.0

    async def first_arrival(self, platform: str, update_id: str) -> bool:
        """Record the update; True only the first time it arrives (in any process)."""
        now = datetime.now(UTC)
        inserted = await self._db.atomic(
            lambda tx: tx.execute(
                "INSERT INTO inbound_updates (platform, update_id, received_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (platform, update_id, now.isoformat()),
            )
        )
        if time.monotonic() >= self._next_prune:  # ids too old to come back
            self._next_prune = time.monotonic() + _PRUNE_EVERY_S
            await self._db.atomic(
                lambda tx: tx.execute(
                    "DELETE FROM inbound_updates WHERE received_at < ?",
                    ((now - REMEMBER).isoformat(),),
                )
            )
        return inserted == 1
