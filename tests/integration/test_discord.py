"""The Discord front end: the real discord.py client against a loopback REST + gateway fake."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from core.config import Settings
from core.models import JobStatus
from core.progress import Stage
from core.providers import Providers
from core.providers.offline import OfflineNarrator, OfflineStoryWriter
from core.service import JobService
from core.store import JobStore
from tests.discord_bot import discord_settings, keep_endpoints, start_adapter
from tests.discord_server import CHANNEL_ID, OTHER_USER_ID, FakeDiscord
from tests.fakes import SlowIllustrator
from tests.probe import probe

pytestmark = pytest.mark.slow


FAKE = FakeDiscord


@pytest.fixture(autouse=True)
def restore_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    keep_endpoints(monkeypatch)


async def start_bot(
    stack: AsyncExitStack, settings: Settings, delay: float = 0.0
) -> tuple[JobStore, SlowIllustrator, JobService]:
    """The Discord adapter over the offline providers, pictures taking `delay` s each."""
    illustrator = SlowIllustrator(delay)
    providers = Providers(OfflineStoryWriter(), illustrator, OfflineNarrator())
    bot = await start_adapter(stack, settings, providers, resume=True)
    return bot.store, illustrator, bot.service


def original_edits(fake: FakeDiscord, token: str) -> list:  # type: ignore[type-arg]
    return [c for c in fake.calls_to("PATCH", f"{token}/messages/@original") if c.status == 200]


def video_of(call, tmp_path: Path, name: str) -> Path:  # type: ignore[no-untyped-def]
    (part,) = [f for f in call.files.values() if f.filename == "story.mp4"]
    path = tmp_path / name
    path.write_bytes(part.data)
    return path


async def test_story_is_acknowledged_while_another_job_assembles(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A second /story is deferred within 3 s while the first job's long assembly runs; the
    event loop never stalls; progress edits are throttled and change; the MP4 arrives."""
    settings = discord_settings(fake, monkeypatch, STORYBOT_MAX_CONCURRENT_JOBS="2")
    lag = 0.0

    async def watch_lag() -> None:
        nonlocal lag
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.05)
            lag = max(lag, time.monotonic() - before - 0.05)

    async with AsyncExitStack() as stack:
        store, _, jobs = await start_bot(stack, settings, delay=0.5)
        first = fake.send_command("story", {"theme": "a cat and a dog", "scenes": 4})
        await fake.wait_for("POST", f"{first.id}/{first.token}/callback")
        (job,) = await store.recent()
        async with contextlib.aclosing(jobs.subscribe(job.id)) as events:
            async for event in events:  # until the first job's assembly starts
                if getattr(event, "stage", None) is Stage.ASSEMBLY:
                    break
        watcher = asyncio.create_task(watch_lag())
        second = fake.send_command("story", {"theme": "a fox", "scenes": 1}, user_id=OTHER_USER_ID)
        ack = await fake.wait_for("POST", f"{second.id}/{second.token}/callback")
        acked_in = ack.time - second.created
        assert any(j.message.startswith("assembly") for j in await store.recent())
        final = await fake.wait_for(
            "PATCH", f"{first.token}/messages/@original", lambda c: bool(c.files), timeout=180
        )
        await fake.wait_for(
            "PATCH", f"{second.token}/messages/@original", lambda c: bool(c.files), timeout=180
        )
        watcher.cancel()
    assert acked_in < 3.0
    assert ack.json["type"] == 5
    assert lag < 3.0, f"event loop stalled for {lag:.2f} s"  # past Discord's ack deadline
    edits = original_edits(fake, first.token)
    texts = [e.json.get("content") for e in edits]
    assert len(set(texts)) >= 3
    gaps = [b.time - a.time for a, b in itertools.pairwise(edits)]
    assert min(gaps) >= 3.0 - 0.05, gaps
    p = probe(video_of(final, tmp_path, "first.mp4"))
    assert (p.video_codec, p.audio_codec, p.pix_fmt) == ("h264", "aac", "yuv420p")
    assert len(final.files[next(iter(final.files))].data) <= 10_485_760
    assert final.json["content"].startswith("✅")


async def test_small_upload_limit_forces_a_re_encode(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A server with a small attachment limit gets a re-encoded video that fits."""
    settings = discord_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        store, _, _ = await start_bot(stack, settings)
        interaction = fake.send_command(
            "story", {"theme": "a cat and a dog", "scenes": 3}, attachment_size_limit=400_000
        )
        final = await fake.wait_for(
            "PATCH", f"{interaction.token}/messages/@original", lambda c: bool(c.files),
            timeout=120,
        )  # fmt: skip
        original = (await store.recent())[0].outcome.file_sizes[0]  # type: ignore[union-attr]
    assert original > 400_000
    path = video_of(final, tmp_path, "small.mp4")
    assert path.stat().st_size <= 400_000 * 0.95
    assert probe(path).video_codec == "h264"


async def test_short_token_lifetime_moves_to_a_channel_message(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Before the interaction token expires, progress moves to a channel message; the video is
    delivered there, mentioning the requester."""
    fake.token_ttl_s = 8.0
    settings = discord_settings(  # progress ticks (1 s) well inside the 2 s left at the move
        fake, monkeypatch, STORYBOT_DISCORD_TOKEN_TTL_S="8", STORYBOT_PROGRESS_INTERVAL_S="1"
    )
    async with AsyncExitStack() as stack:
        await start_bot(stack, settings, delay=1.5)
        interaction = fake.send_command("story", {"theme": "a cat", "scenes": 5})
        moved = await fake.wait_for("POST", f"channels/{CHANNEL_ID}/messages", timeout=30)
        delivered = await fake.wait_for(
            "POST", f"channels/{CHANNEL_ID}/messages", lambda c: bool(c.files), timeout=120
        )
    assert moved.time - interaction.created < 8.0
    assert fake.calls_to("PATCH", f"{interaction.token}/messages/@original")
    assert all(c.status != 401 for c in fake.calls)  # left before the token expired
    assert delivered.json["content"].startswith(
        f"<@{interaction.payload['member']['user']['id']}>"
    )
    assert probe(video_of(delivered, tmp_path, "channel.mp4")).video_codec == "h264"


async def test_early_401_falls_back_to_the_channel(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interaction token rejected early (401 50027) moves progress and delivery to the
    channel."""
    settings = discord_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        await start_bot(stack, settings, delay=1.0)
        interaction = fake.send_command("story", {"theme": "a dog", "scenes": 4})
        await fake.wait_for("PATCH", f"{interaction.token}/messages/@original")
        fake.expire_token(interaction.token)
        delivered = await fake.wait_for(
            "POST", f"channels/{CHANNEL_ID}/messages", lambda c: bool(c.files), timeout=120
        )
    assert any(c.status == 401 for c in fake.calls)
    assert delivered.json["content"].startswith("<@")


async def test_rate_limit_is_waited_out(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 on a progress edit is waited out by the library and the job completes."""
    settings = discord_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        await start_bot(stack, settings, delay=1.0)
        fake.fail_next(
            "PATCH", "messages/@original", status=429,
            body={"message": "You are being rate limited.", "retry_after": 0.5, "global": False},
        )  # fmt: skip
        interaction = fake.send_command("story", {"theme": "a cat", "scenes": 3})
        await fake.wait_for(
            "PATCH", f"{interaction.token}/messages/@original", lambda c: bool(c.files),
            timeout=120,
        )  # fmt: skip
    edits = fake.calls_to("PATCH", f"{interaction.token}/messages/@original")
    limited = next(c for c in edits if c.status == 429)
    retried = next(c for c in edits if c.time > limited.time)
    assert retried.time - limited.time >= 0.5
    assert retried.json == limited.json


async def test_cancel_button_stops_the_job(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel stops provider calls; no video is attached; the response says so."""
    settings = discord_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        store, illustrator, _ = await start_bot(stack, settings, delay=1.0)
        interaction = fake.send_command("story", {"theme": "a cat", "scenes": 6})
        edit = await fake.wait_for(
            "PATCH",
            f"{interaction.token}/messages/@original",
            lambda c: bool(c.json.get("components")),
        )
        custom_id = edit.json["components"][0]["components"][0]["custom_id"]
        fake.press_button(custom_id, message_id=interaction.original["id"])
        await fake.wait_for(
            "PATCH", f"{interaction.token}/messages/@original",
            lambda c: "Cancelled" in (c.json.get("content") or ""), timeout=30,
        )  # fmt: skip
        job = (await store.recent())[0]
    assert job.status is JobStatus.CANCELLED  # already when the user is told
    assert illustrator.calls < 6  # it stopped before drawing every scene
    assert not any(c.files for c in fake.calls)


@pytest.mark.parametrize(
    ("options", "reply"),
    [
        ({"theme": "x" * 501}, "keep it under 500"),
        ({"theme": "a cat", "voice": "klingon"}, "storybot voices"),
        ({"theme": "a dog with a gun"}, "children's story"),
        ({"theme": "a cat", "language": "ja"}, "en, fr, es and de"),
        ({"theme": "a cat", "scenes": 11}, "scenes"),
    ],
)
async def test_bad_options_get_an_ephemeral_reply(
    fake: FakeDiscord,
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, object],
    reply: str,
) -> None:
    """Bad input is answered at once, visible only to the user."""
    settings = discord_settings(fake, monkeypatch)
    async with AsyncExitStack() as stack:
        await start_bot(stack, settings)
        interaction = fake.send_command("story", options)
        answer = await fake.wait_for("POST", f"{interaction.id}/{interaction.token}/callback")
    assert answer.json["type"] == 4
    assert answer.json["data"]["flags"] & 64
    assert reply in answer.json["data"]["content"]


async def test_storybot_run_serves_discord(fake: FakeDiscord, tmp_path: Path) -> None:
    """`storybot run` with only the Discord token and endpoints set serves /story end to end."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DISCORD_BOT_TOKEN": fake.token,
        "DISCORD_API_BASE_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": str(fake.gateway_url),
        "STORYBOT_DATA_DIR": str(tmp_path / "data"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await asyncio.wait_for(fake.wait_ready(), 60)
        await fake.wait_for("PUT", "/commands", timeout=60)
        interaction = fake.send_command("story", {"theme": "a cat and a dog", "scenes": 2})
        final = await fake.wait_for(
            "PATCH", f"{interaction.token}/messages/@original", lambda c: bool(c.files),
            timeout=120,
        )  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert probe(video_of(final, tmp_path, "run.mp4")).video_codec == "h264"
    assert fake.token not in stderr.decode()


async def test_voice_and_language_autocomplete_offer_choices(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the README promises, /story's `voice` and `language` options autocomplete: what the
    user has typed narrows the choices Discord shows (at most 25, each named within 100
    characters); languages are only those the story writer writes."""
    settings = discord_settings(fake, monkeypatch)
    typed = [("voice", "french"), ("voice", ""), ("language", "fr"), ("language", ""),
             ("voice", "zzzz")]  # fmt: skip
    async with AsyncExitStack() as stack:
        await start_bot(stack, settings)
        pushed = [
            fake.send_autocomplete("story", {"theme": "a cat", option: text}, focused=option)
            for option, text in typed
        ]
        for interaction in pushed:
            answer = await fake.wait_for("POST", f"/interactions/{interaction.id}/")
            assert answer.status == 200
    french, voices, fr, languages, none = (i.choices for i in pushed)
    assert french == [
        {"name": "fr-be — French (Belgium)", "value": "fr-be"},
        {"name": "fr-ch — French (Switzerland)", "value": "fr-ch"},
        {"name": "fr-fr — French (France)", "value": "fr-fr"},
    ]
    assert voices is not None
    assert len(voices) == 25
    assert all(0 < len(c["name"]) <= 100 for c in voices)
    assert fr == [{"name": "French (fr)", "value": "fr"}]
    assert languages == [
        {"name": "English (en)", "value": "en"}, {"name": "French (fr)", "value": "fr"},
        {"name": "Spanish (es)", "value": "es"}, {"name": "German (de)", "value": "de"},
    ]  # fmt: skip
    assert none == []


@pytest.mark.parametrize(
    ("locale", "chosen", "language"),
    [("fr", None, "fr"), ("de", None, "de"), ("ja", None, "en"), ("fr", "es", "es")],
)
async def test_the_story_language_defaults_to_the_users_discord_language(
    fake: FakeDiscord,
    monkeypatch: pytest.MonkeyPatch,
    locale: str,
    chosen: str | None,
    language: str,
) -> None:
    """As the README promises, without a `language` option the story is told in the user's
    Discord language when the writer knows it, else in the default; the option wins."""
    settings = discord_settings(fake, monkeypatch)
    options: dict[str, object] = {"theme": "a cat", "scenes": 1}
    if chosen:
        options["language"] = chosen
    async with AsyncExitStack() as stack:
        store, _, _ = await start_bot(stack, settings)
        interaction = fake.send_command("story", options, locale=locale)
        await fake.wait_for("POST", f"{interaction.id}/{interaction.token}/callback")
        (job,) = await store.recent()
    assert interaction.callback_type == 5
    assert job.request.language == language  # type: ignore[union-attr]
