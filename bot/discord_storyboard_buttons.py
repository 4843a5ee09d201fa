"""The storyboard's buttons and its line modal on Discord, from raw interactions (so they work
after a restart: the custom_id names the job and the action, everything else is in the store):
🎲 Redraw N, ✏️ Edit N (a modal with the line), ▶️ Render, ✖ Cancel; only the user who asked
may press them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

import discord

from bot import discord_storyboard_layout as layout
from bot.discord_storyboard import CANCELLED_TEXT, DiscordStoryboard
from bot.discord_storyboard_layout import Press, custom_id, parse
from core.errors import CoreError, JobNotFound, NotAwaitingApproval
from core.models import Job, JobStatus
from core.service import JobService
from core.storyboard import MAX_LINE_CHARS

log = logging.getLogger(__name__)
_CAST_SCRIPT_CHARS = 2000  # a cast's lines, one per row

Track = Callable[[discord.Interaction, Job], Awaitable[None]]

_LINE_INPUT = "line"
_GONE = "That storyboard is gone."
_NOT_YOURS = "Only the person who asked for this story can change its storyboard."
_BUSY = "the storyboard can't change now: it is being drawn, made into a video, or has ended"
RENDERING = "▶️ Rendering: the video follows below."


class StoryboardButtons:
    """Answers the storyboard's buttons and modal; `track` follows a job on an interaction's
    response (the adapter's progress, then its delivery of the video)."""

    def __init__(self, jobs: JobService, board: DiscordStoryboard, track: Track) -> None:
        self.jobs, self.board, self.track = jobs, board, track

    async def handle(self, interaction: discord.Interaction) -> bool:
        """Answer a storyboard button or modal submit; False for any other interaction."""
        kinds = (discord.InteractionType.component, discord.InteractionType.modal_submit)
        if interaction.type not in kinds or interaction.data is None:
            return False
        press = parse(str(interaction.data.get("custom_id", "")))
        if press is None:
            return False
        try:
            job = await self.jobs.get(press.job_id)
        except JobNotFound:
            await _answer(interaction, _GONE)
            return True
        if str(interaction.user.id) != job.origin.user_id:
            await _answer(interaction, _NOT_YOURS)
            return True
        try:
            await self._act(interaction, press, job)
        except CoreError as exc:  # not waiting, no redraw left, limits, a bad line
            await _answer(interaction, f"⚠️ {exc}")
        return True

    async def _act(self, interaction: discord.Interaction, press: Press, job: Job) -> None:
        match press.action:
            case layout.REDRAW:
                await interaction.response.defer(ephemeral=True, thinking=True)
                board = await self.jobs.storyboards.redraw(job, press.scene)
                left = board.scene(press.scene).redraws_left
                await _answer(
                    interaction,
                    f"🎲 Drawing scene {press.scene} again ({left} redraws left): the "
                    "storyboard changes when it is ready.",
                )
            case layout.EDIT:
                await self._open_line(interaction, press, job)
            case layout.LINE:
                await self.jobs.storyboards.edit(job, press.scene, _line(interaction))
                await interaction.response.defer()  # the modal closes; the lines change
                await self.board.refresh(job)
            case layout.RENDER:
                await self.jobs.storyboards.render(job)
                await interaction.response.send_message(
                    f"▶️ Making the video of <@{job.origin.user_id}>'s storyboard…",
                    allowed_mentions=discord.AllowedMentions.none(),
                )
                await self.board.settle(job, RENDERING)
                await self.track(interaction, job)
            case layout.CANCEL:
                await interaction.response.defer(ephemeral=True, thinking=True)
                ended = await self.jobs.cancel(job.id)
                if ended.status is not JobStatus.CANCELLED:  # it ended another way first
                    await _answer(interaction, f"It is {ended.status.value}: nothing to cancel.")
                    return
                await self.board.settle(ended, CANCELLED_TEXT)
                await _answer(interaction, CANCELLED_TEXT)

    async def _open_line(self, interaction: discord.Interaction, press: Press, job: Job) -> None:
        """✏️ Edit N: a modal with scene N's line, to change."""
        if job.status is not JobStatus.AWAITING_APPROVAL:
            raise NotAwaitingApproval(_BUSY)
        scene = (await self.jobs.storyboards.get(job)).scene(press.scene)
        modal = discord.ui.Modal(
            title=f"✏️ Scene {scene.index}", custom_id=custom_id(layout.LINE, job.id, scene.index)
        )
        modal.add_item(
            discord.ui.Label(
                text=f"Scene {scene.index}: a line a row, Speaker: text"  # ≤ 45 characters
                if scene.lines
                else f"What the narrator says in scene {scene.index}",
                component=discord.ui.TextInput(
                    custom_id=_LINE_INPUT, style=discord.TextStyle.paragraph,
                    default=scene.script, min_length=1,
                    max_length=_CAST_SCRIPT_CHARS if scene.lines else MAX_LINE_CHARS,
                ),
            )
        )  # fmt: skip
        await interaction.response.send_modal(modal)


def _line(interaction: discord.Interaction) -> str:
    """The line typed in the modal (its text input, in a Label or an action row)."""
    assert interaction.data is not None
    stack = list(cast("list[Any]", interaction.data.get("components") or []))
    while stack:
        component = stack.pop()
        if component.get("custom_id") == _LINE_INPUT:
            return str(component.get("value") or "")
        stack += component.get("components", [])
        if "component" in component:
            stack.append(component["component"])
    return ""


async def _answer(interaction: discord.Interaction, text: str) -> None:
    """A short answer to the presser alone: the initial response, or the deferred one."""
    try:
        if interaction.response.is_done():
            await interaction.edit_original_response(content=text)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException as exc:  # the interaction is gone: nobody to tell
        log.warning("a storyboard answer was not delivered (%s %s)", exc.status, exc.code)
