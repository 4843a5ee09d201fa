"""Discord's gateway connection, held by one process at a time: the one that leads "discord"
(at once with SQLite; elected through the database with PostgreSQL). Interactions arrive on
the gateway of the one holding it; every process edits progress and delivers videos through the
REST API, which needs no gateway. A standby takes the connection over within seconds of the
leader's death, syncs the commands and follows the jobs nobody in it follows yet."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import discord
from discord.ext import commands

from bot.discord_commands import PLATFORM
from core.config import Settings
from core.service import JobService

log = logging.getLogger(__name__)

_RETRY_S = 5.0  # after the gateway closed for good, stand for the lead again this late


class GatewayLead:
    """Connects the gateway while this process leads; `adopt` follows jobs nobody here
    follows. `start` returns once connected and ready, or standing by."""

    def __init__(
        self,
        bot: commands.Bot,
        jobs: JobService,
        settings: Settings,
        adopt: Callable[[], Awaitable[None]],
    ) -> None:
        self.bot, self.jobs, self.settings, self.adopt = bot, jobs, settings, adopt
        self._settled = asyncio.Event()  # connected and ready, or standing by
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Stand for the lead; return once connected and ready, or standing by (a failure to
        connect the first time is raised)."""
        self._task = asyncio.create_task(self._leading(), name="discord-lead")
        await _first(self._settled.wait(), self._task)
        if self._task.done():
            self._task.result()  # raises what stopped it

    async def stop(self) -> None:
        """Close the gateway connection and give the lead up."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _leading(self) -> None:
        while True:
            async with self.jobs.lead(PLATFORM, self._settled.set) as lost:
                connection = asyncio.create_task(self.bot.connect(), name="discord-gateway")
                try:
                    await self._ready(connection)
                    await self._sync_commands()
                    await self.adopt()
                    log.info("Discord bot %s is connected", self.bot.user)
                    self._settled.set()
                    await _first(lost.wait(), connection)
                    if connection.done():
                        connection.result()
                        log.error("Discord's gateway closed; connecting again shortly")
                    else:
                        log.warning("Discord: lost the lead; closing the gateway connection")
                except (discord.DiscordException, OSError) as exc:
                    if not self._settled.is_set():
                        raise  # the first start: the operator sees why
                    log.error("Discord's gateway failed (%s); connecting again shortly", exc)
                    await asyncio.sleep(_RETRY_S)
                finally:
                    await self._disconnect(connection)

    async def _ready(self, connection: asyncio.Task[None]) -> None:
        """Until the gateway says READY; what ended the connection, if it ended first."""
        if not await _first(self.bot.wait_until_ready(), connection):
            connection.result()
            raise discord.DiscordException("the gateway closed before it was ready")

    async def _sync_commands(self) -> None:
        """Publish the slash commands: to the listed servers (at once), else globally."""
        tree = self.bot.tree
        if self.settings.discord_guild_ids:
            for guild_id in self.settings.discord_guild_ids:
                guild = discord.Object(int(guild_id))
                tree.copy_global_to(guild=guild)
                await tree.sync(guild=guild)
        else:
            await tree.sync()

    async def _disconnect(self, connection: asyncio.Task[None]) -> None:
        """Stop the connection's loop and close its socket; the REST session stays open."""
        connection.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await connection
        if self.bot.ws is not None and not self.bot.is_closed():
            with contextlib.suppress(Exception):
                await self.bot.ws.close(code=1000)


async def _first(waiting: Coroutine[Any, Any, Any], task: asyncio.Task[None]) -> bool:
    """Wait for `waiting` or for `task` to end, whichever comes first; True if `waiting` did.
    `waiting` never outlives the call (cancelled too if the caller is)."""
    waiter = asyncio.ensure_future(waiting)
    try:
        await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
        return waiter.done() and not waiter.cancelled()
    finally:
        waiter.cancel()
