"""The fake Discord's deadlines and errors (rate limits, expired tokens, late responses) reach
discord.py 2.7 as the real service's would."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import pytest

from tests.discord_server import CHANNEL_ID
from tests.selftest.discord.helpers import VIDEO, Running, error_of, running_bot, video

pytestmark = pytest.mark.timeout(30)


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
