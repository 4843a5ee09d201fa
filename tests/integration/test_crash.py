"""Crash recovery: a real bot process killed at awkward moments, then started again."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.gemini_server import FakeGemini

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]  # the worker imports `tests.*`


class Worker:
    """One run of `tests.crash_worker` on a data folder shared across restarts."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.crash_worker", str(self.data), *args,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip

    def lines(self, name: str) -> list[str]:
        path = self.data / name
        return path.read_text().splitlines() if path.exists() else []

    async def wait_until(self, condition: Callable[[], bool], limit_s: float = 60) -> None:
        deadline = time.monotonic() + limit_s
        while not condition():
            assert self.process is not None
            if self.process.returncode is not None:
                raise AssertionError(f"worker exited early: {await self.process.stderr.read()}")  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.02)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def finish(self, limit_s: float = 120) -> int:
        assert self.process is not None
        _, stderr = await asyncio.wait_for(self.process.communicate(), limit_s)
        assert self.process.returncode == 0, stderr.decode()[-3000:]
        return self.process.returncode

    def ends(self) -> Counter[str]:
        """How many times each provider call completed, by kind and text."""
        return Counter(
            line.replace(" end ", " ", 1) for line in self.lines("calls.log") if " end " in line
        )

    def event_seen(self, text: str) -> Callable[[], bool]:
        return lambda: any(text in line for line in self.lines("events.log"))


async def test_killed_three_times_still_delivers_once(tmp_path: Path) -> None:
    """SIGKILL during the story, between pictures and during assembly: the job completes,
    finished steps are never generated again, and the video is delivered exactly once."""
    worker = Worker(tmp_path)
    await worker.start("--submit", "1", "--scenes", "4", "--delay", "1.0")
    await worker.wait_until(
        lambda: any("story start" in line for line in worker.lines("calls.log"))
    )
    await worker.kill()  # 1: during the story
    assert not worker.ends()

    await worker.start()
    await worker.wait_until(worker.event_seen("StageProgressed pictures 2/4"))
    await worker.kill()  # 2: between pictures (two drawn and checkpointed)
    before = worker.ends()
    assert before["picture picture 1"] == 1  # the reference picture comes first
    assert sum(1 for k in before if k.startswith("picture")) == 2  # then any other one

    await worker.start()
    await worker.wait_until(worker.event_seen("StageStarted assembly"))
    await worker.kill()  # 3: during assembly

    await worker.start()
    await worker.finish()
    ends = worker.ends()
    assert [line.split(" ", 1)[0] for line in ends.elements()].count("story") == 1
    for step, count in ends.items():
        assert count == 1, f"{step} was generated {count} times"
    assert sum(1 for k in ends if k.startswith("picture")) == 4
    assert sum(1 for k in ends if k.startswith("narration")) == 4
    assert len(worker.lines("delivered.log")) == 1
    assert len([line for line in worker.lines("calls.log") if line.startswith("story start")]) == 2


async def test_sigterm_exits_within_the_grace_period_and_resumes(tmp_path: Path) -> None:
    """SIGTERM mid-job: exit 0 within the grace period; the next start finishes the job."""
    worker = Worker(tmp_path)
    await worker.start("--submit", "1", "--scenes", "3", "--delay", "4.0", "--grace", "1.0")
    await worker.wait_until(
        lambda: any("picture start" in line for line in worker.lines("calls.log"))
    )
    assert worker.process is not None
    stopped = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    await worker.finish(limit_s=30)
    assert time.monotonic() - stopped < 1.0 + 5.0  # the grace period, plus process exit
    assert worker.lines("delivered.log") == []
    await worker.start("--delay", "0.2")
    await worker.finish()
    assert len(worker.lines("delivered.log")) == 1
    assert worker.ends()["story job 0"] == 1  # the story survived the stop


async def test_restart_with_ten_queued_jobs_delivers_all_in_order(tmp_path: Path) -> None:
    """Ten jobs queued, the process killed, started again: all ten delivered, in queue order."""
    worker = Worker(tmp_path)
    await worker.start("--submit", "10", "--scenes", "1", "--delay", "0.3")
    await worker.wait_until(worker.event_seen("submitted 10"))
    await worker.wait_until(
        lambda: any("story start" in line for line in worker.lines("calls.log"))
    )
    await worker.kill()
    await worker.start("--delay", "0.05")
    await worker.finish(limit_s=240)
    delivered = worker.lines("delivered.log")
    assert len(delivered) == 10
    assert len(set(delivered)) == 10
    stories = [
        line.split(" ", 2)[2] for line in worker.lines("calls.log") if line.startswith("story end")
    ]
    assert stories == [f"job {n}" for n in range(10)]


async def test_killed_while_polling_resumes_the_same_operations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL while Veo operations are being polled: after the restart the same operations
    are polled again (one start per scene, polls before and after) and the job is delivered."""
    async with FakeGemini(api_key="test-key", video_latency_s=4.0) as fake:
        for name, value in {**fake.vertex_env(express=True), "GOOGLE_API_KEY": "test-key",
                            "STORYBOT_VIDEO_POLL_S": "0.1"}.items():  # fmt: skip
            monkeypatch.setenv(name, value)  # inherited by the worker process
        worker = Worker(tmp_path)
        await worker.start("--submit", "1", "--scenes", "2", "--delay", "0.1", "--animate")
        await worker.wait_until(
            lambda: (
                len(fake.operations) == 2 and all(op.polls >= 2 for op in fake.operations.values())
            )
        )
        await worker.kill()
        polls_before = {name: op.polls for name, op in fake.operations.items()}

        await worker.start("--animate")
        await worker.finish()
    assert len(fake.calls("video")) == 2  # never started again
    for name, op in fake.operations.items():
        assert op.polls > polls_before[name], name  # the same operation, polled after restart
        assert op.done
    assert len(worker.lines("delivered.log")) == 1
