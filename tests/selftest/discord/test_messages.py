"""The fake Discord's components, channel messages, uploads, attachments and autocomplete, as
discord.py 2.7 uses them."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
import discord
import PIL.Image
import pytest
import yarl

from tests.discord_server import APPLICATION_ID, CHANNEL_ID, USER_ID, FakeDiscord
from tests.discord_wire import DEFAULT_ATTACHMENT_SIZE_LIMIT
from tests.selftest.discord.helpers import VIDEO, Running, video

pytestmark = pytest.mark.timeout(30)


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
