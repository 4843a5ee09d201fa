"""Your own hero and sequels on Discord: the real discord.py client against FakeDiscord, the
real google-genai against FakeGemini (Developer API). The `hero` attachment of /story reaches
the vision and character-sheet calls only, fetched within the acknowledgement deadline; the
sheet is every scene's reference, the writer hears of the hero, and nothing of the photo stays
or is logged; /sequel goes on with the same cast, look and voice, after a restart too."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from core.models import Style
from tests.discord_bot import keep_endpoints, start_on_gemini
from tests.discord_server import Call, FakeDiscord, Interaction
from tests.gemini_server import CHARACTERS, FakeGemini
from tests.hero_calls import check_hero_story, scene_calls
from tests.pictures import hero_photo, plain_picture, same_picture

pytestmark = pytest.mark.slow

FAKE = FakeDiscord
KEY = "AIzaSy-discord-hero-test-key-01234"


@pytest.fixture(autouse=True)
def restore_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    keep_endpoints(monkeypatch)


async def delivered(fake: FakeDiscord, interaction: Interaction) -> Call:
    """The edit of the response that ends the job (the video, or an ❌)."""
    return await fake.wait_for(
        "PATCH", f"{interaction.token}/messages/@original",
        lambda c: bool(c.files) or (c.get("content") or "").startswith("❌"), timeout=60,
    )  # fmt: skip


async def refusal(fake: FakeDiscord, interaction: Interaction) -> str:
    """The ephemeral answer to a refused command: its one line."""
    answer = await fake.wait_for("POST", f"{interaction.id}/{interaction.token}/callback")
    assert answer.json["type"] == 4
    assert answer.json["data"]["flags"] & 64  # to the user alone
    text = str(answer.json["data"]["content"])
    assert "\n" not in text
    assert "Traceback" not in text
    return text


async def test_a_hero_attachment_makes_its_subject_the_hero(
    fake: FakeDiscord,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    clean_env: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """/story with a `hero` photo that takes 2 s to fetch: deferred within Discord's 3 s, the
    photo fetched once, looked at by the vision call and drawn as a character sheet (both
    carry it), the sheet the reference of every scene, the writer told of the hero; the video
    arrives. Afterwards no picture under the data folder is the photo, and the log holds no
    part of it."""
    caplog.set_level(logging.DEBUG)
    fake.download_latency_s = 2.0
    photo = hero_photo()
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        hero = fake.user_attachment(photo, "pip.jpg")
        options = {"theme": "a day at the seaside", "hero": hero, "scenes": 2}
        interaction = fake.send_command("story", options)
        final = await delivered(fake, interaction)
    assert final.json["content"].startswith("✅"), final.json["content"]
    assert interaction.callback_type == 5
    assert interaction.acked_at is not None
    assert interaction.acked_at - interaction.created < 3.0
    assert len(fake.downloads) == 1
    assert "described and drawn" in caplog.text  # the log was captured
    check_hero_story(gemini, photo, 2, clean_env, caplog.text)


async def test_a_sequel_goes_on_with_the_same_look_and_voice(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a story, /sequel with `next:the dragon comes back` writes part 2 of it (its title
    and story told to the writer), drawn with the first story's reference picture, style and
    aspect, and narrated by its voice."""
    first: dict[str, Any] = {"theme": "a dragon", "scenes": 2, "style": "watercolor",
                             "aspect": "9:16", "voice": "Kore"}  # fmt: skip
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        story = await delivered(fake, fake.send_command("story", first))
        before = len(gemini.requests)
        interaction = fake.send_command("sequel", {"next": "the dragon comes back", "scenes": 1})
        final = await delivered(fake, interaction)
    assert final.json["content"].startswith("✅"), final.json["content"]
    title = "Whiskers and Buster's Big Day"
    assert title in story.json["content"]
    assert f"{title} — Part 2" in final.json["content"]
    later = gemini.requests[before:]
    (writer,) = [r for r in later if r.kind == "story"]
    assert f'continues "{title}"' in writer.text
    assert "part 2" in writer.text
    assert "the dragon comes back" in writer.text
    first_reference = scene_calls(gemini.requests)[1].inline_images[0]  # scene 1, as drawn
    (scene,) = scene_calls(later)
    assert same_picture(scene.inline_images[0], first_reference)
    assert scene.text.startswith(Style.WATERCOLOR.prompt)
    assert scene.aspect_ratio == "9:16"
    assert {r.voice for r in later if r.kind == "tts"} == {"Kore"}


async def test_a_sequel_after_a_restart_keeps_the_hero(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A story with a hero, then the bot restarts on the same data folder: a bare /sequel
    ("what happens next") is drawn with the hero's character sheet, and the photo is neither
    fetched nor looked at again."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        hero = fake.user_attachment(hero_photo(), "pip.jpg")
        options = {"theme": "Pip at the fair", "hero": hero, "scenes": 1}
        await delivered(fake, fake.send_command("story", options))
    sheet = scene_calls(gemini.requests)[0].inline_images[0]
    before = len(gemini.requests)
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch, STORYBOT_SCENES="1")
        final = await delivered(fake, fake.send_command("sequel"))
    assert final.json["content"].startswith("✅"), final.json["content"]
    later = gemini.requests[before:]
    (writer,) = [r for r in later if r.kind == "story"]  # no vision call this time
    assert "what happens next" in writer.text
    assert "part 2" in writer.text
    assert CHARACTERS in writer.text  # the characters, carried over
    (scene,) = scene_calls(later)
    assert scene.inline_images[0] == sheet
    assert len(fake.downloads) == 1


async def test_a_sequel_without_an_earlier_story_is_refused(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/sequel with no story of the user's in this channel gets the service's one line, to the
    user alone, saying to start one with /story; nothing is asked of Gemini."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        text = await refusal(fake, fake.send_command("sequel", {"next": "more"}))
    assert text.startswith("⚠️ there is no earlier story of yours here to continue"), text
    assert "start one with /story" in text
    assert [r for r in gemini.requests if r.kind != "list"] == []


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "says"),
    [
        (b"milk, eggs", "notes.txt", None, "⚠️ “notes.txt” is not a picture; send a PNG or JPEG"),
        (bytes(21 * 2**20), "huge.png", "image/png", "⚠️ “huge.png” is 21 MB; send a picture"),
        (plain_picture("GIF"), "dance.gif", None, "⚠️ that picture moves; send a still photo"),
        (plain_picture("PNG", (1, 1)), "dot.png", None, "⚠️ that picture is only 1×1 pixels"),
    ],
    ids=["not-a-picture", "too-big", "animated-gif", "one-pixel"],
)
async def test_a_bad_hero_picture_gets_one_line(
    fake: FakeDiscord,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    data: bytes,
    filename: str,
    content_type: str | None,
    says: str,
) -> None:
    """A file that is no picture and a picture over the size limit are refused before any
    download; an animated GIF and a 1×1 picture after it; one ephemeral line each, no job,
    nothing asked of Gemini."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        hero = fake.user_attachment(data, filename, content_type=content_type)
        text = await refusal(fake, fake.send_command("story", {"theme": "a cat", "hero": hero}))
    assert text.startswith(says), text
    assert len(fake.downloads) == (1 if filename in ("dance.gif", "dot.png") else 0)
    assert [r for r in gemini.requests if r.kind != "list"] == []


async def test_the_limits_are_checked_before_the_photo_is_fetched(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user the bot may not serve picks a hero photo: refused in one line, and the photo is
    never downloaded."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch, STORYBOT_ALLOWED_IDS="1")
        hero = fake.user_attachment(hero_photo(), "pip.jpg")
        text = await refusal(fake, fake.send_command("story", {"theme": "a cat", "hero": hero}))
    assert text.startswith("⚠️ This bot is private"), text
    assert fake.downloads == []


async def test_help_and_the_commands_offer_heroes_and_sequels(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/story has an optional `hero` attachment, /sequel its `next` text and the story options
    a sequel may change; /help says how both work, within Discord's 2000 characters."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        interaction = fake.send_command("help")
        answer = await fake.wait_for("POST", f"{interaction.id}/{interaction.token}/callback")
    content = answer.json["data"]["content"]
    assert "hero:(a photo" in content
    assert "/sequel next:the dragon comes back" in content
    assert len(content) <= 2000
    by_name = {c["name"]: c for c in fake.commands}
    story = {o["name"]: (o["type"], o.get("required", False)) for o in by_name["story"]["options"]}
    assert story["hero"] == (11, False)
    sequel = {o["name"]: o["type"] for o in by_name["sequel"]["options"]}
    assert sequel == {"next": 3, "scenes": 4, "captions": 5, "animate": 5}
