"""Job files behind one interface: the user's input picture, pictures, narrations, clips and
outputs. A local folder now; the worker and ffmpeg work in a local scratch folder per job."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Collection
from pathlib import Path
from typing import Protocol

from core.errors import ArtifactMissing
from core.models import JobId
from core.steps import write_atomic


class ArtifactStore(Protocol):
    """Where job files live, by job id and file name."""

    def scratch(self, job_id: JobId) -> Path:
        """The local folder a worker writes the job's files in (checkpoints, ffmpeg)."""
        ...

    async def write(self, job_id: JobId, name: str, data: bytes) -> None:
        """Store a file (atomically: a reader never sees part of it)."""
        ...

    async def local(self, job_id: JobId, name: str) -> Path:
        """A local file holding the stored file (`ArtifactMissing` if it is gone)."""
        ...

    async def size(self, job_id: JobId, name: str) -> int:
        """A stored file's size in bytes."""
        ...

    async def keep_only(self, job_id: JobId, names: Collection[str]) -> None:
        """Remove the job's other files (work files once the job completed)."""
        ...

    async def remove(self, job_id: JobId) -> int:
        """Remove every file of the job; the bytes freed."""
        ...

    async def usage(self) -> dict[JobId, int]:
        """Bytes stored per job."""
        ...


class LocalArtifacts:
    """Job files in `root/<job id>/`; that folder is also the job's scratch folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def scratch(self, job_id: JobId) -> Path:
        """The job's folder (the pipeline creates it, off the event loop)."""
        return self.root / job_id

    async def write(self, job_id: JobId, name: str, data: bytes) -> None:
        """Store a file atomically."""

        def store(folder: Path) -> None:
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(folder / name, data)

        await asyncio.to_thread(store, self.scratch(job_id))

    async def local(self, job_id: JobId, name: str) -> Path:
        """The stored file itself."""
        path = self.root / job_id / name
        if not await asyncio.to_thread(path.is_file):
            raise ArtifactMissing(f"the file {name} of job {job_id} is gone")
        return path

    async def size(self, job_id: JobId, name: str) -> int:
        """A stored file's size in bytes."""
        return (await asyncio.to_thread((await self.local(job_id, name)).stat)).st_size

    async def keep_only(self, job_id: JobId, names: Collection[str]) -> None:
        """Remove the job's other files."""

        def prune(folder: Path) -> None:
            for path in folder.iterdir():
                if path.name not in names:
                    shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)

        folder = self.root / job_id
        if await asyncio.to_thread(folder.is_dir):
            await asyncio.to_thread(prune, folder)

    async def remove(self, job_id: JobId) -> int:
        """Remove the job's folder; the bytes freed."""
        folder = self.root / job_id
        freed = await asyncio.to_thread(_folder_size, folder)
        await asyncio.to_thread(shutil.rmtree, folder, True)
        return freed

    async def usage(self) -> dict[JobId, int]:
        """Bytes per job folder."""

        def measure() -> dict[JobId, int]:
            if not self.root.is_dir():
                return {}
            return {JobId(p.name): _folder_size(p) for p in self.root.iterdir() if p.is_dir()}

        return await asyncio.to_thread(measure)


def _folder_size(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
