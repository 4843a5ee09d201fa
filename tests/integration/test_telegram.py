"""The Telegram front end: the real python-telegram-bot Application against a loopback Bot API."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.config import Settings
from core.models import JobStatus
from core.providers import Providers
from core.providers.offline import OfflineNarrator, OfflineStoryWriter
from core.store import JobStore
from tests.fakes import SlowIllustrator
from tests.probe import probe
from tests.telegram_bot import edits_of, start_adapter, telegram_settings
from tests.telegram_server import Call, FakeTelegram

if TYPE_CHECKING:
    from tests.conftest import WaitUntil

pytestmark = pytest.mark.slow


FAKE = FakeTelegram


async def start_bot(
    stack: AsyncExitStack, settings: Settings, delay: float = 0.0
) -> tuple[JobStore, SlowIllustrator]:
    """The Telegram adapter over the offline providers, pictures taking `delay` s each; jobs
    left unfinished by an earlier start resume."""
    illustrator = SlowIllustrator(delay)
    providers = Providers(OfflineStoryWriter(), illustrator, OfflineNarrator())
    bot = await start_adapter(stack, settings, providers, resume=True)
    return bot.store, illustrator


def is_summary(call: Call) -> bool:
    """The progress message's last edit, made once the video is delivered."""
    return call.status == 200 and call.params["text"].startswith("✅")


async def test_story_end_to_end(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`/story a cat and a dog` → one progress message edited in place → an inline MP4."""
    settings = telegram_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        await start_bot(stack, settings, delay=1.5)
        await fake.wait_for("setMyCommands")
        asked = fake.send_command("/story scenes=3 a cat and a dog")
        sent = await fake.wait_for("sendVideo", timeout=120)
        await fake.wait_for("editMessageText", is_summary)  # it waits for its 3 s slot
    first = fake.calls_to("sendMessage")[0]
    assert first.params["text"].startswith(("✍️", "⏳"))
    assert "parse_mode" not in first.params
    progress_id = first.result["message_id"]
    edits = edits_of(fake, progress_id)
    texts = [e.params["text"] for e in edits]
    assert len(set(texts)) >= 2
    assert any("Drawing scene" in t for t in texts)
    assert texts[-1].startswith("✅")
    times = [first.time] + [e.time for e in edits]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 3.0 - 0.05, gaps  # never two edits of one message within 3 s
    # The video: a real MP4 matching the declared size and length, with a thumbnail.
    video = sent.files["video"].data
    path = tmp_path / "sent.mp4"
    path.write_bytes(video)
    p = probe(path)
    assert (p.video_codec, p.audio_codec) == ("h264", "aac")
    assert (int(sent.params["width"]), int(sent.params["height"])) == (p.width, p.height)
    assert abs(int(sent.params["duration"]) - p.duration_s) <= 1
    assert sent.params["supports_streaming"] == "true"
    thumb = sent.params["thumbnail"].removeprefix("attach://")
    assert sent.files[thumb].data[:3] == b"\xff\xd8\xff"
    assert sent.json("reply_parameters")["message_id"] == asked
    assert fake.calls_to("sendChatAction")[-1].params["action"] == "upload_video"


async def test_flood_control_is_honoured(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a 429 with retry_after=4 on an edit, that message is not edited for 4 s."""
    settings = telegram_settings(fake, monkeypatch)
    fake.fail_next("editMessageText", status=429, retry_after=4)
    async with AsyncExitStack() as stack:
        await start_bot(stack, settings, delay=1.5)
        fake.send_command("/story scenes=3 a fox")
        await fake.wait_for("sendVideo", timeout=120)
        await fake.wait_for("editMessageText", is_summary)
    edits = fake.calls_to("editMessageText")
    refused = next(e for e in edits if e.status == 429)
    later = [e for e in edits if e.time > refused.time]
    assert later, "the final edit still happens"
    assert later[0].time - refused.time >= 4.0


async def test_cancel_button_stops_the_job(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """The Cancel button stops provider calls; no video is sent; the message says so."""
    settings = telegram_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        store, illustrator = await start_bot(stack, settings, delay=1.0)
        fake.send_command("/story scenes=6 a cat")
        first = await fake.wait_for("sendMessage")
        await wait_until(lambda: illustrator.calls >= 2, what="the second picture")
        fake.press_button(
            chat_id=4242,
            message_id=first.result["message_id"],
            data=first.json("reply_markup")["inline_keyboard"][0][0]["callback_data"],
        )
        await fake.wait_for("answerCallbackQuery")
        await fake.wait_for(
            "editMessageText", lambda c: "Cancelled" in c.params["text"], timeout=20
        )
        calls = illustrator.calls
        # A later one-scene story runs to the end on the same illustrator (one picture a
        # second): had the cancelled job gone on, its pictures would be counted too.
        again = fake.send_command("/story scenes=1 a dog")
        later = await fake.wait_for("sendVideo", timeout=120)
        assert illustrator.calls == calls + 1
        jobs = await store.recent()
    assert fake.calls_to("sendVideo") == [later]  # none for the cancelled job
    assert later.json("reply_parameters")["message_id"] == again
    assert {job.subject: job.status for job in jobs} == {
        "a cat": JobStatus.CANCELLED, "a dog": JobStatus.COMPLETED,
    }  # fmt: skip


async def test_video_over_the_upload_limit_is_re_encoded(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With a limit below the video's size, the bot re-encodes it to fit and sends that."""
    settings = telegram_settings(fake, monkeypatch, STORYBOT_TELEGRAM_UPLOAD_LIMIT_MB="0.4")
    async with AsyncExitStack() as stack:
        store, _ = await start_bot(stack, settings)
        fake.send_command("/story scenes=3 a cat and a dog")
        sent = await fake.wait_for("sendVideo", timeout=120)
        (job,) = await store.recent()
    assert job.outcome is not None
    assert job.outcome.file_sizes[0] > 400_000
    assert len(sent.files["video"].data) <= 400_000 * 0.96
    path = tmp_path / "small.mp4"
    path.write_bytes(sent.files["video"].data)
    assert probe(path).video_codec == "h264"


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("/story", "Example: /story a cat and a dog"),
        ("/story " + "x" * 501, "keep it under 500"),
        ("/story " + "y" * 4090, "keep it under 500"),
        ("/story colour=red a cat", "unknown option 'colour'"),
        ("/story scenes=99 a cat", "scenes must be a number from 1 to 10"),
        ("/story a dog with a gun", "isn't right for a children's story"),
    ],
)
async def test_bad_input_gets_a_clear_reply(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, text: str, reply: str
) -> None:
    """Missing theme, over-long themes, bad options and unfit themes get a short reply."""
    settings = telegram_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        await start_bot(stack, settings)
        fake.send_command(text)
        answer = await fake.wait_for("sendMessage")
    assert reply in answer.params["text"]
    assert "Traceback" not in answer.params["text"]


async def test_editing_a_command_starts_nothing_new(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing a sent `/story` (or `/video`) message is not a new request: one job only (the
    bot does not even ask for edited messages)."""
    settings = telegram_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        store, _ = await start_bot(stack, settings)
        sent = fake.send_command("/story scenes=1 a cat")
        await fake.wait_for("sendVideo", timeout=120)
        fake.edit_user_message(4242, sent, "/story scenes=1 a dog")
        fake.edit_user_message(4242, sent, "/video a dog")
        fake.send_command("/help")  # answered after the edits: they were passed over
        await fake.wait_for("sendMessage", lambda c: "/story" in c.params["text"])
        jobs = await store.recent()
    assert [job.subject for job in jobs] == ["a cat"]
    assert fake.calls_to("getUpdates")[0].json("allowed_updates") == ["message", "callback_query"]
    progress = [c for c in fake.calls_to("sendMessage") if "/story" not in c.params["text"]]
    assert len(progress) == 1  # the progress message of the one job


async def test_markup_characters_are_sent_as_plain_text(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A theme with HTML/Markdown characters is accepted and nothing is sent with parse_mode."""
    settings = telegram_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        store, _ = await start_bot(stack, settings)
        fake.send_command("/story scenes=1 <b>a cat</b> & *dog* _x_ [y](z)")
        await fake.wait_for("sendVideo", timeout=120)
        job = (await store.recent())[0]
    assert job.request.theme == "<b>a cat</b> & *dog* _x_ [y](z)"
    assert all("parse_mode" not in c.params for c in fake.calls)


async def test_two_chats_at_once_overlap(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two chats each get their own video, and their jobs run at the same time."""
    settings = telegram_settings(fake, monkeypatch, STORYBOT_MAX_CONCURRENT_JOBS="2")
    async with AsyncExitStack() as stack:
        store, _ = await start_bot(stack, settings, delay=1.0)
        fake.send_command("/story scenes=2 a cat", chat_id=1, user_id=1)
        fake.send_command("/story scenes=2 a dog", chat_id=2, user_id=2)
        await fake.wait_for("sendVideo", lambda c: c.params["chat_id"] == "1", timeout=120)
        await fake.wait_for("sendVideo", lambda c: c.params["chat_id"] == "2", timeout=120)
        jobs = await store.recent()
    a, b = sorted(jobs, key=lambda j: j.origin.chat_id)
    assert a.started_at is not None
    assert b.started_at is not None
    assert a.completed_at is not None
    assert b.completed_at is not None
    assert a.started_at < b.completed_at
    assert b.started_at < a.completed_at


async def test_storybot_run_serves_stories(fake: FakeTelegram, tmp_path: Path) -> None:
    """`storybot run` with only the token and the API URL set serves /story end to end."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "STORYBOT_DATA_DIR": str(tmp_path / "data"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await fake.wait_for("getUpdates", timeout=60)
        fake.send_command("/story scenes=2 a cat and a dog")
        sent = await fake.wait_for("sendVideo", timeout=120)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert len(sent.files["video"].data) > 10_000
    assert fake.token not in stderr.decode()


def test_run_without_front_ends_names_the_settings(capsys: pytest.CaptureFixture[str]) -> None:
    """With no front end configured, `storybot run` says which settings enable one."""
    from bot.cli import main

    assert main(["run"]) == 2
    assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err


async def test_blocked_user_ends_as_delivery_failed(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """A user who blocked the bot: the upload is refused once and the delivery is marked
    failed at once — another try cannot help (see test_telegram_faults.py for every fault)."""
    from core.models import Delivery

    settings = telegram_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        store, _ = await start_bot(stack, settings)
        fake.send_command("/story scenes=1 a cat", chat_id=77, user_id=77)
        await fake.wait_for("sendMessage")
        fake.blocked.add(77)

        async def delivery_failed() -> bool:
            jobs = await store.recent()
            return bool(jobs) and jobs[0].delivery is Delivery.FAILED

        await wait_until(delivery_failed, timeout=120, interval=0.1, what="delivery failed")
        job = (await store.recent())[0]
    assert job.status is JobStatus.COMPLETED
    assert job.delivery is Delivery.FAILED
    assert job.delivery_attempts == 1
    assert [c.status for c in fake.calls_to("sendVideo")] == [403]
    refused = [c for c in fake.calls if c.status == 403]
    assert refused


async def test_run_killed_after_first_edit_still_delivers_once(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """`storybot run` SIGKILLed right after its first progress edit and started again
    continues the same progress message and delivers exactly one video."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PTB_TIMEDELTA": "true",
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "STORYBOT_DATA_DIR": str(tmp_path / "data"),
        "STORYBOT_PROGRESS_INTERVAL_S": "1",
    }

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip

    first = await start()
    await fake.wait_for("getUpdates", timeout=60)
    fake.send_command("/story scenes=5 a cat and a dog")
    progress = await fake.wait_for("sendMessage", timeout=60)
    await fake.wait_for("editMessageText", timeout=60)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    assert fake.calls_to("sendVideo") == []

    message_id = progress.result["message_id"]
    second = await start()
    try:
        await fake.wait_for("sendVideo", timeout=120)
        # The summary edit comes after the delivery; a (wrong) second upload would be under
        # way by then, and SIGTERM lets what is running finish before the process exits.
        await fake.wait_for(
            "editMessageText",
            lambda c: is_summary(c) and int(c.params["message_id"]) == message_id,
        )
    finally:
        second.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(second.communicate(), 60)
    assert second.returncode == 0, stderr.decode()[-2000:]
    assert len(fake.calls_to("sendVideo")) == 1
    assert edits_of(fake, message_id)[-1].params["text"].startswith("✅")
