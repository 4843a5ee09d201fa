"""What the self-tests of the fake Discord share: a real discord.py bot with a /story command.

Nothing in these tests mocks discord.py: a real `commands.Bot` with its `CommandTree` logs in over
HTTP and connects over the websocket to `FakeDiscord` on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from tests.discord_server import CHANNEL_ID, FakeDiscord, Interaction

Script = Callable[[discord.Interaction, dict[str, Any]], Awaitable[Any]]
VOICES = ["alice", "bob", "barbara", "carol"]
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64  # 16 KiB standing in for an MP4
STORY = {"theme": "a cat and a dog", "scenes": 3, "style": "watercolor", "narrate": False}


@dataclass
class Running:
    """A connected bot; `run` pushes `/story` and returns what the command's `script` gave back."""

    fake: FakeDiscord
    bot: commands.Bot = field(init=False)
    script: Script | None = None
    results: asyncio.Queue[tuple[dict[str, Any], Any]] = field(default_factory=asyncio.Queue)
    autocompleted: list[str] = field(default_factory=list)

    async def run(
        self, script: Script, options: dict[str, Any] | None = None, **kwargs: Any
    ) -> tuple[Interaction, dict[str, Any], Any]:
        self.script = script
        pushed = self.fake.send_command("story", STORY if options is None else options, **kwargs)
        received, result = await asyncio.wait_for(self.results.get(), 10)
        return pushed, received, result

    @property
    def channel(self) -> discord.TextChannel:
        channel = self.bot.get_channel(int(CHANNEL_ID))
        assert isinstance(channel, discord.TextChannel)
        return channel


def build_bot(running: Running) -> commands.Bot:
    bot = commands.Bot(
        command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.1
    )

    async def voice_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        running.autocompleted.append(current)
        return [
            app_commands.Choice(name=v.title(), value=v) for v in VOICES if v.startswith(current)
        ]

    @bot.tree.command(name="story", description="Turn a theme into an illustrated story video")
    @app_commands.describe(
        theme="What the story is about",
        scenes="How many scenes",
        style="Illustration style",
        narrate="Read the story aloud",
        voice="Narrator voice",
    )
    @app_commands.autocomplete(voice=voice_choices)
    async def story(
        interaction: discord.Interaction,
        theme: str,
        scenes: app_commands.Range[int, 1, 10],
        style: Literal["cartoon", "watercolor"],
        narrate: bool = True,
        voice: str = "alice",
    ) -> None:
        received = {"theme": theme, "scenes": scenes, "style": style, "narrate": narrate,
                    "voice": voice}  # fmt: skip
        result: Any = None
        try:
            if running.script is not None:
                result = await running.script(interaction, received)
        except Exception as exc:  # handed to the test, which asserts on it
            result = exc
        running.results.put_nowait((received, result))

    return bot


@contextlib.asynccontextmanager
async def running_bot(
    fake_class: type[FakeDiscord] = FakeDiscord, **fake_options: Any
) -> AsyncIterator[Running]:
    async with fake_class(**fake_options) as fake:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(discord.http.Route, "BASE", fake.api_base)
            mp.setattr(
                discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
            )
            running = Running(fake)
            running.bot = bot = build_bot(running)
            await bot.login(fake.token)
            task = asyncio.create_task(bot.connect(reconnect=False))
            try:
                await asyncio.wait_for(bot.wait_until_ready(), 10)
                await fake.wait_ready(timeout=5)
                yield running
            finally:
                await bot.close()
                await asyncio.wait_for(task, 5)


def video(size: int | None = None, name: str = "story.mp4") -> discord.File:
    data = VIDEO if size is None else bytes(size)
    return discord.File(io.BytesIO(data), filename=name)


def error_of(result: Any) -> discord.HTTPException:
    assert isinstance(result, discord.HTTPException), result
    return result
