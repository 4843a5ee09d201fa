"""The Discord slash commands (/story, /sequel, /video, /status, /cancel, /help) and their
autocomplete, as a Cog the adapter adds to its `commands.Bot`: option parsing only; the adapter
submits and follows the jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.options import VIDEO_OPTION_HELP, StoryOptions, VideoOptions, set_video_option
from bot.render import help_text
from core.errors import CoreError
from core.models import (
    LANGUAGE_NAMES,
    MAX_VIDEOS,
    VIDEO_SECONDS,
    Aspect,
    Origin,
    Style,
    VoiceMode,
)

if TYPE_CHECKING:
    from bot.discord_adapter import DiscordAdapter

PLATFORM = "discord"
_VIDEO_HELP = (
    "\n\nShort videos: /video prompt:a kitten chasing a leaf\n"
    "• image: a picture to start from (PNG or JPEG)\n"
    f"• aspect: {VIDEO_OPTION_HELP['aspect']}\n"
    f"• duration: {VIDEO_OPTION_HELP['duration']}\n"
    "• negative: what the video should not show\n"
    "• people: whether people may appear\n"
    f"• count: {VIDEO_OPTION_HELP['count']}"
)
_MAX_CHOICES = 25  # Discord shows at most 25 autocomplete choices
_MAX_CHOICE_NAME = 100


def _video_options(**chosen: object) -> VideoOptions:
    """The options picked in Discord's form, checked as every front end checks them."""
    options = VideoOptions()
    for key, value in chosen.items():
        if isinstance(value, bool):
            value = "allow" if value else "deny"
        if value is not None:
            set_video_option(options, key, str(value))
    return options


class StoryCommands(commands.Cog, name="Story"):
    """Every slash command of the bot, over the adapter's job service."""

    def __init__(self, adapter: DiscordAdapter) -> None:
        self.adapter, self.jobs = adapter, adapter.jobs

    # ------------------------------------------------------------------ /story

    @app_commands.command(name="story", description="Make an illustrated, narrated story video")
    @app_commands.describe(
        theme="What the story is about, e.g. a cat and a dog",
        hero="A photo of a pet, a toy or a drawing: it becomes the hero of the story",
        scenes="Number of scenes (1-10)",
        aspect="Frame shape",
        style="Art style",
        voice="Narrator voice",
        language="Story language (default: yours)",
        captions="Burn the narration in as captions",
        animate="Bring each scene to life (slower)",
        preview="See the scenes first: redraw a picture, change a line, then render",
        voices="narrator: one voice reads it all; cast: a voice for every character too",
    )
    async def story(
        self,
        interaction: discord.Interaction,
        theme: str,
        hero: discord.Attachment | None = None,
        scenes: app_commands.Range[int, 1, 10] | None = None,
        aspect: Literal["16:9", "9:16", "1:1", "16:10"] | None = None,
        style: Literal[
            "storybook", "watercolor", "3d-cartoon", "anime", "claymation", "paper-cutout"
        ]
        | None = None,
        voice: str | None = None,
        language: str | None = None,
        captions: bool = True,
        animate: bool = False,
        preview: bool | None = None,
        voices: Literal["narrator", "cast"] | None = None,
    ) -> None:
        """/story: the options as a `StoryOptions` (and the hero's photo), handed to the adapter
        to submit; `preview` unset means STORYBOT_PREVIEW_DEFAULT, `voices` unset
        STORYBOT_VOICES_DEFAULT."""
        options = StoryOptions(
            scenes=scenes,
            aspect=Aspect(aspect) if aspect else None,
            style=Style(style) if style else None,
            voice=voice,
            language=language,
            captions=captions,
            animate=animate,
            preview=preview,
            voices=VoiceMode(voices) if voices else None,
        )
        await self.adapter.story(interaction, theme, options, hero)

    @story.autocomplete("voice")
    async def voice_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The narrator voices whose name or description contains what was typed."""
        voices = self.jobs.capabilities.voices
        wanted = current.lower()
        return [
            app_commands.Choice(
                name=f"{v.name} — {v.description}"[:_MAX_CHOICE_NAME], value=v.name
            )
            for v in voices
            if wanted in v.name.lower() or wanted in v.description.lower()
        ][:_MAX_CHOICES]

    @story.autocomplete("language")
    async def language_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The story languages the pipeline writes whose code or name contains what was typed."""
        wanted, writes = current.lower(), self.jobs.capabilities.writes
        return [
            app_commands.Choice(name=f"{name} ({code})", value=code)
            for code, name in LANGUAGE_NAMES.items()
            if writes(code) and (wanted in code or wanted in name.lower())
        ][:_MAX_CHOICES]

    # ------------------------------------------------------------------ /sequel

    @app_commands.command(
        name="sequel", description="The next part of your last story here, same characters"
    )
    @app_commands.rename(what_next="next")
    @app_commands.describe(
        what_next="What happens next, e.g. the dragon comes back",
        scenes="Number of scenes (1-10)",
        captions="Burn the narration in as captions",
        animate="Bring each scene to life (slower)",
    )
    async def sequel(
        self,
        interaction: discord.Interaction,
        what_next: str | None = None,
        scenes: app_commands.Range[int, 1, 10] | None = None,
        captions: bool = True,
        animate: bool = False,
    ) -> None:
        """/sequel: the user's last story in this channel goes on (its look, voice, cast of
        voices and language kept), with what happens next if given."""
        options = StoryOptions(scenes=scenes, captions=captions, animate=animate)
        await self.adapter.sequel(interaction, what_next or "", options)

    # ------------------------------------------------------------------ /video

    @app_commands.command(
        name="video", description="Make a short video from a prompt (and a picture)"
    )
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
        self,
        interaction: discord.Interaction,
        prompt: str,
        image: discord.Attachment | None = None,
        aspect: Literal["16:9", "16:10", "9:16"] | None = None,
        duration: app_commands.Range[int, VIDEO_SECONDS[0], VIDEO_SECONDS[1]] | None = None,
        negative: str | None = None,
        people: bool | None = None,
        count: app_commands.Range[int, 1, MAX_VIDEOS] | None = None,
    ) -> None:
        """/video: the options checked (a bad one is refused), then handed to the adapter."""
        try:
            options = _video_options(
                aspect=aspect, duration=duration, negative=negative, people=people, count=count
            )
        except CoreError as exc:
            await self.adapter.refuse(interaction, exc)
            return
        await self.adapter.video(interaction, prompt, options, image)

    # ------------------------------------------------------------------ /status, /cancel, /help

    @app_commands.command(name="status", description="Your recent stories and videos")
    async def status(self, interaction: discord.Interaction) -> None:
        """/status: the user's recent jobs, to them alone."""
        recent = await self.jobs.recent(Origin(PLATFORM, str(interaction.user.id)))
        lines = [f"`{j.id}` · {j.status.value} {j.percent}% · {j.subject[:40]}" for j in recent]
        await interaction.response.send_message(
            "\n".join(lines) or "Nothing yet. Try /story or /video", ephemeral=True
        )

    @app_commands.command(name="cancel", description="Stop your story or video in progress")
    async def cancel(self, interaction: discord.Interaction) -> None:
        """/cancel: stop the user's most recent unfinished job."""
        recent = await self.jobs.recent(Origin(PLATFORM, str(interaction.user.id)), limit=20)
        job = next((j for j in recent if not j.status.finished), None)
        if job is None:
            await interaction.response.send_message("Nothing to cancel.", ephemeral=True)
            return
        await interaction.response.send_message(f"🚫 Cancelling `{job.id}`.", ephemeral=True)
        await self.jobs.cancel(job.id)

    @app_commands.command(name="help", description="What I do, and the options")
    async def help_(self, interaction: discord.Interaction) -> None:
        """/help: what the bot does and every option, to the user alone."""
        voices = list(self.jobs.capabilities.voices)
        example = voices[0].name if voices else "default"
        text = help_text(
            example="/story theme:a cat and a dog",
            with_options=f"/story theme:a brave little fox scenes:4 aspect:9:16 "
            f"style:watercolor voice:{example} language:fr voices:cast",
            voices=voices,
            hero="/story theme:a day at the beach hero:(a photo of a pet, a toy or a drawing) "
            "— it becomes the hero of the story",
            sequel="/sequel next:the dragon comes back — the next part of your last story in "
            "this channel, with the same characters, look and voice",
        )
        await interaction.response.send_message(text + _VIDEO_HELP, ephemeral=True)
