"""A bot process for crash tests: the real core (`core.bootstrap`), slow fake providers that
log their calls to a file, and a delivery handler that logs deliveries to a file.

Run: `python -m tests.crash_worker DATA_DIR [--submit N] [--scenes N] [--delay S] [--animate]`.
It exits 0 once every job in the store is delivered, or after a graceful stop on SIGTERM/SIGINT.
With `--animate`, stories are animated by the real Google animator built from the environment
(e.g. Vertex AI express mode pointed at a fake Gemini server).
Files in DATA_DIR: `calls.log` (`<kind> start|end <text>` per provider call), `events.log`
(`<job> <event> <stage> <done>/<total>`, and `submitted N`), `delivered.log` (one job id per
delivery).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from core.bootstrap import open_storybot
from core.cast import Hero
from core.config import Settings
from core.limits import JobLimits, PipelineLimits
from core.models import (
    Aspect,
    Delivery,
    Job,
    JobStatus,
    Origin,
    Scene,
    Speech,
    Story,
    StoryRequest,
    Style,
)
from core.providers import Providers, build_providers
from core.service import JobService
from tests.fakes import FakeIllustrator, FakeNarrator, FakeStoryWriter


class Log:
    """Append-only lines, flushed at once so a SIGKILL loses nothing already written."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("a", buffering=1)

    def write(self, line: str) -> None:
        self.file.write(line + "\n")
        self.file.flush()


def slow_providers(calls: Log, delay: float) -> Providers:
    """Fakes that take `delay` seconds per call and log each call's start and end."""

    class Writer(FakeStoryWriter):
        async def write(self, request: StoryRequest, hero: Hero | None = None) -> Story:
            calls.write(f"story start {request.theme}")
            await asyncio.sleep(delay)
            story = await super().write(request, hero)
            calls.write(f"story end {request.theme}")
            return story

    class Illustrator(FakeIllustrator):
        async def draw(
            self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
        ) -> bytes:
            calls.write(f"picture start {scene.image_prompt}")
            await asyncio.sleep(delay)
            data = await super().draw(scene, style=style, aspect=aspect, reference=reference)
            calls.write(f"picture end {scene.image_prompt}")
            return data

    class Narrator(FakeNarrator):
        async def speak(self, text: str, *, voice: str | None, language: str) -> Speech:
            calls.write(f"narration start {text}")
            await asyncio.sleep(delay / 2)
            speech = await super().speak(text, voice=voice, language=language)
            calls.write(f"narration end {text}")
            return speech

    return Providers(Writer(), Illustrator(size=(1280, 720)), Narrator(seconds=3.0), label="slow")


async def main(argv: list[str]) -> int:
    """Run until every job is delivered, or until a stop signal."""
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--submit", type=int, default=0)
    parser.add_argument("--scenes", type=int, default=4)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--jobs-at-once", type=int, default=1)
    parser.add_argument("--grace", type=float, default=20.0)
    parser.add_argument("--animate", action="store_true")
    args = parser.parse_args(argv)
    args.data.mkdir(parents=True, exist_ok=True)
    calls, events, delivered = (
        Log(args.data / n) for n in ("calls.log", "events.log", "delivered.log")
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)

    async def deliver(job: Job) -> None:
        delivered.write(job.id)

    async def record(jobs: JobService, job: Job) -> None:
        async for event in jobs.subscribe(job.id):
            stage = getattr(event, "stage", "")
            done = f"{getattr(event, 'done', '')}/{getattr(event, 'total', '')}"
            events.write(f"{job.id} {type(event).__name__} {stage} {done}")

    os.environ["STORYBOT_DATA_DIR"] = str(args.data)
    settings = Settings()
    providers = slow_providers(calls, args.delay)
    if args.animate:
        providers.animator = build_providers(settings).animator
    limits = JobLimits(
        max_concurrent_jobs=args.jobs_at_once, user_jobs_in_flight=100, user_jobs_per_day=100,
        step_retry_delay_s=0.1, delivery_retry_delay_s=0.1,
    )  # fmt: skip
    async with open_storybot(
        settings, providers=providers, limits=limits, resume_platforms=frozenset({"test"}),
        pipeline_limits=PipelineLimits(image_concurrency=1),
    ) as bot:  # fmt: skip
        jobs = bot.service
        jobs.deliver_with("test", deliver)
        for n in range(args.submit):
            request = StoryRequest(theme=f"job {n}", scenes=args.scenes, animate=args.animate)
            await jobs.submit_story(request, Origin("test", f"user{n}", f"chat{n}"))
        if args.submit:
            events.write(f"submitted {args.submit}")
        watchers = [
            asyncio.create_task(record(jobs, job))
            for job in await bot.store.with_status(*JobStatus)
            if not job.status.finished
        ]
        while not stop.is_set():
            everything = await jobs.recent(limit=1000)
            settled = (Delivery.DELIVERED, Delivery.FAILED)
            if everything and all(j.delivery in settled for j in everything):
                break
            await asyncio.sleep(0.1)
        await bot.drain(args.grace)
        for watcher in watchers:
            watcher.cancel()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
