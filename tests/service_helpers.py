"""Helpers shared by the job service's tests: origins, event collection, the store reopened."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

from core.models import Delivery, Job, Origin, StoryRequest, StoryVideo
from core.progress import JobSucceeded, ProgressEvent
from core.service import JobService
from core.store import JobStore, open_job_store

REQUEST = StoryRequest(theme="a cat", scenes=2)


def user(n: int, platform: str = "telegram") -> Origin:
    return Origin(platform, f"user{n}", f"chat{n}")


async def collect(jobs: JobService, job: Job) -> list[ProgressEvent]:
    return [event async for event in jobs.subscribe(job.id)]


async def made(jobs: JobService, job: Job) -> StoryVideo:
    """The story job's result, once it succeeded."""
    events = await collect(jobs, job)
    assert isinstance(events[-1], JobSucceeded), events[-1]
    result = events[-1].result
    assert isinstance(result, StoryVideo)
    return result


async def cue_texts(jobs: JobService, job: Job, result: StoryVideo) -> list[str]:
    """The texts of the job's `.srt` cues, in order."""
    assert result.subtitles is not None
    text = (await jobs.file(await jobs.get(job.id), result.subtitles)).read_text()
    return [block.split("\n", 2)[2].strip() for block in re.split(r"\n\n+", text.strip())]


async def delivery_is(store: JobStore, job_id: str, delivery: Delivery) -> bool:
    return (await store.get(job_id)).delivery is delivery


@contextlib.asynccontextmanager
async def reopened(data: Path) -> AsyncIterator[JobStore]:
    """The jobs database as another process opens it (after the bot stopped)."""
    async with open_job_store(data / "storybot.db") as store:
        yield store


async def subscribed(jobs: JobService, job: Job) -> asyncio.Task[list[ProgressEvent]]:
    """A task collecting the job's events, returned once the subscription is in place (its
    first event, the current state, has arrived), so no later event can be missed."""
    events = jobs.subscribe(job.id)
    first = await anext(events)

    async def rest() -> list[ProgressEvent]:
        return [first, *[event async for event in events]]

    return asyncio.create_task(rest())
