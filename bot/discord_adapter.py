"""Discord front end (a discord.py `commands.Bot` with the slash commands in a Cog): /story
(with an optional photo of its hero), /sequel, /video, /status, /cancel, /help over the job
service; progress on the interaction's response, then delivery of the videos."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot import discord_uploads as uploads
from bot.discord_commands import PLATFORM, StoryCommands
from bot.discord_connection import GatewayLead
from bot.discord_media import check_picture, read_picture
from bot.discord_progress import JobMessage, Messenger
from bot.discord_storyboard import DiscordStoryboard
from bot.discord_storyboard_buttons import StoryboardButtons
from bot.feed import follow
from bot.options import NO_HEROES, StoryOptions, VideoOptions, sequel_request
from bot.render import done_summary
from core.config import Settings
from core.errors import CoreError, DeliveryRefused, InvalidRequest
from core.models import Job, JobId, JobKind, JobResult, Origin
from core.service import JobService
from core.storyboard import board_consumer

log = logging.getLogger(__name__)

__all__ = ["PLATFORM", "DiscordAdapter", "apply_endpoints"]

_ACK_BUDGET_S = 1.5  # fetching a picture may take this long before we defer (due in 3 s)
_MAX_SHRINKS = 3  # uploads refused as too large (413) before we give up
_REFUSED_AS_TOO_LARGE = "Discord refused the video as too large for this server, even smaller"


def apply_endpoints(settings: Settings) -> None:
    """Point discord.py at another REST and gateway endpoint (a local fake in tests).

    discord.py reads both roots from class attributes, so this is done once, at start-up.
    """
    if settings.discord_api_base_url:
        discord.http.Route.BASE = settings.discord_api_base_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


class DiscordAdapter:
    """The Discord bot: slash commands, a throttled progress response, and delivery."""

    def __init__(self, jobs: JobService, settings: Settings) -> None:
        if settings.discord_bot_token is None:
            raise CoreError("DISCORD_BOT_TOKEN is not set")
        apply_endpoints(settings)
        self.jobs, self.settings = jobs, settings
        # slash commands only: no message-content intent, no help command, a prefix that a
        # message without that intent never carries (a mention)
        self.bot = commands.Bot(
            command_prefix=commands.when_mentioned, help_command=None,
            intents=discord.Intents.default(), guild_ready_timeout=0.5,
        )  # fmt: skip
        self.tree = self.bot.tree
        self.tree.on_error = self.on_error  # type: ignore[method-assign]
        self.bot.add_listener(self.on_interaction)
        self.messenger = Messenger(self.bot, settings.progress_interval_s)
        self._where: dict[str, JobMessage] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.storyboard = DiscordStoryboard(self.bot, jobs, self.messenger, self._where)
        self.storyboard_buttons = StoryboardButtons(jobs, self.storyboard, self._track)
        self.gateway = GatewayLead(self.bot, jobs, settings, self._adopt)
        self._closing = False

    async def __aenter__(self) -> DiscordAdapter:
        assert self.settings.discord_bot_token is not None
        await self.bot.login(self.settings.discord_bot_token.get_secret_value())
        await self.bot.add_cog(StoryCommands(self))  # before any interaction can arrive
        self.jobs.deliver_with(PLATFORM, self.deliver)
        self.jobs.deliver_with(board_consumer(PLATFORM), self.storyboard.show)
        await self.gateway.start()
        return self

    async def _adopt(self) -> None:
        """Follow, in their channels, the unfinished jobs no one here follows (the gateway's
        lead was just taken: after a restart, or from a front end that died)."""
        for job in await self.jobs.unfinished(PLATFORM):
            if job.id not in self._where:
                self._follow_in_channel(job)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closing = True
        for task in list(self._tasks):  # progress followers of jobs that go on at next start
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.gateway.stop()
        await self.bot.close()

    # ------------------------------------------------------------------ commands

    async def story(
        self,
        interaction: discord.Interaction,
        theme: str,
        options: StoryOptions,
        hero: discord.Attachment | None = None,
    ) -> None:
        """Validate and submit (the `hero` picture checked, then fetched within the ack
        budget); bad input gets an ephemeral reply, good input a defer."""
        try:
            request = options.request(theme, self.settings, self._user_language(interaction))
            if hero is not None:
                if not self.jobs.capabilities.heroes:
                    raise InvalidRequest(NO_HEROES)
                check_picture(hero)  # before any download
        except CoreError as exc:
            await self.refuse(interaction, exc)
            return
        origin = self._origin(interaction)

        async def submit() -> Job:
            photo = None
            if hero is not None:
                await self.jobs.check_limits(origin, makes_clips=request.animate)
                photo = await read_picture(hero)
            return await self.jobs.submit_story(request, origin, hero=photo)

        await self._submit_in_time(interaction, submit())

    async def sequel(
        self, interaction: discord.Interaction, what_next: str, options: StoryOptions
    ) -> None:
        """The next part of the user's last story in this channel; without one, the service's
        refusal (start one with /story), ephemeral."""
        try:
            request = sequel_request(
                options, what_next, self.settings, self._user_language(interaction)
            )
        except CoreError as exc:
            await self.refuse(interaction, exc)
            return
        await self._submit_in_time(
            interaction, self.jobs.submit_sequel(request, self._origin(interaction))
        )

    async def video(
        self,
        interaction: discord.Interaction,
        prompt: str,
        options: VideoOptions,
        image: discord.Attachment | None,
    ) -> None:
        """Validate, fetch the picture and submit; a refusal is ephemeral."""
        try:
            request = options.request(prompt)
            if image is not None:
                check_picture(image)
        except CoreError as exc:
            await self.refuse(interaction, exc)
            return
        origin = self._origin(interaction)

        async def submit() -> Job:
            picture = None
            if image is not None:
                await self.jobs.check_limits(origin, makes_clips=True)
                picture = await read_picture(image)
            return await self.jobs.submit_video(request, origin, image=picture)

        await self._submit_in_time(interaction, submit())

    async def _submit_in_time(
        self, interaction: discord.Interaction, submitting: Coroutine[Any, Any, Job]
    ) -> None:
        """Submit, then follow the job on the response; a slow submit (a picture to fetch) gets
        the interaction deferred first, so it is acknowledged in time either way. A refusal is
        ephemeral, or edited into the deferred response."""
        submitted = asyncio.ensure_future(submitting)
        done, _ = await asyncio.wait({submitted}, timeout=_ACK_BUDGET_S)
        if not done:
            try:
                await interaction.response.defer(thinking=True)
            except discord.HTTPException:  # too late: the interaction is gone, not the job
                log.warning("a command was not acknowledged in time; following it in the channel")
                with contextlib.suppress(CoreError):
                    self._follow_in_channel(await submitted)
                return
        try:
            job = await submitted
        except CoreError as exc:
            await self.refuse(interaction, exc)
            return
        await self._track(interaction, job)

    async def refuse(self, interaction: discord.Interaction, error: CoreError) -> None:
        """Say why a command was refused: to the user alone, unless it was deferred already."""
        if interaction.response.is_done():
            await interaction.edit_original_response(content=f"⚠️ {error}")
        else:
            await interaction.response.send_message(f"⚠️ {error}", ephemeral=True)

    async def _track(self, interaction: discord.Interaction, job: Job) -> None:
        """Acknowledge a submitted job and show its progress on the interaction's response."""
        if not interaction.response.is_done():
            await interaction.response.defer(thinking=True)
        ttl = self.settings.discord_token_ttl_s
        where = JobMessage(
            interaction.channel_id or 0, interaction.user.id, interaction,
            leave_at=time.monotonic() + ttl - min(60.0, ttl / 4),
        )  # fmt: skip
        self._where[job.id] = where
        self._spawn(self._follow(job.id, where))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """The Cancel button under a progress message and the storyboard's buttons and modal
        (they work across restarts)."""
        if await self.storyboard_buttons.handle(interaction):
            return
        if interaction.type is not discord.InteractionType.component or interaction.data is None:
            return
        custom_id = str(interaction.data.get("custom_id", ""))
        if not custom_id.startswith("cancel:"):
            return
        job_id = JobId(custom_id.removeprefix("cancel:"))
        try:
            job = await self.jobs.get(job_id)
        except CoreError:
            await interaction.response.send_message("That job is gone.", ephemeral=True)
            return
        if str(interaction.user.id) not in (job.origin.user_id, *self.settings.admin_ids):
            what = "video" if job.kind is JobKind.VIDEO else "story"
            await interaction.response.send_message(
                f"Only the person who asked for this {what} can cancel it.", ephemeral=True
            )
            return
        await interaction.response.send_message("🚫 Cancelling…", ephemeral=True)
        await self.jobs.cancel(job_id)

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Bad option values get an ephemeral correction; anything else is logged."""
        if isinstance(error, app_commands.TransformerError | app_commands.CheckFailure):
            message = f"⚠️ {error}"
        else:
            log.error("Discord command failed", exc_info=error)
            message = "😕 Something went wrong on my side. Please try again."
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(message, ephemeral=True)
            else:
                await interaction.response.send_message(message, ephemeral=True)

    # ------------------------------------------------------------------ progress

    async def _follow(self, job_id: JobId, where: JobMessage) -> None:
        """Edit the progress response as the job goes on (a Cancel button until it ends)."""

        async def show(text: str, final: bool) -> None:
            try:
                await self.messenger.show(
                    where, text, job_id=None if final else job_id, final=final
                )
            except discord.HTTPException as exc:
                if final:
                    raise
                log.warning("job %s: a progress edit failed (%s %s); the next tick tries again",
                            job_id, exc.status, exc.code)  # fmt: skip

        await follow(self.jobs, job_id, self.settings.progress_interval_s, show)

    def _follow_in_channel(self, job: Job) -> None:
        """After a restart: the interaction is gone; show progress in the job's channel."""
        where = JobMessage(int(job.origin.chat_id), int(job.origin.user_id), None, 0.0)
        self._where[job.id] = where
        self._spawn(self._follow(job.id, where))

    # ------------------------------------------------------------------ delivery

    async def deliver(self, job: Job) -> None:
        """The outbox's delivery handler: the video(s), each fitted to the upload limit, as
        many per message as Discord takes. An upload refused as too large is shrunk and sent
        again. Videos that cannot reach the user raise `DeliveryRefused` (the user is told
        where possible), which the outbox does not retry; after other failures it retries, and
        videos already delivered are not sent twice."""
        result = job.result
        assert result is not None, "only completed jobs wait in the outbox for a chat"
        where = self._where.setdefault(
            job.id, JobMessage(int(job.origin.chat_id), int(job.origin.user_id), None, 0.0)
        )
        advertised = job.origin.extra.get("filesize_limit")
        limit = int(
            int(advertised or discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES) * uploads.MARGIN
        )
        try:
            await self._send_videos(where, job, result, limit)
        except CoreError as exc:  # no rendition fits, or Discord kept refusing the size
            await self.messenger.show(where, f"❌ {exc}", final=True)
            where.blocked = where.blocked or str(exc)
        self._where.pop(job.id, None)
        if where.blocked:
            raise DeliveryRefused(where.blocked)

    async def _send_videos(
        self, where: JobMessage, job: Job, result: JobResult, limit: int
    ) -> None:
        """Send the videos not sent yet, message by message; after a 413, shrink the rest."""
        count = len(uploads.names_of(result))
        request_limit, shrinks = uploads.budget(limit), 0
        while where.sent < count and not where.blocked:
            try:
                planned = await uploads.plan(self.jobs, job, where.sent, limit, request_limit)
            except CoreError:
                if not shrinks:
                    raise  # over the announced limit even at the lowest quality: says so
                raise CoreError(_REFUSED_AS_TOO_LARGE) from None
            for batch in planned:
                try:
                    await self._send(where, result, batch, count)
                except discord.HTTPException as exc:
                    if exc.status != 413:
                        raise
                    shrinks += 1
                    if shrinks > _MAX_SHRINKS:
                        raise CoreError(_REFUSED_AS_TOO_LARGE) from None
                    limit = request_limit = await uploads.smaller_limit(batch)
                    log.warning("Discord refused an upload as too large; files now ≤ %d bytes",
                                limit)  # fmt: skip
                    break
                if where.blocked:
                    return
                where.sent += len(batch)

    async def _send(
        self, where: JobMessage, result: JobResult, batch: list[uploads.Upload], total: int
    ) -> None:
        """One message of videos: the first replaces the progress, the others follow it."""
        if where.sent == 0:
            await self.messenger.show(where, done_summary(result), final=True, uploads=batch)
            return
        first, last = where.sent + 1, where.sent + len(batch)
        text = f"🎬 Video {first} of {total}" if first == last else (
            f"🎬 Videos {first}–{last} of {total}"
        )  # fmt: skip
        await self.messenger.send_more(where, text, batch)

    # ------------------------------------------------------------------ helpers

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._closing or task.cancelled():
            return
        if (exc := task.exception()) is not None:
            log.error("a Discord background task failed", exc_info=exc)

    def _origin(self, interaction: discord.Interaction) -> Origin:
        return Origin(
            PLATFORM, str(interaction.user.id), str(interaction.channel_id or 0),
            {"filesize_limit": str(interaction.filesize_limit)},
        )  # fmt: skip

    def _user_language(self, interaction: discord.Interaction) -> str | None:
        code = str(interaction.locale.value).split("-")[0].lower()
        return code if self.jobs.capabilities.writes(code) else None
