"""Your own hero and sequels on Telegram: the real python-telegram-bot Application against
FakeTelegram, the real google-genai against FakeGemini (Developer API). A photo sent with
`/story` (or replied to) reaches the vision and character-sheet calls only, the sheet is every
scene's reference, the writer hears of the hero, and nothing of the photo stays or is logged;
`/sequel` goes on with the same cast, look and voice, after a restart too."""

from __future__ import annotations

import io
import logging
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from PIL import Image

from core.models import Style
from tests.gemini_server import CHARACTERS, FakeGemini
from tests.hero_calls import (
    check_hero_story,
    kept_casts,
    scene_calls,
    vision_calls,
    writer_calls,
)
from tests.pictures import hero_photo, plain_picture, same_picture
from tests.telegram_bot import start_on_gemini
from tests.telegram_server import Call, FakeTelegram

pytestmark = pytest.mark.slow

FAKE = FakeTelegram
KEY = "AIzaSy-telegram-hero-test-key-0123"
CHAT = 4242


async def finished(fake: FakeTelegram, count: int = 1) -> list[Call]:
    """The ✅/❌ last words of the first `count` jobs' progress messages."""

    def endings() -> list[Call]:
        return [
            c for c in fake.calls_to("editMessageText")
            if c.params["text"].startswith(("✅", "❌"))
        ]  # fmt: skip

    while len(endings()) < count:
        await fake.wait_for("editMessageText", new=True, timeout=60)
    return endings()


async def test_a_photo_captioned_story_makes_its_subject_the_hero(
    fake: FakeTelegram,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    clean_env: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A photo captioned `/story …`: its largest size is fetched once, looked at by the vision
    call and drawn as a character sheet (both carry it), the sheet is the reference of every
    scene, scene 1 included, and the writer is told of the hero; the video arrives. Afterwards
    no picture under the data folder is the photo, and the log holds no part of it."""
    caplog.set_level(logging.DEBUG)
    photo = hero_photo()
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        asked = fake.send_photo(photo, caption="/story scenes=2 a day at the seaside")
        (summary,) = await finished(fake)
        sent = await fake.wait_for("sendVideo")
    assert summary.params["text"].startswith("✅"), summary.params["text"]
    (first,) = fake.calls_to("sendMessage")
    assert first.params["text"] == "✍️ Got it — looking at your hero, then writing your story…"
    assert sent.json("reply_parameters")["message_id"] == asked
    largest = fake.messages[(CHAT, asked)]["photo"][-1]["file_id"]
    assert [c.params["file_id"] for c in fake.calls_to("getFile")] == [largest]
    assert "described and drawn" in caplog.text  # the log was captured
    reference = check_hero_story(gemini, photo, 2, clean_env, caplog.text)
    assert "a day at the seaside" in writer_calls(gemini)[0].text
    assert kept_casts(clean_env) == [reference]  # what a sequel starts from


async def test_a_reply_to_a_photo_and_a_picture_sent_as_a_file(
    fake: FakeTelegram, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/story …` replying to a photo makes that photo the hero; so does a PNG sent as a file
    captioned `/story@bot` without a theme (a story of its own); a caption for another bot
    starts nothing."""
    photo, drawing = hero_photo(), hero_photo((400, 400))
    async with AsyncExitStack() as stack:
        await start_on_gemini(
            stack, fake, gemini, monkeypatch, STORYBOT_USER_JOBS_IN_FLIGHT="3", STORYBOT_SCENES="1"
        )
        photo_id = fake.send_photo(photo)
        fake.send_command("/story scenes=1 Pip finds a shell", reply_to=photo_id)
        png = io.BytesIO()
        Image.open(io.BytesIO(drawing)).save(png, "PNG")
        fake.send_document(png.getvalue(), filename="toy.png", caption="/story@story_test_bot")
        fake.send_document(png.getvalue(), filename="toy.png", caption="/story@other_bot x")
        await finished(fake, count=2)
    themes = {r.text.split("about: ")[1].splitlines()[0]: r for r in vision_calls(gemini)}
    assert set(themes) == {"Pip finds a shell", "a happy adventure"}
    assert same_picture(themes["Pip finds a shell"].inline_images[0], photo)
    assert same_picture(themes["a happy adventure"].inline_images[0], drawing)
    assert len(fake.calls_to("sendVideo")) == 2
    assert len(fake.calls_to("getFile")) == 2


async def test_a_sequel_goes_on_with_the_same_look_and_voice(
    fake: FakeTelegram, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a story, `/sequel the dragon comes back` writes part 2 of it (its title and story
    told to the writer), drawn with the first story's reference picture, style and aspect, and
    narrated by its voice, although the user's defaults differ."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        fake.send_command("/story scenes=2 style=watercolor aspect=9:16 voice=Kore a dragon")
        await finished(fake)
        first_title = fake.calls_to("sendVideo")[0].params["caption"]
        before = len(gemini.requests)
        fake.send_command("/sequel scenes=1 the dragon comes back")
        last = (await finished(fake, count=2))[-1]
    assert last.params["text"].startswith("✅"), last.params["text"]
    started = fake.calls_to("sendMessage")[-1].params["text"]
    assert started == f"✍️ Got it — writing part 2 of “{first_title}”…"
    later = gemini.requests[before:]
    (writer,) = [r for r in later if r.kind == "story"]
    assert f'continues "{first_title}"' in writer.text
    assert "part 2" in writer.text
    assert "the dragon comes back" in writer.text
    first_reference = scene_calls(gemini.requests)[1].inline_images[0]  # scene 1, as drawn
    (scene,) = [r for r in later if r.kind == "image"]
    assert same_picture(scene.inline_images[0], first_reference)
    assert scene.text.startswith(Style.WATERCOLOR.prompt)
    assert scene.aspect_ratio == "9:16"
    assert {r.voice for r in later if r.kind == "tts"} == {"Kore"}
    assert fake.calls_to("sendVideo")[-1].params["caption"] == f"{first_title} — Part 2"


async def test_a_sequel_after_a_restart_keeps_the_hero(
    fake: FakeTelegram, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A story with a hero, then the bot restarts on the same data folder: a bare `/sequel`
    ("what happens next") is drawn with the hero's character sheet; the photo is not needed
    again, and nobody looks at it again."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        fake.send_photo(hero_photo(), caption="/story scenes=1 Pip at the fair")
        await finished(fake)
    sheet = scene_calls(gemini.requests)[0].inline_images[0]
    before = len(gemini.requests)
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch, STORYBOT_SCENES="1")
        fake.send_command("/sequel")
        last = (await finished(fake, count=2))[-1]
    assert last.params["text"].startswith("✅"), last.params["text"]
    later = gemini.requests[before:]
    (writer,) = [r for r in later if r.kind == "story"]  # no vision call this time
    assert "what happens next" in writer.text
    assert "part 2" in writer.text
    assert CHARACTERS in writer.text  # the characters, carried over
    (scene,) = [r for r in later if r.kind == "image"]
    assert scene.inline_images[0] == sheet
    assert len(fake.calls_to("getFile")) == 1


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("/sequel", "⚠️ there is no earlier story of yours here to continue"),
        ("/sequel style=anime more", "⚠️ a sequel keeps the style of the story it continues"),
    ],
    ids=["no-earlier-story", "an-option-it-keeps"],
)
async def test_a_sequel_without_an_earlier_story_is_refused(
    fake: FakeTelegram,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    says: str,
) -> None:
    """`/sequel` with no story of the user's in this chat, or with an option a sequel keeps,
    gets one line saying so (and how to start); nothing is asked of Gemini."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        fake.send_command(command)
        answer = await fake.wait_for("sendMessage")
    text = answer.params["text"]
    assert text.startswith(says), text
    assert "\n" not in text
    assert "/story" in text or "scenes=" in text
    assert [r for r in gemini.requests if r.kind != "list"] == []


@pytest.mark.parametrize(
    ("data", "name", "mime", "says"),
    [
        (b"milk, eggs", "notes.txt", "text/plain", "⚠️ “notes.txt” is not a picture"),
        (bytes(21_000_000), "huge.png", "image/png", "⚠️ that picture is 21 MB; I can fetch"),
        (
            plain_picture("GIF"),
            "dance.gif",
            "image/gif",
            "⚠️ that picture moves; send a still photo",
        ),
        (plain_picture("PNG", (1, 1)), None, None, "⚠️ that picture is only 1×1 pixels"),
    ],
    ids=["not-a-picture", "too-big", "animated-gif", "one-pixel-photo"],
)
async def test_a_bad_hero_picture_gets_one_line(
    fake: FakeTelegram,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    data: bytes,
    name: str | None,
    mime: str | None,
    says: str,
) -> None:
    """A file that is no picture and a picture over the download limit are refused before
    any download; an animated GIF and a 1×1 photo after it; one line each, no job, nothing
    asked of Gemini."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        caption = "/story a day at the seaside"
        if name is None:
            fake.send_photo(data, caption=caption)
        else:
            fake.send_document(data, filename=name, mime_type=mime, caption=caption)
        answer = await fake.wait_for("sendMessage")
    text = answer.params["text"]
    assert text.startswith(says), text
    assert "\n" not in text
    assert "Traceback" not in text
    fetched = len(fake.calls_to("getFile"))
    assert fetched == (1 if name in ("dance.gif", None) else 0)
    assert [r for r in gemini.requests if r.kind != "list"] == []
    assert fake.calls_to("editMessageText") == []


async def test_the_limits_are_checked_before_the_photo_is_fetched(
    fake: FakeTelegram, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user the bot may not serve sends a photo with `/story`: refused in one line, and the
    photo is never downloaded."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch, STORYBOT_ALLOWED_IDS="1")
        fake.send_photo(hero_photo(), caption="/story a day at the seaside")
        answer = await fake.wait_for("sendMessage")
    assert answer.params["text"].startswith("⚠️ This bot is private"), answer.params["text"]
    assert fake.calls_to("getFile") == []


async def test_help_and_the_command_list_mention_heroes_and_sequels(
    fake: FakeTelegram, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/help says how a photo becomes the hero and what /sequel does; the command menu lists
    /sequel."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        fake.send_command("/help")
        answer = await fake.wait_for("sendMessage")
    text = answer.params["text"]
    assert "with the caption /story THEME" in text
    assert "/sequel the dragon comes back" in text
    commands = fake.calls_to("setMyCommands")[0].json("commands")
    assert "sequel" in [c["command"] for c in commands]
