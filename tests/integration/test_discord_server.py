"""The fake Discord server speaks the wire format the real discord.py 2.7 expects.

Nothing here mocks discord.py: a real `commands.Bot` with its `CommandTree` logs in over HTTP and
connects over the websocket to `FakeDiscord` on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
import discord
import PIL.Image
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from tests.discord_server import (
    APPLICATION_ID,
    CHANNEL_ID,
    GUILD_ID,
    USER_ID,
    Call,
    FakeDiscord,
    FakeServerError,
    Interaction,
)
from tests.discord_wire import (
    ATTACH_FILES,
    DEFAULT_ATTACHMENT_SIZE_LIMIT,
    PERMISSIONS,
    VIEW_CHANNEL,
)

pytestmark = pytest.mark.timeout(30)

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


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    async with running_bot() as r:
        yield r


def video(size: int | None = None, name: str = "story.mp4") -> discord.File:
    data = VIDEO if size is None else bytes(size)
    return discord.File(io.BytesIO(data), filename=name)


def error_of(result: Any) -> discord.HTTPException:
    assert isinstance(result, discord.HTTPException), result
    return result


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


# -- deadlines and errors


async def test_rate_limited_edit_is_waited_out(running: Running) -> None:
    fake = running.fake
    fake.fail_next("PATCH", "/messages/@original", status=429)

    async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="Rendering 10%")
        fake.fail_next("PATCH", "/messages/@original", status=429)
        return await interaction.edit_original_response(attachments=[video()])

    _, _, result = await running.run(script)
    assert isinstance(result, discord.InteractionMessage), result
    limited, resent, limited_upload, upload = fake.calls_to("PATCH", "/messages/@original")
    assert [c.status for c in (limited, resent, limited_upload, upload)] == [429, 200, 429, 200]
    assert limited.response == {"message": "You are being rate limited.", "retry_after": 0.3,
                                "global": False}  # fmt: skip
    assert resent.time - limited.time >= 0.3  # slept retry_after before re-sending
    assert resent.json == limited.json
    assert limited.json.get("content") == "Rendering 10%"
    # the multipart edit is re-sent whole: the file was rewound, not half-read
    assert limited_upload.files["files[0]"].data == upload.files["files[0]"].data == VIDEO
    assert upload.time - limited_upload.time >= 0.3
    assert result.attachments[0].size == len(VIDEO)


async def test_429_without_via_is_not_retried(running: Running) -> None:
    running.fake.fail_next("PATCH", "/messages/@original", status=429, via=False)

    async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
        await interaction.response.defer()
        await interaction.edit_original_response(content="x")

    _, _, result = await running.run(script)
    assert error_of(result).status == 429
    assert len(running.fake.calls_to("PATCH", "/messages/@original")) == 1


async def test_expired_token_is_401_50027(running: Running) -> None:
    fake = running.fake

    async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
        await interaction.response.defer(thinking=True)
        fake.expire_token(interaction.token)
        errors = []
        for attempt in (
            interaction.edit_original_response(content="Done"),
            interaction.followup.send("Done"),
        ):
            try:
                await attempt
            except discord.HTTPException as exc:
                errors.append(exc)
        # the documented fallback: a plain channel message has no token to expire
        assert interaction.channel is not None
        assert hasattr(interaction.channel, "send")
        fallback = await interaction.channel.send("Done (fallback)")
        return errors, fallback

    _, _, (errors, fallback) = await running.run(script)
    assert [(e.status, e.code) for e in errors] == [(401, 50027), (401, 50027)]
    assert "Invalid Webhook Token" in errors[0].text
    assert fake.message(fallback.id)["content"] == "Done (fallback)"


async def test_token_ttl_expires_webhook_calls() -> None:
    async with running_bot(token_ttl_s=900) as running:

        async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
            await interaction.response.defer()
            await interaction.edit_original_response(content="in time")
            running.fake.advance(900.1)  # the 15 minutes pass, as far as the fake can tell
            await interaction.edit_original_response(content="too late")

        _, _, result = await running.run(script)
        assert (error_of(result).status, error_of(result).code) == (401, 50027)


async def test_late_initial_response_is_unknown_interaction() -> None:
    async with running_bot() as running:

        async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
            running.fake.advance(3.1)  # past the 3 s deadline
            await interaction.response.defer(thinking=True)

        pushed, _, result = await running.run(script)
        assert isinstance(result, discord.NotFound)
        assert result.code == 10062
        assert not pushed.acked
        assert pushed.original is None


async def test_raw_protocol_details(running: Running) -> None:
    """What discord.py hides: a second callback, JSON content type, 204s, bad routes."""
    fake = running.fake

    async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
        await interaction.response.send_message("hi", ephemeral=True)

    pushed, _, _ = await running.run(script)
    url = f"{fake.api_base}/interactions/{pushed.id}/{pushed.token}/callback?with_response=1"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"type": 5}) as again:
            assert again.status == 400
            assert again.headers["Content-Type"] == "application/json"  # exactly: no charset
            assert again.headers["Via"] == "1.1 google"
            assert (await again.json())["code"] == 40060
        unknown = url.replace(pushed.id, "1")
        async with session.post(unknown, json={"type": 5}) as response:
            assert response.status == 404
            assert (await response.json())["code"] == 10062
        typing = f"{fake.api_base}/channels/{CHANNEL_ID}/typing"
        async with session.post(typing, headers={"Authorization": f"Bot {fake.token}"}) as r:
            assert r.status == 204
            assert r.headers.get("Content-Type") != "application/json"
        async with session.get(f"{fake.api_base}/users/@me") as response:
            assert response.status == 401  # bot routes need Authorization
        async with session.get(f"{fake.api_base}/nope", headers={"Authorization": "x"}) as r:
            assert r.status == 404
            assert r.headers["Content-Type"] == "application/json"
    assert pushed.original is not None
    assert pushed.original["flags"] == 64


# -- components, channel messages, limits, autocomplete


class CancelView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=30)
        self.pressed: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    @discord.ui.button(label="Cancel", custom_id="story:cancel", style=discord.ButtonStyle.danger)
    async def cancel(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.edit_message(content="Cancelled", view=None)
        self.pressed.set_result(interaction.user.id)


class AgainView(discord.ui.View):
    """Persistent: no timeout, fixed custom_id, registered with `bot.add_view`."""

    def __init__(self, pressed: asyncio.Queue[int]) -> None:
        super().__init__(timeout=None)
        self.pressed_queue = pressed

    @discord.ui.button(label="Again", custom_id="story:again")
    async def again(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.defer()  # type 6: acknowledge, change nothing
        assert interaction.message is not None
        self.pressed_queue.put_nowait(interaction.message.id)


async def test_button_press_reaches_view_on_edited_original(running: Running) -> None:
    view = CancelView()

    async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
        await interaction.response.defer(thinking=True)
        return await interaction.edit_original_response(content="Rendering…", view=view)

    _, _, message = await running.run(script)
    fake = running.fake
    assert fake.message(message.id)["components"][0]["components"][0]["custom_id"] == (
        "story:cancel"
    )
    with pytest.raises(KeyError):
        fake.press_button("story:nope", message_id=message.id)
    press = fake.press_button("story:cancel", message_id=message.id)
    assert await asyncio.wait_for(view.pressed, 5) == int(USER_ID)
    await fake.wait_for("POST", f"/interactions/{press.id}/")
    assert press.callback_type == 7
    assert fake.message(message.id)["content"] == "Cancelled"
    assert fake.message(message.id)["components"] == []


async def test_button_press_reaches_persistent_view(running: Running) -> None:
    pressed: asyncio.Queue[int] = asyncio.Queue()
    running.bot.add_view(AgainView(pressed))
    sent_view = AgainView(pressed)
    message = await running.channel.send("Another story?", view=sent_view)
    sent_view.stop()  # only the persistent (message-less) registration is left
    press = running.fake.press_button("story:again", message_id=message.id)
    assert await asyncio.wait_for(pressed.get(), 5) == message.id
    await running.fake.wait_for("POST", f"/interactions/{press.id}/")
    assert press.callback_type == 6
    assert press.original is not None
    assert press.original["content"] == "Another story?"


async def test_channel_message_send_edit_delete(running: Running) -> None:
    fake, bot = running.fake, running.bot
    async with running.channel.typing():
        message = await running.channel.send("Working on it", file=video(name="cover.png"))
    assert fake.calls_to("POST", f"/channels/{CHANNEL_ID}/typing")[0].status == 204
    sent = fake.calls_to("POST", f"/channels/{CHANNEL_ID}/messages")[0]
    assert sent.json["content"] == "Working on it"
    assert "nonce" in sent.json
    assert message.attachments[0].content_type == "image/png"

    # MESSAGE_UPDATE reaches the bot's cache over the gateway: wait for it, started before
    cache_updated = asyncio.ensure_future(
        bot.wait_for("message_edit", check=lambda _, after: after.id == message.id, timeout=10)
    )
    edited = await message.edit(content="Here it is")
    stored = fake.message(message.id)
    assert stored["content"] == "Here it is"
    assert stored["edited_timestamp"] is not None
    assert edited.edited_at is not None
    assert len(stored["attachments"]) == 1  # an edit without `attachments` keeps them
    _, cached = await cache_updated
    assert cached.content == "Here it is"
    in_cache = discord.utils.get(bot.cached_messages, id=message.id)
    assert in_cache is not None
    assert in_cache.content == "Here it is"

    await message.delete()
    assert str(message.id) not in fake.channel_messages
    with pytest.raises(discord.NotFound) as missing:
        await message.edit(content="gone")
    assert missing.value.code == 10008
    with pytest.raises(discord.HTTPException) as empty:
        await running.channel.send(embeds=[])
    assert empty.value.code == 50006


async def test_uploads_above_the_limit_are_413(running: Running) -> None:
    """Discord's limit is per file (20 MiB by default since 2026-09-03): a file one byte over
    it is refused; several files that each fit go together, up to 25 MiB per request."""
    assert DEFAULT_ATTACHMENT_SIZE_LIMIT == 20 * 1024 * 1024
    with pytest.raises(discord.HTTPException) as too_big:
        await running.channel.send(file=video(size=DEFAULT_ATTACHMENT_SIZE_LIMIT + 1))
    assert (too_big.value.status, too_big.value.code) == (413, 40005)
    mib = 1024 * 1024
    together = await running.channel.send(
        files=[video(12 * mib, "a.mp4"), video(12 * mib, "b.mp4")]
    )
    assert [a.size for a in together.attachments] == [12 * mib, 12 * mib]  # 24 MiB in all
    with pytest.raises(discord.HTTPException) as request_too_big:
        await running.channel.send(files=[video(9 * mib, f"{n}.mp4") for n in range(3)])
    assert (request_too_big.value.status, request_too_big.value.code) == (413, 40005)

    async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
        await interaction.response.defer(thinking=True)
        try:
            await interaction.edit_original_response(attachments=[video(size=1001)])
        except discord.HTTPException as exc:
            error = exc
        fits = await interaction.edit_original_response(attachments=[video(size=1000)])
        return interaction.filesize_limit, error, fits

    _, _, (limit, error, fits) = await running.run(script, attachment_size_limit=1000)
    assert limit == 1000
    assert (error.status, error.code) == (413, 40005)
    assert fits.attachments[0].size == 1000


async def test_several_files_in_one_message(running: Running) -> None:
    """Two files in one edit and in one followup: parts `files[0]` and `files[1]`, named in
    `payload_json` `attachments`; each is stored, downloadable and readable by the test."""
    other = bytes(range(255, -1, -1)) * 16

    async def script(interaction: discord.Interaction, kwargs: dict[str, Any]) -> Any:
        await interaction.response.defer(thinking=True)
        files = [video(name="video-1.mp4"), discord.File(io.BytesIO(other), "video-2.mp4")]
        edited = await interaction.edit_original_response(content="Two", attachments=files)
        files = [video(name="a.mp4"), discord.File(io.BytesIO(other), "b.mp4")]
        more = await interaction.followup.send("Two more", files=files, wait=True)
        return edited, more, [await a.read() for a in (*edited.attachments, *more.attachments)]

    pushed, _, (edited, more, downloaded) = await running.run(script)
    fake = running.fake
    (edit,) = fake.calls_to("PATCH", f"{pushed.token}/messages/@original")
    assert edit.json["attachments"] == [
        {"id": 0, "filename": "video-1.mp4"},
        {"id": 1, "filename": "video-2.mp4"},
    ]
    assert [(f.filename, f.data) for f in edit.files.values()] == [
        ("video-1.mp4", VIDEO), ("video-2.mp4", other),
    ]  # fmt: skip
    (followup,) = fake.calls_to("POST", f"/webhooks/{APPLICATION_ID}/{pushed.token}")
    assert sorted(followup.files) == ["files[0]", "files[1]"]
    assert pushed.original is not None
    stored = [*pushed.original["attachments"], *pushed.followups[0]["attachments"]]
    assert [a["filename"] for a in stored] == ["video-1.mp4", "video-2.mp4", "a.mp4", "b.mp4"]
    assert [a["content_type"] for a in stored] == ["video/mp4"] * 4
    assert [fake.attachment_data(a) for a in stored] == [VIDEO, other] * 2
    assert downloaded == [VIDEO, other] * 2
    assert [a.filename for a in more.attachments] == ["a.mp4", "b.mp4"]
    assert edited.id == int(pushed.original["id"])


async def test_attachment_option_is_resolved_and_downloadable(running: Running) -> None:
    """A file picked for an attachment option (type 11): the option carries its id,
    `data.resolved.attachments` the object; discord.py hands the command an `Attachment` whose
    signed URL serves the bytes from the fake; a tampered link is a 404."""
    bot, fake = running.bot, running.fake
    picture = io.BytesIO()
    PIL.Image.new("RGB", (64, 36), "orange").save(picture, "PNG")
    received: asyncio.Queue[tuple[discord.Attachment, bytes]] = asyncio.Queue()

    @bot.tree.command(name="picture", description="Start from a picture")
    async def picture_command(interaction: discord.Interaction, image: discord.Attachment) -> None:
        await interaction.response.defer(thinking=True)
        received.put_nowait((image, await image.read()))

    await bot.tree.sync()
    (registered,) = [c for c in fake.global_commands if c["name"] == "picture"]
    assert registered["options"][0]["type"] == 11
    attachment = fake.user_attachment(picture.getvalue(), "cat photo.png")
    pushed = fake.send_command("picture", {"image": attachment})
    image, data = await asyncio.wait_for(received.get(), 10)

    assert data == picture.getvalue() == fake.attachment_data(attachment)
    assert pushed.payload["data"]["options"] == [
        {"name": "image", "type": 11, "value": attachment["id"]}
    ]
    resolved = pushed.payload["data"]["resolved"]["attachments"][attachment["id"]]
    assert resolved == attachment
    assert (image.id, image.filename, image.size) == (
        int(attachment["id"]), "cat photo.png", len(data),
    )  # fmt: skip
    assert (image.content_type, image.width, image.height, image.ephemeral) == (
        "image/png", 64, 36, True,
    )  # fmt: skip
    url = yarl.URL(image.url)
    assert url.host == "127.0.0.1"
    assert url.path.startswith("/ephemeral-attachments/")
    assert url.path.endswith("/cat photo.png")
    assert {"ex", "is", "hm"} <= set(url.query)
    assert fake.downloads == [url.path]
    text = fake.user_attachment(b"just words", "notes.txt")
    assert text["content_type"] == "text/plain"
    assert "width" not in text
    async with aiohttp.ClientSession() as session:
        async with session.get(url.update_query(hm="0" * 64)) as tampered:
            assert tampered.status == 404
        async with session.get(url.with_query(None)) as unsigned:
            assert unsigned.status == 404
    assert len(fake.downloads) == 1


async def test_autocomplete_returns_choices(running: Running) -> None:
    await running.bot.tree.sync()
    fake = running.fake
    pushed = fake.send_autocomplete("story", {"theme": "cats", "voice": "b"}, focused="voice")
    call = await fake.wait_for("POST", f"/interactions/{pushed.id}/{pushed.token}/callback")
    assert call.status == 200
    assert call.json["type"] == 8
    assert call.json["data"]["choices"] == [
        {"name": "Bob", "value": "bob"},
        {"name": "Barbara", "value": "barbara"},
    ]
    assert pushed.choices == call.json["data"]["choices"]
    assert running.autocompleted == ["b"]
    focused = [o for o in pushed.payload["data"]["options"] if o.get("focused")]
    assert focused == [{"name": "voice", "value": "b", "type": 3, "focused": True}]


async def test_raw_gateway_sequence() -> None:
    """The Gateway state machine without discord.py: seq numbers, close codes, RESUME."""
    async with FakeDiscord() as fake, aiohttp.ClientSession() as session:
        url = f"{fake.gateway_url}?v=10&encoding=json&compress=zlib-stream"
        identify = {"token": fake.token, "intents": (1 << 9) | (1 << 8), "properties": {}}
        async with session.ws_connect(url) as ws:
            hello = await ws.receive_json()
            assert (hello["op"], hello["s"], hello["t"]) == (10, None, None)
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json())["op"] == 11
            await ws.send_json({"op": 2, "d": identify})
            ready, guild = await ws.receive_json(), await ws.receive_json()
            assert (ready["t"], ready["s"], guild["t"], guild["s"]) == (
                "READY", 1, "GUILD_CREATE", 2,
            )  # fmt: skip
            assert ready["d"]["resume_gateway_url"] == fake.gateway_url
            assert len(guild["d"]["members"]) == 3  # with GUILD_PRESENCES: everyone
            await fake.wait_ready(timeout=5)
            fake.send_command("story", {"theme": "x", "scenes": 2})
            event = await ws.receive_json()
            assert (event["t"], event["s"]) == ("INTERACTION_CREATE", 3)
            assert event["d"]["data"]["options"] == [
                {"name": "theme", "value": "x", "type": 3},
                {"name": "scenes", "value": 2, "type": 4},
            ]
            await ws.send_json({"op": 2, "d": identify})
            closed = await ws.receive()
            assert (closed.type, closed.data) == (aiohttp.WSMsgType.CLOSE, 4005)

        async with session.ws_connect(url) as ws:
            await ws.receive_json()
            await ws.send_json({"op": 3, "d": {}})  # a presence update before IDENTIFY
            closed = await ws.receive()
            assert closed.data == 4003

        resume = {"token": fake.token, "session_id": ready["d"]["session_id"], "seq": 3}
        async with session.ws_connect(url) as ws:
            await ws.receive_json()
            await ws.send_json({"op": 6, "d": resume})
            resumed = await ws.receive_json()
            assert (resumed["t"], resumed["s"]) == ("RESUMED", 4)
        async with session.ws_connect(url) as ws:
            await ws.receive_json()
            await ws.send_json({"op": 6, "d": resume | {"session_id": "nope"}})
            assert await ws.receive_json() == {"op": 9, "d": False, "s": None, "t": None}


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
