"""The fake Discord's gateway and application commands, as discord.py 2.7 connects, syncs and
receives them."""

from __future__ import annotations

from typing import Any

import discord
import pytest
import yarl
from discord import app_commands

from tests.discord_server import APPLICATION_ID, GUILD_ID, USER_ID, FakeDiscord
from tests.selftest.discord.helpers import STORY, VIDEO, Running, video

pytestmark = pytest.mark.timeout(30)


# -- connection


async def test_gateway_handshake_ready_and_guild_cached(running: Running) -> None:
    bot, fake = running.bot, running.fake
    assert bot.user is not None
    assert bot.user.id == int(fake.bot_user_id)
    assert bot.application_id == int(APPLICATION_ID)
    guild = bot.get_guild(int(GUILD_ID))
    assert guild is not None
    assert not guild.unavailable
    assert guild.default_role.id == guild.id
    assert guild.me is not None
    assert guild.me.id == bot.user.id
    assert guild.member_count == 3
    assert guild.get_member(int(USER_ID)) is None  # only with the presences intent, as on Discord
    assert running.channel.name == "general"
    assert running.channel.guild is guild

    assert fake.identify is not None
    assert fake.identify["token"] == fake.token
    assert fake.identify["intents"] == discord.Intents.default().value == 53575421
    login = fake.calls_to("GET", "/users/@me")[0]
    assert login.headers["Authorization"] == f"Bot {fake.token}"
    assert fake.calls_to("GET", "/oauth2/applications/@me")[0].status == 200
    # discord.py heartbeats right after HELLO; the fake acknowledges it
    assert any(d == "in" and f["op"] == 1 for d, f in fake.gateway_log)
    assert any(d == "out" and f["op"] == 11 for d, f in fake.gateway_log)
    sent = [f for d, f in fake.gateway_log if d == "out"]
    assert sent[0]["op"] == 10
    assert sent[0]["d"]["heartbeat_interval"] == 41_250
    assert [f["t"] for f in sent if f["op"] == 0][:2] == ["READY", "GUILD_CREATE"]


async def test_wrong_token_fails_login_and_gateway() -> None:
    async with FakeDiscord() as fake:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(discord.http.Route, "BASE", fake.api_base)
            mp.setattr(
                discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
            )
            client = discord.Client(intents=discord.Intents.default())
            with pytest.raises(discord.LoginFailure):
                await client.login("not-the-token")
            await client.close()

            client = discord.Client(intents=discord.Intents.default())
            await client.login(fake.token)
            client.http.token = "not-the-token"  # IDENTIFY carries the wrong token
            with pytest.raises(discord.ConnectionClosed) as closed:
                await client.connect(reconnect=False)
            assert closed.value.code == 4004
            await client.close()


# -- application commands


async def test_tree_sync_is_recorded_and_echoed(running: Running) -> None:
    bot, fake = running.bot, running.fake
    synced = await bot.tree.sync()
    assert [c.name for c in synced] == ["story"]
    call = fake.calls_to("PUT", f"/applications/{APPLICATION_ID}/commands")[-1]
    assert call.headers["Authorization"] == f"Bot {fake.token}"
    (command,) = fake.global_commands
    assert command["id"] == str(synced[0].id)
    assert command["application_id"] == APPLICATION_ID
    options = {o["name"]: o for o in command["options"]}
    assert [o["name"] for o in command["options"]] == ["theme", "scenes", "style", "narrate",
                                                       "voice"]  # fmt: skip
    assert {"type": 4, "min_value": 1, "max_value": 10}.items() <= options["scenes"].items()
    assert [c["value"] for c in options["style"]["choices"]] == ["cartoon", "watercolor"]
    assert options["narrate"]["type"] == 5
    assert options["voice"]["autocomplete"] is True
    scenes = synced[0].options[1]
    assert isinstance(scenes, app_commands.Argument)
    assert scenes.max_value == 10

    # a guild sync keeps the global one; the interaction then names the guild command
    guild = discord.Object(int(GUILD_ID))
    bot.tree.copy_global_to(guild=guild)
    (guild_command,) = await bot.tree.sync(guild=guild)
    assert fake.guild_commands[GUILD_ID][0]["guild_id"] == GUILD_ID
    assert {c["id"] for c in fake.commands} == {str(synced[0].id), str(guild_command.id)}
    again = await bot.tree.sync()
    assert again[0].id == synced[0].id  # same name → same id, like Discord

    async def nothing(interaction: discord.Interaction, kwargs: dict[str, Any]) -> None:
        return None

    pushed, received, _ = await running.run(nothing)
    assert pushed.payload["data"]["guild_id"] == GUILD_ID
    assert pushed.payload["data"]["id"] == str(guild_command.id)
    assert received["theme"] == "a cat and a dog"


async def test_story_defer_progress_and_upload(running: Running) -> None:
    await running.bot.tree.sync()

    async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
        limit = interaction.filesize_limit
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="Rendering 40%")
        message = await interaction.edit_original_response(content="Done", attachments=[video()])
        return limit, message, await message.attachments[0].read()

    pushed, received, result = await running.run(script, attachment_size_limit=26_214_400)
    assert received == STORY | {"voice": "alice"}
    assert isinstance(received["scenes"], int)
    assert received["narrate"] is False
    limit, message, downloaded = result
    assert limit == 26_214_400

    fake = running.fake
    (callback,) = fake.calls_to("POST", f"/interactions/{pushed.id}/{pushed.token}/callback")
    assert callback.json == {"type": 5}
    assert callback.query["with_response"] == "1"
    assert "Authorization" not in callback.headers  # the token in the URL authorises it
    progress, final = fake.calls_to("PATCH", f"/webhooks/{APPLICATION_ID}/{pushed.token}/")
    assert progress.path.endswith("/messages/@original")
    assert not progress.files
    assert progress.json.get("content") == "Rendering 40%"
    assert final.json["content"] == "Done"
    assert final.json["attachments"][0]["id"] == 0
    upload = final.files["files[0]"]
    assert upload.data == VIDEO
    assert upload.filename == "story.mp4"

    original = pushed.original
    assert original is not None
    assert original["flags"] & 128 == 0
    assert original["content"] == "Done"
    assert original["type"] == 20
    assert original["webhook_id"] == APPLICATION_ID
    assert original["attachments"][0]["size"] == len(VIDEO)
    assert message.id == int(original["id"])
    assert message.attachments[0].filename == "story.mp4"
    assert downloaded == VIDEO


async def test_followup_after_thinking_replaces_it(running: Running) -> None:
    async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
        try:
            await interaction.followup.send("too early")
        except discord.NotFound as exc:
            early = exc.code
        await interaction.response.defer(thinking=True, ephemeral=True)
        first = await interaction.followup.send("Part 1", wait=True)
        second = await interaction.followup.send("Part 2", file=video(), wait=True)
        await second.edit(content="Part 2 (edited)")
        return early, first, second

    pushed, _, result = await running.run(script)
    early, first, second = result
    assert early == 10015
    assert pushed.callback_data == {"flags": 64}
    assert pushed.original is not None
    assert first.id == int(pushed.original["id"])
    assert pushed.original["flags"] == 64  # the loading flag went, ephemeral stayed
    assert [m["content"] for m in pushed.followups] == ["Part 2 (edited)"]
    assert second.id != first.id
    assert second.attachments[0].size == len(VIDEO)
