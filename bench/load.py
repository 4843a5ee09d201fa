"""Bench: 50 story jobs from 20 users at once through the real runner, store and assembly.

Providers simulate latency (story 0.5 s, picture 1 s, narration 0.5 s) and fail 20 % of calls
with a transient error, which the provider's retry loop (the same one the Gemini back end uses)
and the runner's step retries absorb. Delivery goes to a recording handler for "telegram".

Run: `python bench/load.py`. Prints delivered/failed/lost counts, p50/p95 time to deliver, the
peak memory of the process tree (this process and its ffmpeg children) and store writes per
second; its last line is
`RESULT delivered=<n>/<total> lost=<n> duplicates=<n> p95_s=<seconds> peak_mb=<MB>`.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.fakes

from bench.measure import watch_peak
from core.bootstrap import open_storybot
from core.config import Settings
from core.errors import ProviderUnavailable
from core.limits import JobLimits
from core.models import Aspect, Job, Origin, Scene, Speech, Story, StoryRequest, Style
from core.providers import Providers
from core.providers.retry import Retryable, RetryPolicy, with_retries
from tests.fakes import FakeIllustrator, FakeNarrator, FakeStoryWriter

JOBS, USERS, SCENES = 50, 20, 3
LATENCY = {"story": 0.5, "picture": 1.0, "narration": 0.5}
FAULT_RATE = 0.2
POLICY = RetryPolicy(budget_s=30, initial_delay_s=0.05, max_delay_s=0.5, jitter_s=0.05)
rng = random.Random(7)
faults = Counter[str]()


async def flaky(kind: str, work):  # type: ignore[no-untyped-def]
    """Wait the kind's latency; fail transiently 20 % of the time; retried like Gemini calls."""

    async def attempt():  # type: ignore[no-untyped-def]
        await asyncio.sleep(LATENCY[kind])
        if rng.random() < FAULT_RATE:
            faults[kind] += 1
            raise Retryable(ProviderUnavailable(f"{kind} overloaded"), None, "overloaded")
        return await work()

    return await with_retries(attempt, provider=kind, policy=POLICY)


class SlowWriter(FakeStoryWriter):
    """The fake story, after the story latency."""

    async def write(self, request: StoryRequest) -> Story:
        """Write after a delay."""
        return await flaky("story", lambda: super(SlowWriter, self).write(request))


class SlowIllustrator(FakeIllustrator):
    """The fake picture, after the picture latency."""

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        """Draw after a delay."""
        parent = super()
        return await flaky(
            "picture", lambda: parent.draw(scene, style=style, aspect=aspect, reference=reference)
        )


class SlowNarrator(FakeNarrator):
    """The fake narration, after the narration latency."""

    async def speak(self, text: str, *, voice: str | None, language: str) -> Speech:
        """Speak after a delay."""
        parent = super()
        return await flaky("narration", lambda: parent.speak(text, voice=voice, language=language))


async def main() -> None:
    """Submit every job at once and wait until each one is delivered or failed."""
    delivered: Counter[str] = Counter()
    submitted_at: dict[str, float] = {}
    delivered_after: dict[str, float] = {}

    async def deliver(job: Job) -> None:
        delivered[job.id] += 1
        delivered_after.setdefault(job.id, time.perf_counter() - submitted_at[job.id])

    providers = Providers(
        SlowWriter(), SlowIllustrator(size=(640, 360)), SlowNarrator(), label="sim"
    )
    limits = JobLimits(user_jobs_in_flight=JOBS // USERS + 1, user_jobs_per_day=10)
    stop = threading.Event()
    peak = watch_peak(os.getpid(), stop, interval_s=0.05)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STORYBOT_DATA_DIR"] = tmp
        async with open_storybot(Settings(), providers=providers, limits=limits) as bot:
            jobs_service, store = bot.service, bot.store
            jobs_service.deliver_with("telegram", deliver)
            started = time.perf_counter()
            jobs = []
            for n in range(JOBS):
                origin = Origin("telegram", f"user{n % USERS}", f"chat{n % USERS}")
                request = StoryRequest(theme=f"story {n}", scenes=SCENES)
                job = await jobs_service.submit_story(request, origin)
                submitted_at[job.id] = time.perf_counter()
                jobs.append(job)

            async def settled() -> None:
                while True:
                    states = [await store.get(j.id) for j in jobs]
                    if all(s.status.finished and s.delivery.settled for s in states):
                        return
                    await asyncio.sleep(0.25)

            await settled()
            elapsed = time.perf_counter() - started
            final = [await store.get(j.id) for j in jobs]
            writes = store.writes
    stop.set()
    ok = sum(1 for j in final if j.delivery.value == "delivered")
    failed = sum(1 for j in final if j.status.value == "failed" or j.delivery.value == "failed")
    lost = JOBS - ok - failed
    duplicates = sum(1 for count in delivered.values() if count > 1)
    times = sorted(delivered_after.values())
    p50 = statistics.median(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(f"{JOBS} jobs from {USERS} users, {SCENES} scenes each, 2 jobs at a time")
    print(f"injected transient faults: {dict(faults)} (all retried)")
    print(f"delivered {ok}/{JOBS}, failed {failed}, lost {lost}, delivered twice {duplicates}")
    print(f"time to deliver: p50 {p50:.1f} s, p95 {p95:.1f} s; all done in {elapsed:.1f} s")
    print(f"peak memory of the process tree: {peak[0]:.0f} MB")
    print(f"store writes: {writes} ({writes / elapsed:.0f}/s)")
    print(
        f"RESULT delivered={ok}/{JOBS} lost={lost} duplicates={duplicates} "
        f"p95_s={p95:.1f} peak_mb={peak[0]:.0f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
