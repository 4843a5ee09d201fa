"""Storyboards on Telegram: the real python-telegram-bot Application against FakeTelegram, the
real google-genai against FakeGemini. `/story preview=on …` shows the scenes as an album with
their lines and one message of buttons; only the user who asked may press them; a redraw
replaces the album item in place; a reply `N: wish` redraws with that wish; ✏️ Edit takes the
reply to its prompt as the new line; after a restart the old Render button still makes the
video, narrated only now, with the edited line; a storyboard left waiting expires."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.telegram_storyboard_view import EXPIRED, NOT_YOURS, READY
from core.models import JobId, StoryVideo
from tests.gemini_server import FakeGemini
from tests.storyboard_calls import check_redraw, check_storyboard, drawn
from tests.telegram_bot import start_on_gemini
from tests.telegram_server import Call, FakeTelegram

if TYPE_CHECKING:
    from tests.conftest import WaitUntil

pytestmark = pytest.mark.slow

FAKE = FakeTelegram
KEY = "AIzaSy-telegram-storyboard-key-0123"
GROUP = -100777  # a group: someone else can see (and press) the buttons
OWNER, OTHER = 4242, 5151
NEW_LINE = "The moon hums a lullaby and the cat falls asleep."


def is_board(call: Call) -> bool:
    """The storyboard message: the one with the storyboard's buttons."""
    return "sb:r:" in call.params.get("reply_markup", "")


def buttons(fake: FakeTelegram, message_id: int) -> dict[str, str]:
    """The buttons of a message as it is now: text → callback data."""
    markup = fake.messages[(GROUP, message_id)].get("reply_markup") or {}
    rows = markup.get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def press(fake: FakeTelegram, message_id: int, label: str, user: int = OWNER) -> Call:
    """Press a button of the message; the bot's answer to the press."""
    query = fake.press_button(
        chat_id=GROUP, message_id=message_id, data=buttons(fake, message_id)[label], user_id=user
    )
    return await fake.wait_for(
        "answerCallbackQuery", lambda c: c.params["callback_query_id"] == query
    )


async def media_edit(fake: FakeTelegram, message_id: int) -> Call:
    """The next editMessageMedia of one album item."""
    return await fake.wait_for(
        "editMessageMedia", lambda c: int(c.params["message_id"]) == message_id, new=True
    )


async def test_a_storyboard_redrawn_edited_and_rendered_after_a_restart(
    fake: FakeTelegram,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    wait_until: WaitUntil,
) -> None:
    """The album of 3 pictures (each captioned with its line) replies to the request, the
    progress message says the storyboard is ready, the buttons follow; another user's press is
    refused with an alert and draws nothing; Redraw 2 and a reply `3: with a moon` each draw
    one picture again, replacing the album item in place; Edit 3 takes the reply to its
    force_reply prompt (a line too long gets ⚠️). Then a restart, and the old Render button:
    the video replies to the request, the narration happens only now, with the new line; an
    old Redraw button pressed meanwhile gets a short alert."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        asked = fake.send_command(
            "/story preview=on scenes=3 a cat and the moon", chat_id=GROUP, chat_type="group"
        )
        board_id = (await fake.wait_for("sendMessage", is_board, timeout=60)).result["message_id"]
        check_storyboard(gemini, 3)
        before = 3  # pictures drawn
        (album,) = fake.calls_to("sendMediaGroup")
        photos = [m["message_id"] for m in album.result]
        assert album.json("reply_parameters")["message_id"] == asked
        assert [i["type"] for i in album.json("media")] == ["photo"] * 3
        captions = [i["caption"] for i in album.json("media")]
        assert [c.split(". ", 1)[0] for c in captions] == ["1", "2", "3"]
        progress = fake.calls_to("sendMessage")[0].result["message_id"]
        await wait_until(lambda: fake.messages[(GROUP, progress)]["text"] == READY)
        assert "reply_markup" not in fake.messages[(GROUP, progress)]  # no Cancel any more
        assert list(buttons(fake, board_id)) == [
            "🎲 Redraw 1", "✏️ Edit 1", "🎲 Redraw 2", "✏️ Edit 2", "🎲 Redraw 3", "✏️ Edit 3",
            "▶️ Render", "✖ Cancel",
        ]  # fmt: skip

        refused = await press(fake, board_id, "🎲 Redraw 2", user=OTHER)
        assert refused.params["text"] == NOT_YOURS
        assert refused.params["show_alert"] == "true"

        await press(fake, board_id, "🎲 Redraw 2")
        await media_edit(fake, photos[1])
        check_redraw(gemini, before, 2)  # the other user's press drew nothing either
        await wait_until(lambda: "🎲 Redraw 2 (2 left)" in buttons(fake, board_id))

        fake.send_text("3: with a moon", chat_id=GROUP, chat_type="group", reply_to=board_id)
        edited = await media_edit(fake, photos[2])
        check_redraw(gemini, before + 1, 3, "with a moon")
        assert edited.json("media")["caption"] == captions[2]  # the line stays with it
        await wait_until(lambda: "🎲 Redraw 3 (2 left)" in buttons(fake, board_id))

        await press(fake, board_id, "✏️ Edit 3")
        asking = await fake.wait_for("sendMessage", lambda c: "force_reply" in str(c.params))
        prompt = asking.result["message_id"]
        fake.send_text("x" * 401, chat_id=GROUP, chat_type="group", reply_to=prompt)
        too_long = await fake.wait_for("sendMessage", lambda c: c.params["text"].startswith("⚠️"))
        assert "401 characters" in too_long.params["text"]
        fake.send_text(NEW_LINE, chat_id=GROUP, chat_type="group", reply_to=prompt)
        caption = await fake.wait_for("editMessageCaption")
        assert int(caption.params["message_id"]) == photos[2]
        assert caption.params["caption"] == f"3. {NEW_LINE}"
        await fake.wait_for("sendMessage", lambda c: c.params["text"].startswith("✅ Scene 3"))
    assert gemini.calls("tts") == []
    assert len(fake.calls_to("sendMediaGroup")) == 1  # nothing sent twice

    async with AsyncExitStack() as stack:
        bot = await start_on_gemini(stack, fake, gemini, monkeypatch)
        old = buttons(fake, board_id)
        await press(fake, board_id, "▶️ Render")
        late = fake.press_button(chat_id=GROUP, message_id=board_id, data=old["🎲 Redraw 1"])
        refused = await fake.wait_for(
            "answerCallbackQuery", lambda c: c.params["callback_query_id"] == late
        )
        video = await fake.wait_for("sendVideo", timeout=90)
        ended = await fake.wait_for("editMessageText", lambda c: c.params["text"][0] in "✅❌")
        job = await bot.service.get(JobId(old["▶️ Render"].split(":")[2]))
        result = job.result
        assert isinstance(result, StoryVideo)
        assert result.subtitles is not None
        subtitles = (await bot.service.file(job, result.subtitles)).read_text()
    assert video.json("reply_parameters")["message_id"] == asked
    assert refused.params["text"].startswith("⚠️ the storyboard is being drawn or the video made")
    assert refused.params["show_alert"] == "true"
    assert NEW_LINE in subtitles
    assert len(gemini.calls("tts")) >= 1
    assert len(drawn(gemini)) == before + 2  # nothing drawn again for the video
    assert buttons(fake, board_id) == {}  # the storyboard is done with
    (following,) = [c for c in fake.calls_to("sendMessage") if c.params["text"].startswith("▶️")]
    assert int(ended.params["message_id"]) == following.result["message_id"]
    assert ended.params["text"].startswith("✅"), ended.params["text"]


async def test_a_storyboard_left_waiting_expires(
    fake: FakeTelegram,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    wait_until: WaitUntil,
    clean_env: Path,
) -> None:
    """Past STORYBOT_PREVIEW_TTL_H the storyboard message says it expired and was cancelled,
    without buttons; with STORYBOT_PREVIEW_DEFAULT a plain `/story` shows a storyboard (one
    scene: a photo, not an album), and /help tells of preview=on."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(
            stack, fake, gemini, monkeypatch,
            STORYBOT_PREVIEW_TTL_H="0.0003", STORYBOT_PREVIEW_DEFAULT="true",
        )  # fmt: skip
        asked = fake.send_command("/story scenes=1 a fox", chat_id=GROUP, chat_type="group")
        board_id = (await fake.wait_for("sendMessage", is_board, timeout=60)).result["message_id"]
        (photo,) = fake.calls_to("sendPhoto")  # one scene: one photo, no album
        assert photo.params["caption"].startswith("1. ")
        assert photo.json("reply_parameters")["message_id"] == asked

        def expired() -> dict[str, Any] | None:
            message = fake.messages[(GROUP, board_id)]
            return message if message["text"] == EXPIRED else None

        message = await wait_until(expired, timeout=30, what="the storyboard to expire")
        fake.send_command("/help", chat_id=GROUP, chat_type="group")
        helped = await fake.wait_for("sendMessage", lambda c: "preview" in c.params["text"])
    assert "reply_markup" not in message
    assert "/story preview=on" in helped.params["text"]
    assert gemini.calls("tts") == []
    assert fake.calls_to("sendMediaGroup") == []
