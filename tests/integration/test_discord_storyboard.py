"""Storyboards on Discord: the real discord.py client against FakeDiscord, the real google-genai
against FakeGemini. `/story preview:True` stops at a storyboard message (the scene pictures,
their lines and buttons); only the user who asked may press; Redraw replaces one picture in
place, Edit opens a modal whose line replaces the scene's; the buttons work after a restart,
and Render then narrates the edited lines and delivers the video; a storyboard left waiting
expires and says so."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import pytest

from bot import discord_uploads as uploads
from bot.discord_storyboard_layout import Press, buttons, content, custom_id, parse, plan
from core.models import JobId, JobStatus, StoryVideo
from core.storyboard import BoardScene, Storyboard
from tests.discord_bot import keep_endpoints, start_on_gemini
from tests.discord_server import CHANNEL_ID, OTHER_USER_ID, Call, FakeDiscord, Interaction
from tests.discord_wire import check_components
from tests.gemini_server import FakeGemini
from tests.storyboard_calls import check_redraw, check_storyboard, drawn

pytestmark = pytest.mark.slow

FAKE = FakeDiscord
KEY = "AIzaSy-discord-storyboard-key-0123"
NEW_LINE = "The cat and the dog wave goodnight to the big round moon."


@pytest.fixture(autouse=True)
def restore_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    keep_endpoints(monkeypatch)


async def storyboard(fake: FakeDiscord, scenes: int) -> dict[str, Any]:
    """The channel message the storyboard was posted in (all its pictures in one)."""
    call = await fake.wait_for(
        "POST", f"/channels/{CHANNEL_ID}/messages", lambda c: len(c.files) == scenes
    )
    return fake.message(call.response["id"])


def labelled(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The message's buttons by label."""
    return {b["label"]: b for row in message["components"] for b in row["components"]}


async def answer(fake: FakeDiscord, press: Interaction) -> Call:
    """The initial response to an interaction."""
    return await fake.wait_for("POST", f"/interactions/{press.id}/{press.token}/callback")


async def ephemeral(fake: FakeDiscord, press: Interaction) -> str:
    """A one-line answer to the presser alone: the immediate reply, or the thinking one edited."""
    first = await answer(fake, press)
    assert first.json["data"]["flags"] & 64, first.json
    if first.json["type"] == 4:
        text = str(first.json["data"]["content"])
    else:
        edit = await fake.wait_for("PATCH", f"{press.token}/messages/@original")
        text = str(edit.json["content"])
    assert "\n" not in text
    assert "Traceback" not in text
    return text


async def test_preview_redraw_edit_restart_render(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One story call and 3 pictures, no narration: the progress message says the storyboard
    is ready (no Cancel button) and one message holds the 3 pictures, the lines and the
    buttons. Bob's Redraw is refused to him alone and draws nothing; Alice's Redraw 2 draws
    scene 2 once more with its reference, and the message swaps that picture (the others kept
    by id). Edit 3 opens a modal with the line: an unfit line is refused, a good one replaces
    it in the message. After a restart, Render on the old message narrates now and delivers the
    video, whose subtitles carry the edited line."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch)
        command = fake.send_command("story", {"theme": "a cat and a dog", "scenes": 3,
                                              "preview": True})  # fmt: skip
        message = await storyboard(fake, 3)
        check_storyboard(gemini, 3)
        assert command.original is not None
        assert command.original["content"].startswith("🖼️ Your storyboard is ready below")
        assert command.original["components"] == []  # no Cancel button any more
        assert [a["filename"] for a in message["attachments"]] == [
            "scene-01.jpg", "scene-02.jpg", "scene-03.jpg"
        ]  # fmt: skip
        assert [line[:6] for line in message["content"].splitlines()[1:4]] == [
            "**1.**", "**2.**", "**3.**"
        ]  # fmt: skip
        labels = labelled(message)
        assert set(labels) == {"🎲 Redraw 1 (3 left)", "🎲 Redraw 2 (3 left)",
                               "🎲 Redraw 3 (3 left)", "✏️ Edit 1", "✏️ Edit 2", "✏️ Edit 3",
                               "▶️ Render", "✖ Cancel"}  # fmt: skip
        job_id = labels["▶️ Render"]["custom_id"].split(":")[2]
        redraw_2, edit_3 = f"sb:r:{job_id}:2", f"sb:e:{job_id}:3"

        before = len(drawn(gemini))
        bob = fake.press_button(redraw_2, message_id=message["id"], user_id=OTHER_USER_ID)
        assert (await ephemeral(fake, bob)).startswith("Only the person who asked")
        pictures = {a["filename"]: a["id"] for a in message["attachments"]}
        alice = fake.press_button(redraw_2, message_id=message["id"])
        assert (await ephemeral(fake, alice)).startswith("🎲 Drawing scene 2 again")
        await fake.wait_for("PATCH", f"/messages/{message['id']}", lambda c: bool(c.files))
        check_redraw(gemini, before, 2)
        after = {a["filename"]: a["id"] for a in message["attachments"]}
        assert list(after) == ["scene-01.jpg", "scene-02.jpg", "scene-03.jpg"]
        assert after["scene-02.jpg"] != pictures["scene-02.jpg"]
        assert (after["scene-01.jpg"], after["scene-03.jpg"]) == (
            pictures["scene-01.jpg"], pictures["scene-03.jpg"]
        )  # fmt: skip
        assert "🎲 Redraw 2 (2 left)" in labelled(message)

        opened = fake.press_button(edit_3, message_id=message["id"])
        assert (await answer(fake, opened)).json["type"] == 9
        assert opened.modal is not None
        (field,) = [c["component"] for c in opened.modal["components"]]
        assert field["value"] in message["content"]  # the current line, to change
        unfit = fake.submit_modal(opened, {"line": "a gun"})
        assert (await ephemeral(fake, unfit)).startswith("⚠️")
        again = fake.press_button(edit_3, message_id=message["id"])
        await answer(fake, again)
        fake.submit_modal(again, {"line": NEW_LINE})
        await fake.wait_for("PATCH", f"/messages/{message['id']}",
                            lambda c: NEW_LINE in (c.get("content") or ""))  # fmt: skip
        assert f"**3.** {NEW_LINE}" in message["content"]
    assert gemini.calls("tts") == []

    async with AsyncExitStack() as stack:  # a restart while the storyboard waits
        bot = await start_on_gemini(stack, fake, gemini, monkeypatch)
        render = fake.press_button(f"sb:go:{job_id}", message_id=message["id"])
        assert (await answer(fake, render)).json["type"] == 4
        final = await fake.wait_for(
            "PATCH", f"{render.token}/messages/@original", lambda c: bool(c.files), timeout=60
        )
        job = await bot.service.get(JobId(job_id))
        assert job.status is JobStatus.COMPLETED
        assert isinstance(job.result, StoryVideo)
        assert job.result.subtitles is not None
        subtitles = (await bot.service.file(job, job.result.subtitles)).read_text()
    assert final.json["content"].startswith("✅"), final.json["content"]
    assert NEW_LINE in subtitles
    assert "▶️ Rendering" in message["content"]
    assert message["components"] == []
    assert gemini.calls("tts") != []
    assert len(drawn(gemini)) == before + 1  # nothing drawn again


async def test_a_storyboard_left_waiting_expires(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past STORYBOT_PREVIEW_TTL_H the storyboard message says it expired, its buttons gone."""
    async with AsyncExitStack() as stack:
        await start_on_gemini(stack, fake, gemini, monkeypatch, STORYBOT_PREVIEW_TTL_H="0.0003")
        fake.send_command("story", {"theme": "a fox", "scenes": 2, "preview": True})
        message = await storyboard(fake, 2)
        assert message["components"] != []
        await fake.wait_for("PATCH", f"/messages/{message['id']}",
                            lambda c: "expired" in (c.get("content") or ""))  # fmt: skip
    assert "⌛ This storyboard waited too long and expired" in message["content"]
    assert message["components"] == []
    assert gemini.calls("tts") == []


def board_of(lines: list[str]) -> Storyboard:
    scenes = tuple(
        BoardScene(index=n, narration=line, image_prompt=f"picture {n}", redraws_left=n % 2)
        for n, line in enumerate(lines, start=1)
    )
    return Storyboard(scenes=scenes)


def test_the_layout_keeps_within_discords_limits() -> None:
    """Ten scenes of 400-character lines, or of pictures too big for one message, are split
    into messages of at most 10 files, the request size and 2000 characters; lines edited
    longer still fit their message; the buttons of ten scenes fit 5 rows of 5, and their
    custom_ids name the job and the action within 100 characters."""
    budget = uploads.budget(int(10 * 2**20 * uploads.MARGIN))
    long_lines = board_of([f"{n} " + "la " * 132 for n in range(1, 11)])
    for board, size in ((long_lines, 1_500_000), (board_of(["A cat naps."] * 10), 3_000_000)):
        counts = plan(board, 1, [size] * 10, budget)
        assert sum(counts) == 10
        assert len(counts) > 1
        first = 1
        for number, count in enumerate(counts, start=1):
            scenes = range(first, first + count)
            assert count <= 10
            assert count * size <= budget
            assert len(content(board, scenes, last=number == len(counts))) <= 2000
            first += count
    (one,) = plan(board_of(["A cat naps."] * 10), 1, [1_500_000] * 10, budget)
    text = content(long_lines, range(1, one + 1), last=True, footer="⌛ " + "z" * 150)
    assert len(text) <= 2000
    assert "**10.** 10 la" in text
    view = buttons("f" * 32, long_lines)
    rows = view.to_components()
    check_components(rows, 0)  # raises as Discord would refuse them
    assert len(rows) == 5
    assert parse(custom_id("e", "f" * 32, 10)) == Press("e", JobId("f" * 32), 10)
    assert parse(custom_id("go", "abc")) == Press("go", JobId("abc"))
    for other in ("cancel:abc", "sb:r:abc", "sb:go:abc:1", "sb:e:abc:x", "sb:zz:abc"):
        assert parse(other) is None
