"""The fake Discord refuses what Discord refuses, and fails the test when it breaks itself."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.discord_server import APPLICATION_ID, CHANNEL_ID, Call, FakeDiscord, FakeServerError
from tests.discord_wire import ATTACH_FILES, PERMISSIONS, VIEW_CHANNEL
from tests.selftest.discord.helpers import Running, running_bot, video

pytestmark = pytest.mark.timeout(30)


# -- strictness: what Discord refuses, and the fake's own failures


class BrokenFake(FakeDiscord):
    """A fake with a deliberately broken route and a broken download."""

    def _typing(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        raise ZeroDivisionError("typing route broken on purpose")

    async def _download(self, request: Any) -> Any:
        raise KeyError("download broken on purpose")


async def test_an_error_inside_the_fake_fails_the_test() -> None:
    """A handler of the fake that raises is recorded and answered with a 400, which discord.py
    does not retry (a 5xx it would); stopping the fake raises, so the test fails."""

    async def a_test_using_the_broken_fake() -> None:
        async with running_bot(BrokenFake) as running:
            with pytest.raises(discord.HTTPException) as answered:
                await running.channel.typing()
            assert answered.value.status == 400
            assert "fake Discord bug" in answered.value.text
            assert len(running.fake.calls_to("POST", "/typing")) == 1
            url = f"http://127.0.0.1:{running.fake.port}/attachments/{CHANNEL_ID}/1/x.png"
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                assert response.status == 400
            assert [type(e) for e in running.fake.errors] == [ZeroDivisionError, KeyError]

    with pytest.raises(FakeServerError, match="typing route broken on purpose") as failed:
        await a_test_using_the_broken_fake()
    assert "download broken on purpose" in str(failed.value)


async def test_a_test_that_failed_keeps_its_error_and_gets_the_fakes_as_a_note() -> None:

    async def a_failing_test() -> None:
        async with BrokenFake() as fake, aiohttp.ClientSession() as session:
            typing = f"{fake.api_base}/channels/{CHANNEL_ID}/typing"
            async with session.post(typing, headers={"Authorization": f"Bot {fake.token}"}):
                pass
            raise RuntimeError("the test's own failure")

    with pytest.raises(RuntimeError, match="the test's own failure") as failed:
        await a_failing_test()
    assert any("typing route broken on purpose" in note for note in failed.value.__notes__)


async def test_a_clean_fake_stops_quietly() -> None:
    fake = FakeDiscord()
    await fake.start()
    await fake.stop()
    assert fake.errors == []


@pytest.mark.parametrize(
    ("payload", "error_path"),
    [
        ({"content": "x" * 2001}, ["content"]),
        ({"components": [{"type": 1, "components": [
            {"type": 2, "style": 1, "label": "Go", "custom_id": "x" * 101}]}]},
         ["components", "0", "components", "0", "custom_id"]),
        ({"components": [{"type": 1, "components": [
            {"type": 2, "style": 1, "label": "L" * 81, "custom_id": "go"}]}]},
         ["components", "0", "components", "0", "label"]),
        ({"components": [{"type": 1, "components": [
            {"type": 2, "style": 1, "label": str(n), "custom_id": f"b{n}"} for n in range(6)]}]},
         ["components", "0", "components"]),
        ({"components": [{"type": 1, "components": [
            {"type": 2, "style": 1, "label": "Go", "custom_id": f"r{n}"}]} for n in range(6)]},
         ["components"]),
        ({"components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "go"}]},
         ["components", "0"]),
        ({"components": [{"type": 1, "components": [
            {"type": 2, "style": 1, "label": "A", "custom_id": "same"},
            {"type": 2, "style": 2, "label": "B", "custom_id": "same"}]}]},
         ["components", "0", "components", "1", "custom_id"]),
    ],
    ids=["content-2001", "custom-id-101", "label-81", "6-buttons", "6-rows", "no-row", "dup-id"],
)  # fmt: skip
async def test_messages_discord_refuses_are_50035(
    payload: dict[str, Any], error_path: list[str]
) -> None:
    """Content over 2000 characters and components outside Discord's limits (custom_id 1-100,
    label 80, 5 buttons a row, 5 rows, buttons inside rows, unique ids) → 400 50035 naming the
    field, for channel messages and interaction responses alike."""
    async with FakeDiscord() as fake, aiohttp.ClientSession() as session:
        url = f"{fake.api_base}/channels/{CHANNEL_ID}/messages"
        auth = {"Authorization": f"Bot {fake.token}"}
        async with session.post(url, json=payload, headers=auth) as response:
            assert response.status == 400
            body = await response.json()
    assert body["code"] == 50035
    errors = body["errors"]
    for key in error_path:
        errors = errors[key]
    assert errors["_errors"][0]["code"]
    assert not fake.channel_messages


async def test_a_valid_cancel_row_is_accepted(running: Running) -> None:
    view = discord.ui.View()
    for n in range(5):
        view.add_item(discord.ui.Button(label="B" * 80, custom_id=f"{n}" + "c" * 99))
    message = await running.channel.send("five buttons", view=view)
    assert len(running.fake.message(message.id)["components"][0]["components"]) == 5


async def test_autocomplete_choices_discord_refuses_are_50035(running: Running) -> None:
    """A choice name over 100 characters is refused (400 50035), so the user sees none."""
    bot, fake = running.bot, running.fake

    async def long_names(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name="n" * 101, value="v")]

    @bot.tree.command(name="pick", description="Pick one")
    @app_commands.autocomplete(thing=long_names)
    async def pick(interaction: discord.Interaction, thing: str) -> None:
        await interaction.response.send_message(thing)

    await bot.tree.sync()
    pushed = fake.send_autocomplete("pick", {"thing": ""}, focused="thing")
    call = await fake.wait_for("POST", f"/interactions/{pushed.id}/")
    assert (call.status, call.response["code"]) == (400, 50035)
    assert call.response["errors"]["data"]["choices"]["0"]["name"]["_errors"]
    assert pushed.choices is None


async def test_permissions_the_channel_denies_the_bot(running: Running) -> None:
    """Without Attach Files a channel post with a file is 403 50013 while text still goes and
    interaction responses are unaffected; without View Channel everything there is 403 50001.
    CHANNEL_UPDATE brings the overwrite to the bot's cache; `app_permissions` shows it."""
    fake, bot = running.fake, running.bot
    updated = asyncio.ensure_future(bot.wait_for("guild_channel_update", timeout=10))
    fake.deny_bot(ATTACH_FILES)
    _, channel = await updated
    assert isinstance(channel, discord.TextChannel)
    me = channel.guild.me
    assert not channel.permissions_for(me).attach_files
    assert channel.permissions_for(me).send_messages
    with pytest.raises(discord.Forbidden) as no_files:
        await channel.send("here", file=video())
    assert no_files.value.code == 50013
    assert (await channel.send("text is fine")).content == "text is fine"

    async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
        await interaction.response.defer(thinking=True)
        return await interaction.edit_original_response(attachments=[video()])

    pushed, _, result = await running.run(script)
    assert isinstance(result, discord.InteractionMessage), result
    assert int(pushed.payload["app_permissions"]) == int(PERMISSIONS) & ~ATTACH_FILES

    fake.deny_bot(VIEW_CHANNEL)
    with pytest.raises(discord.Forbidden) as no_access:
        await channel.send("text")
    assert no_access.value.code == 50001


async def test_deleted_messages_expiring_tokens_and_scripted_faults(running: Running) -> None:
    """A response deleted by a user is 404 10008 on edit, and a followup then makes a new
    message; `expire_token(when=…)` expires at the first matching call; `fail_next` with a
    predicate hits only the matching request, with a rate-limit bucket's headers."""
    fake = running.fake

    async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
        await interaction.response.defer(thinking=True)
        original = await interaction.original_response()
        fake.delete_message(original.id)
        try:
            await interaction.edit_original_response(content="still there?")
        except discord.NotFound as exc:
            gone = exc.code
        followup = await interaction.followup.send("Here instead", wait=True)
        fake.fail_next("POST", f"/webhooks/{APPLICATION_ID}/", status=429,
                       predicate=lambda c: bool(c.files))  # fmt: skip
        fake.expire_token(interaction.token, when=lambda c: c.get("content") == "expire now")
        await interaction.followup.send("text passes the 429", wait=True)
        with_file = await interaction.followup.send("file waits", file=video(), wait=True)
        try:
            await interaction.followup.send("expire now")
        except discord.HTTPException as exc:
            expired = exc.status, exc.code
        return gone, followup, with_file, expired

    pushed, _, result = await running.run(script)
    gone, followup, with_file, expired = result
    assert gone == 10008
    assert pushed.original is not None
    assert followup.id != int(pushed.original["id"])
    assert with_file.attachments
    assert expired == (401, 50027)
    posts = fake.calls_to("POST", f"/webhooks/{APPLICATION_ID}/{pushed.token}")
    assert [c.status for c in posts] == [200, 200, 429, 200, 401]
    limited = posts[2]
    assert limited.files
    assert posts[3].time - limited.time >= 0.3
