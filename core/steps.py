"""Checkpoints: every finished step of a job leaves a file in its folder and a mark in a
`StepLog`, so a re-run of the job (a retry, a restart) skips what is already done."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from core.models import JobId


class StepLog(Protocol):
    """Which steps of a job are finished (their checkpoint files are complete)."""

    def done(self, step: str) -> bool:
        """Whether `step` finished before."""
        ...

    async def mark(self, step: str) -> None:
        """Record that `step` finished."""
        ...


@dataclass
class MemorySteps:
    """A StepLog kept in memory: enough for a one-off run."""

    finished: set[str] = field(default_factory=set)

    def done(self, step: str) -> bool:
        """Whether `step` finished before."""
        return step in self.finished

    async def mark(self, step: str) -> None:
        """Record that `step` finished."""
        self.finished.add(step)


@dataclass
class JobFiles:
    """One job's folder and the steps it has finished."""

    job_id: JobId
    workdir: Path
    steps: StepLog

    def path(self, name: str) -> Path:
        """A file in the job's folder."""
        return self.workdir / name

    async def reuse(self, step: str, name: str) -> Path | None:
        """The checkpoint file of a finished step, if it is still there."""
        path = self.path(name)
        exists = await asyncio.to_thread(path.exists)
        return path if self.steps.done(step) and exists else None

    async def save(self, step: str, name: str, data: bytes) -> Path:
        """Write a checkpoint atomically, then record the step as finished."""
        path = self.path(name)
        await asyncio.to_thread(write_atomic, path, data)
        await self.steps.mark(step)
        return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader never sees a partial file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
