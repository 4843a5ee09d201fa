"""Front ends on several processes sharing PostgreSQL (a real server on loopback): exactly one
polls Telegram and exactly one holds Discord's gateway; when it is killed with SIGKILL, another
takes over within seconds and nothing is lost. Telegram's webhook served by two processes: an
update arriving at each starts one job."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.discord_server import FakeDiscord
from tests.processes import serving
from tests.telegram_server import FakeTelegram

if TYPE_CHECKING:
    from tests.conftest import WaitUntil

pytestmark = pytest.mark.slow

TAKEOVER_S = 10.0


def deployment(url: str, data: Path, **extra: str) -> dict[str, str]:
    """What every process shares: the database, the folder, the offline back end."""
    return {
        "STORYBOT_DATABASE_URL": url, "STORYBOT_DATA_DIR": str(data),
        "STORYBOT_PROVIDER": "offline", "STORYBOT_WORKER_STALL_S": "2",
        "STORYBOT_LOG_LEVEL": "INFO", "STORYBOT_PROGRESS_INTERVAL_S": "0.5", **extra,
    }  # fmt: skip


def logged(log: Path, pattern: str) -> re.Match[str] | None:
    return re.search(pattern, log.read_text(errors="replace")) if log.exists() else None


def replies_to(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("sendMessage")
            if c.status == 200 and int(c.params["chat_id"]) == chat_id]  # fmt: skip


async def test_one_process_polls_telegram_and_another_takes_over_after_sigkill(
    postgres_url: str, tmp_path: Path, wait_until: WaitUntil
) -> None:
    """Two `storybot run` processes: one polls, the other stands by (no 409 Conflict ever, so
    never two `getUpdates` at once). The poller is killed while a story is being made: within
    10 s the other polls, answers the command sent meanwhile, and the story is delivered."""
    async with FakeTelegram() as fake:
        env = deployment(
            postgres_url, tmp_path / "data", TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE_URL=fake.base_url, TELEGRAM_API_FILE_URL=fake.base_file_url,
        )  # fmt: skip
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        with serving(env, first_log, ["run"]) as first:
            await wait_until(lambda: logged(first_log, "is polling"), timeout=60, what="polling")
            with serving(env, second_log, ["run"]):
                await wait_until(lambda: logged(second_log, "standing by"), timeout=60,
                                 what="the second process standing by")  # fmt: skip
                fake.send_command("/help", chat_id=1, user_id=1)
                await wait_until(lambda: replies_to(fake, 1), what="the help text")
                fake.send_command("/story scenes=2 a cat and a dog", chat_id=2, user_id=2)
                await wait_until(lambda: replies_to(fake, 2), what="the progress message")
                assert fake.conflicts == 0
                first.kill()  # SIGKILL: no goodbye, its lock goes with its connection
                killed_at = time.monotonic()
                fake.send_command("/help", chat_id=3, user_id=3)  # waits for the new poller
                await wait_until(lambda: logged(second_log, "is polling"), timeout=TAKEOVER_S,
                                 what="the takeover")  # fmt: skip
                await wait_until(lambda: replies_to(fake, 3), what="the help text after it")
                taken_over_s = time.monotonic() - killed_at
                await fake.wait_for("sendVideo", timeout=120)
                await wait_until(
                    lambda: any(t.startswith("✅") for t in edited_texts(fake)), timeout=60,
                    what="the progress message's last word",
                )  # fmt: skip
    assert taken_over_s < TAKEOVER_S
    assert len(replies_to(fake, 1)) == len(replies_to(fake, 3)) == 1  # each answered once
    assert len(fake.calls_to("sendVideo")) == 1


def edited_texts(fake: FakeTelegram) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("editMessageText") if c.status == 200]


async def test_one_process_holds_discord_s_gateway_and_another_takes_over_after_sigkill(
    postgres_url: str, tmp_path: Path, wait_until: WaitUntil
) -> None:
    """Two `storybot run` processes: one gateway connection at a time; killed, the other
    connects within 10 s and answers the next command."""
    async with FakeDiscord() as fake:
        env = deployment(
            postgres_url, tmp_path / "data", DISCORD_BOT_TOKEN=fake.token,
            DISCORD_API_BASE_URL=fake.api_base, DISCORD_GATEWAY_URL=fake.gateway_url,
        )  # fmt: skip
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        with serving(env, first_log, ["run"]) as first:
            await wait_until(lambda: logged(first_log, "is connected"), timeout=60,
                             what="the gateway connection")  # fmt: skip
            with serving(env, second_log, ["run"]):
                await wait_until(lambda: logged(second_log, "standing by"), timeout=60,
                                 what="the second process standing by")  # fmt: skip
                asked = fake.send_command("help")
                await wait_until(lambda: asked.callback_type is not None, what="an answer")
                assert (fake.live_sessions, fake.peak_sessions) == (1, 1)
                first.kill()
                killed_at = time.monotonic()
                await wait_until(lambda: logged(second_log, "is connected"), timeout=TAKEOVER_S,
                                 what="the takeover")  # fmt: skip
                taken_over_s = time.monotonic() - killed_at
                await wait_until(lambda: fake.live_sessions == 1, what="one connection")
                again = fake.send_command("help")
                await wait_until(lambda: again.callback_type is not None, what="an answer")
    assert taken_over_s < TAKEOVER_S
    # Never two live connections getting the same events: one before the kill (checked
    # above), and after it the new leader's only. (The killed one's socket may still look
    # open to the fake for a moment as the new one connects: `peak_sessions` can see both.)
    assert fake.sessions_identified == 2


async def test_two_webhook_front_ends_share_the_path_and_a_duplicate_starts_one_job(
    postgres_url: str, tmp_path: Path, wait_until: WaitUntil
) -> None:
    """Two `storybot run` processes serve Telegram's webhook path behind one URL. The same
    update, arriving at each (Telegram retried after a timeout), starts one job, delivered once;
    neither process polls."""
    async with FakeTelegram() as fake:
        env = deployment(
            postgres_url, tmp_path / "data", TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE_URL=fake.base_url, TELEGRAM_API_FILE_URL=fake.base_file_url,
            STORYBOT_TELEGRAM_WEBHOOK_URL="https://bot.example.com/tg/hook",
            STORYBOT_TELEGRAM_WEBHOOK_SECRET="a-secret_value", STORYBOT_HTTP_PORT="0",
        )  # fmt: skip
        logs = [tmp_path / "first.log", tmp_path / "second.log"]
        with serving(env, logs[0], ["run"]), serving(env, logs[1], ["run"]):
            bases = [
                (await wait_until(lambda log=log: logged(log, r"HTTP API on (http://\S+:\d+)"),
                                  timeout=60, what="the HTTP API")).group(1)
                for log in logs
            ]  # fmt: skip
            for log in logs:
                await wait_until(lambda log=log: logged(log, "takes updates at its webhook"),
                                 timeout=60, what="the webhook set")  # fmt: skip
            fake.send_command("/story scenes=1 a fox", chat_id=7, user_id=7)
            update: dict[str, Any] = json.loads(json.dumps(fake.updates[0]))
            headers = {"X-Telegram-Bot-Api-Secret-Token": "a-secret_value"}
            async with httpx.AsyncClient(timeout=10) as client:
                for base in bases:
                    answer = await client.post(f"{base}/tg/hook", json=update, headers=headers)
                    assert answer.status_code == 200
            await fake.wait_for("sendVideo", timeout=120)
            await wait_until(lambda: any(t.startswith("✅") for t in edited_texts(fake)),
                             timeout=60, what="the progress message's last word")  # fmt: skip
    assert len(replies_to(fake, 7)) == 1  # one progress message: one job
    assert len(fake.calls_to("sendVideo")) == 1
    assert fake.calls_to("getUpdates") == []
