"""Job files behind one interface: the user's input picture, pictures, narrations, clips and
outputs. A local folder, or a bucket (`core/artifacts_remote.py`); either way the worker and
ffmpeg work in a local scratch folder per job."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.config import Settings
from core.errors import ArtifactMissing
from core.models import JobId
from core.steps import write_atomic

# `Origin.extra` key, set to "true": the job's video stays in the bucket past
# STORYBOT_KEEP_HOURS, until the job is deleted (HTTP `save_to_cloud`).
SAVE_TO_CLOUD = "save_to_cloud"


@dataclass(frozen=True, slots=True)
class StoredCopy:
    """A file in object storage: its address there, and a time-limited download URL."""

    uri: str  # s3://bucket/key, gs://bucket/key
    presigned_url: str | None  # None: these credentials cannot sign URLs


class ArtifactStore(Protocol):
    """Where job files live, by job id and file name."""

    @property
    def in_bucket(self) -> bool:
        """Whether the files live in object storage (where `save_to_cloud` keeps a video)."""
        ...

    def scratch(self, job_id: JobId) -> Path:
        """The local folder a worker writes the job's files in (checkpoints, ffmpeg)."""
        ...

    async def checkout(self, job_id: JobId) -> Path:
        """The scratch folder, holding every stored file of the job (a worker resuming a job
        that another machine started gets its checkpoints here)."""
        ...

    async def persist(self, job_id: JobId) -> None:
        """Store what the worker wrote in the scratch folder since the last call (before a
        step is recorded as done, and before the job is recorded as completed)."""
        ...

    async def release(self, job_id: JobId) -> None:
        """The worker is done with the job for now: its scratch folder goes, unless that
        folder is where the files are stored."""
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

    async def delete(self, job_id: JobId, name: str) -> None:
        """Remove one file of the job, wherever it is kept (gone already: nothing to do)."""
        ...

    async def usage(self) -> dict[JobId, int]:
        """Bytes stored per job."""
        ...

    async def copy_in_bucket(self, job_id: JobId, name: str) -> StoredCopy | None:
        """Where a stored file is in object storage, with a download URL (None: not there)."""
        ...


class LocalArtifacts:
    """Job files in `root/<job id>/`; that folder is also the job's scratch folder."""

    in_bucket = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def scratch(self, job_id: JobId) -> Path:
        """The job's folder (the pipeline creates it, off the event loop)."""
        return self.root / job_id

    async def checkout(self, job_id: JobId) -> Path:
        """The job's folder: its files are there already."""
        return self.scratch(job_id)

    async def persist(self, job_id: JobId) -> None:
        """Nothing to do: the scratch folder is the store."""

    async def release(self, job_id: JobId) -> None:
        """Nothing to do: the folder is the store (housekeeping removes it)."""

    async def copy_in_bucket(self, job_id: JobId, name: str) -> StoredCopy | None:
        """None: no object storage."""
        return None

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

    async def delete(self, job_id: JobId, name: str) -> None:
        """Remove one file of the job."""
        await asyncio.to_thread((self.root / job_id / name).unlink, True)

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


@contextlib.asynccontextmanager
async def open_artifacts(settings: Settings) -> AsyncIterator[ArtifactStore]:
    """The artifact store the settings name: the bucket of `STORYBOT_STORAGE_URL`, or the
    jobs folder (a `ConfigurationError` when the bucket cannot be used)."""
    if settings.storage_url is None:
        yield LocalArtifacts(settings.jobs_dir)
        return
    from core.artifacts_remote import open_bucket  # obstore loads only when configured

    async with open_bucket(settings) as bucket:
        yield bucket


def _folder_size(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
