"""Discord front end (discord.py app_commands): /story, /video, /status, /cancel, /help over the
runner."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import discord
import yarl
from discord import app_commands

from bot.feed import follow
from bot.options import VIDEO_OPTION_HELP, StoryOptions, VideoOptions, set_video_option
from bot.render import done_summary, help_text
from core.config import Settings
from core.errors import CoreError, InvalidRequest
from core.ffmpeg import shrink_to_fit
from core.jobs import Job, JobKind, Origin
from core.models import (
    LANGUAGE_NAMES,
    MAX_VIDEOS,
    VIDEO_SECONDS,
    Aspect,
    JobId,
    JobResult,
    StoryVideo,
    Style,
    VideoRequest,
)
from core.runner import JobRunner

log = logging.getLogger(__name__)

PLATFORM = "discord"
_UPLOAD_MARGIN = 0.95
_MAX_PICTURE_BYTES = 20 * 1024 * 1024  # a first frame bigger than this is surely a mistake
_ACK_BUDGET_S = 1.5  # fetching a picture may take this long before we defer (due in 3 s)
_VIDEO_HELP = (
    "\n\nShort videos: /video prompt:a kitten chasing a leaf\n"
    "• image: a picture to start from (PNG or JPEG)\n"
    f"• aspect: {VIDEO_OPTION_HELP['aspect']}\n"
    f"• duration: {VIDEO_OPTION_HELP['duration']}\n"
    "• negative: what the video should not show\n"
    "• people: whether people may appear\n"
    f"• count: {VIDEO_OPTION_HELP['count']}"
)

# One file of a message: where it is, and the name it is sent under.
Upload = tuple[Path, str]


def apply_endpoints(settings: Settings) -> None:
    """Point discord.py at another REST and gateway endpoint (a local fake in tests).

    discord.py reads both roots from class attributes, so this is done once, at start-up.
    """
    if settings.discord_api_base_url:
        discord.http.Route.BASE = settings.discord_api_base_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


@dataclass
class _Progress:
    """Where a job's progress is shown: the interaction's response, then a channel message."""

    channel_id: int
    user_id: int
    interaction: discord.Interaction | None
    leave_at: float  # monotonic time to move to a channel message (before the token expires)
    message: discord.Message | None = None
    text: str = ""
    last_edit: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def on_interaction(self) -> bool:
        return self.interaction is not None and time.monotonic() < self.leave_at


def _files(uploads: Sequence[Upload]) -> list[discord.File]:
    # New Files for every send: discord.py closes them after any send, even a failed one.
    return [discord.File(path, filename=name) for path, name in uploads]


def _check_picture(attachment: discord.Attachment) -> None:
    """Refuse, before downloading it, a file that is no picture or far too big for one."""
    kind = attachment.content_type or mimetypes.guess_type(attachment.filename)[0] or ""
    name = discord.utils.escape_markdown(attachment.filename[:60])
    if not kind.startswith("image/"):
        raise InvalidRequest(f"“{name}” is not a picture; send a PNG or JPEG")
    if attachment.size > _MAX_PICTURE_BYTES:
        raise InvalidRequest(
            f"“{name}” is {attachment.size / 2**20:.0f} MB; send a picture under "
            f"{_MAX_PICTURE_BYTES / 2**20:.0f} MB"
        )


def _video_options(**chosen: object) -> VideoOptions:
    """The options picked in Discord's form, checked as every front end checks them."""
    options = VideoOptions()
    for key, value in chosen.items():
        if isinstance(value, bool):
            value = "allow" if value else "deny"
        if value is not None:
            set_video_option(options, key, str(value))
    return options


def _cancel_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(
            label="Cancel", style=discord.ButtonStyle.danger, custom_id=f"cancel:{job_id}"
        )
    )
    return view


class DiscordAdapter:
    """The Discord bot: slash commands, a throttled progress response, and delivery."""

    def __init__(self, runner: JobRunner, settings: Settings) -> None:
        if settings.discord_bot_token is None:
            raise CoreError("DISCORD_BOT_TOKEN is not set")
        apply_endpoints(settings)
        self.runner, self.settings = runner, settings
        self.client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.5)
        self.tree = app_commands.CommandTree(self.client)
        self.tree.on_error = self.on_error  # type: ignore[method-assign]
        self.client.event(self.on_interaction)
        self._progress: dict[str, _Progress] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._connection: asyncio.Task[None] | None = None
        self._register_commands()

    async def __aenter__(self) -> DiscordAdapter:
        assert self.settings.discord_bot_token is not None
        await self.client.login(self.settings.discord_bot_token.get_secret_value())
        self._connection = asyncio.create_task(self.client.connect(), name="discord-gateway")
        await self.client.wait_until_ready()
        if self.settings.discord_guild_ids:
            for guild_id in self.settings.discord_guild_ids:
                guild = discord.Object(int(guild_id))
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        await self.runner.register_delivery(PLATFORM, self.deliver)
        for job in await self.runner.unfinished(PLATFORM):
            self._follow_in_channel(job)
        log.info("Discord bot %s is connected", self.client.user)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.client.close()
        if self._connection is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._connection

    # ------------------------------------------------------------------ commands

    def _register_commands(self) -> None:
        tree = self.tree

        @tree.command(name="story", description="Make an illustrated, narrated story video")
        @app_commands.describe(
            theme="What the story is about, e.g. a cat and a dog",
            scenes="Number of scenes (1-10)",
            aspect="Frame shape",
            style="Art style",
            voice="Narrator voice",
            language="Story language (default: yours)",
            captions="Burn the narration in as captions",
            animate="Bring each scene to life (slower)",
        )
        async def story(
            interaction: discord.Interaction,
            theme: str,
            scenes: app_commands.Range[int, 1, 10] | None = None,
            aspect: Literal["16:9", "9:16", "1:1"] | None = None,
            style: Literal[
                "storybook", "watercolor", "3d-cartoon", "anime", "claymation", "paper-cutout"
            ]
            | None = None,
            voice: str | None = None,
            language: str | None = None,
            captions: bool = True,
            animate: bool = False,
        ) -> None:
            options = StoryOptions(
                scenes=scenes,
                aspect=Aspect(aspect) if aspect else None,
                style=Style(style) if style else None,
                voice=voice,
                language=language,
                captions=captions,
                animate=animate,
            )
            await self.story(interaction, theme, options)

        @story.autocomplete("voice")
        async def voice_choices(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            voices = self.runner.pipeline.providers.narrator.voices()
            wanted = current.lower()
            return [
                app_commands.Choice(name=f"{v.name} — {v.description}"[:100], value=v.name)
                for v in voices
                if wanted in v.name.lower() or wanted in v.description.lower()
            ][:25]

        @story.autocomplete("language")
        async def language_choices(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            wanted = current.lower()
            return [
                app_commands.Choice(name=f"{name} ({code})", value=code)
                for code, name in LANGUAGE_NAMES.items()
                if self.runner.pipeline.writes(code) and (wanted in code or wanted in name.lower())
            ][:25]

        @tree.command(name="video", description="Make a short video from a prompt (and a picture)")
        @app_commands.describe(
            prompt="What the video shows, e.g. a kitten chasing a leaf",
            image="A picture to start from (PNG or JPEG): the first frame",
            aspect="Frame shape",
            duration="Length in seconds",
            negative="What the video should not show, e.g. rain, cars",
            people="Whether people may appear",
            count="How many videos to make",
        )
        async def video(
            interaction: discord.Interaction,
            prompt: str,
            image: discord.Attachment | None = None,
            aspect: Literal["16:9", "9:16"] | None = None,
            duration: app_commands.Range[int, VIDEO_SECONDS[0], VIDEO_SECONDS[1]] | None = None,
            negative: str | None = None,
            people: bool | None = None,
            count: app_commands.Range[int, 1, MAX_VIDEOS] | None = None,
        ) -> None:
            try:
                options = _video_options(
                    aspect=aspect, duration=duration, negative=negative, people=people,
                    count=count,
                )  # fmt: skip
            except CoreError as exc:
                await self._refuse(interaction, exc)
                return
            await self.video(interaction, prompt, options, image)

        @tree.command(name="status", description="Your recent stories and videos")
        async def status(interaction: discord.Interaction) -> None:
            jobs = await self.runner.recent(Origin(PLATFORM, str(interaction.user.id)))
            lines = [f"`{j.id}` · {j.status.value} {j.percent}% · {j.subject[:40]}" for j in jobs]
            await interaction.response.send_message(
                "\n".join(lines) or "Nothing yet. Try /story or /video", ephemeral=True
            )

        @tree.command(name="cancel", description="Stop your story or video in progress")
        async def cancel(interaction: discord.Interaction) -> None:
            jobs = await self.runner.recent(Origin(PLATFORM, str(interaction.user.id)), limit=20)
            job = next((j for j in jobs if not j.status.finished), None)
            if job is None:
                await interaction.response.send_message("Nothing to cancel.", ephemeral=True)
                return
            await interaction.response.send_message(f"🚫 Cancelling `{job.id}`.", ephemeral=True)
            await self.runner.cancel(job.id)

        @tree.command(name="help", description="What I do, and the options")
        async def help_(interaction: discord.Interaction) -> None:
            voices = self.runner.pipeline.providers.narrator.voices()
            example = voices[0].name if voices else "default"
            text = help_text(
                example="/story theme:a cat and a dog",
                with_options=f"/story theme:a brave little fox scenes:4 aspect:9:16 "
                f"style:watercolor voice:{example} language:fr",
                voices=voices,
            )
            await interaction.response.send_message(text + _VIDEO_HELP, ephemeral=True)

    async def story(
        self, interaction: discord.Interaction, theme: str, options: StoryOptions
    ) -> None:
        """Validate and submit at once; bad input gets an ephemeral reply, good input a defer."""
        try:
            request = options.request(theme, self.settings, self._user_language(interaction))
            job = await self.runner.submit(request, self._origin(interaction))
        except CoreError as exc:
            await self._refuse(interaction, exc)
            return
        await self._track(interaction, job)

    async def video(
        self,
        interaction: discord.Interaction,
        prompt: str,
        options: VideoOptions,
        image: discord.Attachment | None,
    ) -> None:
        """Validate, fetch the picture and submit; a refusal is ephemeral. A slow fetch gets
        the interaction deferred first, so it is acknowledged in time either way."""
        try:
            request = options.request(prompt)
            if image is not None:
                _check_picture(image)
        except CoreError as exc:
            await self._refuse(interaction, exc)
            return
        submitted = asyncio.ensure_future(self._submit_video(interaction, request, image))
        done, _ = await asyncio.wait({submitted}, timeout=_ACK_BUDGET_S)
        if not done:
            try:
                await interaction.response.defer(thinking=True)
            except discord.HTTPException:  # too late: the interaction is gone, not the job
                log.warning("/video was not acknowledged in time; following it in the channel")
                with contextlib.suppress(CoreError):
                    self._follow_in_channel(await submitted)
                return
        try:
            job = await submitted
        except CoreError as exc:
            await self._refuse(interaction, exc)
            return
        await self._track(interaction, job)

    async def _submit_video(
        self,
        interaction: discord.Interaction,
        request: VideoRequest,
        image: discord.Attachment | None,
    ) -> Job:
        picture = None
        if image is not None:
            await self.runner.check_limits(self._origin(interaction), makes_clips=True)
            try:
                picture = await image.read()
            except discord.HTTPException:
                raise InvalidRequest(
                    "I could not fetch that picture; please send it again"
                ) from None
        return await self.runner.submit_video(request, self._origin(interaction), image=picture)

    async def _refuse(self, interaction: discord.Interaction, error: CoreError) -> None:
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
        progress = _Progress(
            interaction.channel_id or 0, interaction.user.id, interaction,
            leave_at=time.monotonic() + ttl - min(60.0, ttl / 4),
        )  # fmt: skip
        self._progress[job.id] = progress
        self._spawn(self._follow(job.id, progress))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """The Cancel button under a progress message (works across restarts)."""
        if interaction.type is not discord.InteractionType.component or interaction.data is None:
            return
        custom_id = str(interaction.data.get("custom_id", ""))
        if not custom_id.startswith("cancel:"):
            return
        job_id = JobId(custom_id.removeprefix("cancel:"))
        try:
            job = await self.runner.get(job_id)
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
        await self.runner.cancel(job_id)

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

    async def _follow(self, job_id: JobId, progress: _Progress) -> None:
        """Edit the progress response as the job goes on (a Cancel button until it ends)."""

        async def show(text: str, final: bool) -> None:
            await self._show(progress, text, job_id=None if final else job_id, final=final)

        await follow(self.runner, job_id, self.settings.progress_interval_s, show)

    async def _show(
        self,
        progress: _Progress,
        text: str,
        *,
        job_id: str | None = None,
        final: bool = False,
        uploads: Sequence[Upload] = (),
    ) -> None:
        """Show `text` (and a Cancel button while running, or the videos at the end), throttled
        per message; on the interaction while its token lives, else in the channel."""
        async with progress.lock:
            if text == progress.text and not uploads:
                return
            wait = progress.last_edit + self.settings.progress_interval_s - time.monotonic()
            if wait > 0:
                if not final:
                    return
                await asyncio.sleep(wait)
            view = _cancel_view(job_id) if job_id else None
            if progress.on_interaction:
                assert progress.interaction is not None
                attachments = _files(uploads) if uploads else discord.utils.MISSING
                try:
                    await progress.interaction.edit_original_response(
                        content=text, view=view, attachments=attachments
                    )
                    progress.text, progress.last_edit = text, time.monotonic()
                    return
                except discord.HTTPException as exc:
                    if exc.status != 401:
                        raise
                    log.info("interaction token expired early; moving to the channel")
                progress.interaction = None
            await self._show_in_channel(progress, text, view, final, uploads)
            progress.text, progress.last_edit = text, time.monotonic()

    async def _show_in_channel(
        self,
        progress: _Progress,
        text: str,
        view: discord.ui.View | None,
        final: bool,
        uploads: Sequence[Upload],
    ) -> None:
        channel = await self._channel(progress)
        mention = f"<@{progress.user_id}> " if final else ""
        allowed = discord.AllowedMentions(users=True, everyone=False, roles=False)
        if progress.message is None or uploads:
            if progress.interaction is not None:
                with contextlib.suppress(discord.HTTPException):
                    await progress.interaction.edit_original_response(
                        content="⬇️ Progress continues in a message below.", view=None
                    )
                progress.interaction = None
            sent = await channel.send(
                content=mention + text, view=view or discord.utils.MISSING,
                files=_files(uploads) if uploads else discord.utils.MISSING,
                allowed_mentions=allowed,
            )  # fmt: skip
            if not uploads:
                progress.message = sent
            return
        assert progress.message is not None
        await progress.message.edit(content=mention + text, view=view, allowed_mentions=allowed)

    async def _send_more(self, progress: _Progress, text: str, uploads: Sequence[Upload]) -> None:
        """A further message after the final one (a video that did not fit in it)."""
        if progress.on_interaction:
            assert progress.interaction is not None
            try:
                await progress.interaction.followup.send(text, files=_files(uploads))
                return
            except discord.HTTPException as exc:
                if exc.status != 401:
                    raise
            progress.interaction = None
        channel = await self._channel(progress)
        await channel.send(content=text, files=_files(uploads))

    async def _channel(self, progress: _Progress) -> discord.abc.Messageable:
        channel = self.client.get_channel(progress.channel_id) or await self.client.fetch_channel(
            progress.channel_id
        )
        assert isinstance(channel, discord.abc.Messageable)
        return channel

    def _follow_in_channel(self, job: Job) -> None:
        """After a restart: the interaction is gone; show progress in the job's channel."""
        progress = _Progress(int(job.origin.chat_id), int(job.origin.user_id), None, 0.0)
        self._progress[job.id] = progress
        self._spawn(self._follow(job.id, progress))

    # ------------------------------------------------------------------ delivery

    async def deliver(self, job: Job, result: JobResult) -> None:
        """The runner's delivery handler: the video(s), fitted to the interaction's size limit:
        several in one message when they fit together, else one message each."""
        progress = self._progress.pop(job.id, None) or _Progress(
            int(job.origin.chat_id), int(job.origin.user_id), None, 0.0
        )
        limit = int(
            int(
                job.origin.extra.get("filesize_limit", discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES)
            )
            * _UPLOAD_MARGIN
        )
        try:
            messages = await _messages(result, limit)
        except CoreError as exc:
            await self._show(progress, f"❌ {exc}", final=True)
            return
        first, *more = messages
        await self._show(progress, done_summary(result), final=True, uploads=first)
        for number, uploads in enumerate(more, start=2):
            await self._send_more(progress, f"🎬 Video {number} of {len(messages)}", uploads)

    # ------------------------------------------------------------------ helpers

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _origin(self, interaction: discord.Interaction) -> Origin:
        return Origin(
            PLATFORM, str(interaction.user.id), str(interaction.channel_id or 0),
            {"filesize_limit": str(interaction.filesize_limit)},
        )  # fmt: skip

    def _user_language(self, interaction: discord.Interaction) -> str | None:
        code = str(interaction.locale.value).split("-")[0].lower()
        return code if self.runner.pipeline.writes(code) else None


async def _messages(result: JobResult, limit: int) -> list[list[Upload]]:
    """What to send, message by message, each within `limit` bytes (shrunk when it must be)."""
    size = (result.width, result.height)
    if isinstance(result, StoryVideo):
        video = await shrink_to_fit(
            result.video, result.video.with_name("story.discord.mp4"), limit_bytes=limit,
            duration_s=result.duration_s, size=size,
        )  # fmt: skip
        return [[(video, "story.mp4")]]
    count = len(result.videos)
    names = ["video.mp4"] if count == 1 else [f"video-{n}.mp4" for n in range(1, count + 1)]
    sizes = [(await asyncio.to_thread(path.stat)).st_size for path in result.videos]
    if sum(sizes) <= limit:
        return [list(zip(result.videos, names, strict=True))]
    messages: list[list[Upload]] = []
    for path, name in zip(result.videos, names, strict=True):
        fitted = await shrink_to_fit(
            path, path.with_name(f"{path.stem}.discord.mp4"), limit_bytes=limit,
            duration_s=result.duration_s, size=size,
        )  # fmt: skip
        messages.append([(fitted, name)])
    return messages
