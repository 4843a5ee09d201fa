"""Typed progress events emitted by the core and rendered by each front end."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from pydantic import TypeAdapter

from core.models import JobId, JobResult


class Stage(StrEnum):
    """The steps a job goes through, in order."""

    STORY = "story"
    PICTURES = "pictures"
    NARRATION = "narration"
    ANIMATION = "animation"
    VIDEO = "video"  # a video job's clips
    ASSEMBLY = "assembly"


@dataclass(frozen=True, slots=True)
class Queued:
    """The job waits for a free worker; `position` 1 is next."""

    job_id: JobId
    position: int


@dataclass(frozen=True, slots=True)
class StageStarted:
    """A stage began; `total` is its number of items (scenes), 1 for single-step stages."""

    job_id: JobId
    stage: Stage
    total: int
    percent: int


@dataclass(frozen=True, slots=True)
class StageProgressed:
    """Item `done` of `total` of a stage finished; `percent` is the whole job's progress."""

    job_id: JobId
    stage: Stage
    done: int
    total: int
    percent: int


class ClipPhase(StrEnum):
    """Where one scene's animation is."""

    GENERATING = "generating"  # the long-running operation runs
    DOWNLOADING = "downloading"  # its clip is fetched
    DONE = "done"  # animated, or kept as a still


@dataclass(frozen=True, slots=True)
class SceneAnimating:
    """Scene `scene` (1-based) of `total` is being animated."""

    job_id: JobId
    scene: int
    total: int
    phase: ClipPhase
    elapsed_s: float
    percent: int


@dataclass(frozen=True, slots=True)
class ProviderWaiting:
    """A provider asked us to wait (rate limit, overload) and the call is retried later."""

    job_id: JobId
    provider: str
    retry_in_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class JobSucceeded:
    """The video exists."""

    job_id: JobId
    result: JobResult


@dataclass(frozen=True, slots=True)
class JobFailed:
    """The job stopped; `reason` is safe to show users."""

    job_id: JobId
    reason: str


@dataclass(frozen=True, slots=True)
class AwaitingApproval:
    """A preview story's storyboard is ready (story and pictures): the job waits for the user
    to redraw, edit, render or cancel; no worker holds it meanwhile."""

    job_id: JobId
    scenes: int


@dataclass(frozen=True, slots=True)
class JobCancelled:
    """The user or the operator cancelled the job."""

    job_id: JobId


ProgressEvent = (
    Queued
    | StageStarted
    | StageProgressed
    | SceneAnimating
    | ProviderWaiting
    | JobSucceeded
    | JobFailed
    | JobCancelled
    | AwaitingApproval
)

TERMINAL = (JobSucceeded, JobFailed, JobCancelled)
# After these, no worker runs the job (for now): followers stop, the outbox looks for work.
HANDED_OVER = (*TERMINAL, AwaitingApproval)
_EVENT_TYPES: dict[str, TypeAdapter[Any]] = {
    kind.__name__: TypeAdapter(kind)
    for kind in (Queued, StageStarted, StageProgressed, SceneAnimating, ProviderWaiting,
                 JobSucceeded, JobFailed, JobCancelled, AwaitingApproval)
}  # fmt: skip


def encode_event(event: ProgressEvent) -> str:
    """An event as JSON that `decode_event` reads back equal (to store a job's last one)."""
    data = _EVENT_TYPES[type(event).__name__].dump_python(event, mode="json")
    return json.dumps({"type": type(event).__name__, "event": data}, ensure_ascii=False)


def decode_event(text: str) -> ProgressEvent:
    """The event `encode_event` wrote."""
    document = json.loads(text)
    event: ProgressEvent = _EVENT_TYPES[document["type"]].validate_python(document["event"])
    return event


class ProgressSink(Protocol):
    """Receives every event of a job, in order."""

    async def __call__(self, event: ProgressEvent, /) -> None:
        """Handle one event; must not block (render, queue or drop)."""


async def discard(event: ProgressEvent, /) -> None:
    """A sink that ignores events."""


WaitingReporter = Callable[[str, float, str], Awaitable[None]]

# Set by the pipeline for the duration of a job, so that a provider's retry loop can tell the
# user why nothing moves without every provider method taking a sink argument.
_waiting_reporter: ContextVar[WaitingReporter | None] = ContextVar(
    "waiting_reporter", default=None
)


def set_waiting_reporter(reporter: WaitingReporter | None) -> None:
    """Route `report_waiting` calls made in this context (and tasks it starts) to `reporter`."""
    _waiting_reporter.set(reporter)


async def report_waiting(provider: str, retry_in_s: float, reason: str) -> None:
    """Tell the current job's sink that `provider` is being waited for."""
    reporter = _waiting_reporter.get()
    if reporter is not None:
        await reporter(provider, retry_in_s, reason)
