"""Job files in a bucket, through obstore (S3 and S3-compatible servers, Google Cloud Storage).

The worker and ffmpeg work in a local scratch folder; what a step wrote is uploaded before the
step is recorded as done (multipart for large files), so a worker on another machine can
download what it resumes from. Readers (downloads, chat uploads) get local copies, removed
once unused for a while."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import os
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Collection, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import obstore
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import GCSStore, S3Store

from core.artifacts import StoredCopy
from core.config import Settings
from core.errors import ArtifactMissing, ConfigurationError, StorageUnavailable
from core.models import JobId

if TYPE_CHECKING:
    from obstore import ObjectMeta
    from obstore.store import ClientConfig, S3Config

log = logging.getLogger(__name__)

Bucket = S3Store | GCSStore
_CHECK_S = 30.0  # how long the start-up check may take to reach the bucket
_PRUNE_EVERY_S = 60.0
_COPY_IDLE_S = 900.0  # a reader's copy unused this long goes (a download holds its file open)
_SCRATCH_IDLE_S = 86_400.0  # a scratch folder untouched for a day was left by a killed worker
_MISSING = (FileNotFoundError, NotFoundError)


class BucketArtifacts:
    """Job files under `<storage url>/<job id>/`; scratch and reader copies in `local_root`."""

    in_bucket = True

    def __init__(self, bucket: Bucket, url: str, local_root: Path, *, link_ttl: timedelta) -> None:
        self._bucket, self._url, self._link_ttl = bucket, url.rstrip("/"), link_ttl
        self._scratch, self._copies = local_root / "scratch", local_root / "copies"
        # What this process uploaded or downloaded per job: name -> (size, mtime) of the file.
        self._stored: dict[JobId, dict[str, tuple[int, int]]] = {}
        self._locks: dict[JobId, asyncio.Lock] = {}
        self._unsigned = False  # signing failed once (logged once)

    # ------------------------------------------------------------------ the worker's side

    def scratch(self, job_id: JobId) -> Path:
        """The job's local work folder."""
        return self._scratch / job_id

    async def checkout(self, job_id: JobId) -> Path:
        """The scratch folder with every stored file of the job downloaded into it."""
        folder = self.scratch(job_id)
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        async with self._lock(job_id):
            stored = self._stored.setdefault(job_id, {})
            for meta in await self._objects(job_id):
                name = _name(meta)
                target = folder / name
                if await asyncio.to_thread(_size, target) != meta["size"]:
                    await self._download(meta["path"], target)
                stored[name] = await asyncio.to_thread(_stamp, target)
        return folder

    async def persist(self, job_id: JobId) -> None:
        """Upload the scratch folder's new or changed files (not the hidden work files)."""
        async with self._lock(job_id):
            stored = self._stored.setdefault(job_id, {})
            for path, stamp in await asyncio.to_thread(_files, self.scratch(job_id)):
                if stored.get(path.name) != stamp:
                    await self._upload(job_id, path.name, path)
                    stored[path.name] = stamp

    async def release(self, job_id: JobId) -> None:
        """Remove the scratch folder: everything worth keeping is in the bucket."""
        self._stored.pop(job_id, None)
        self._locks.pop(job_id, None)
        await asyncio.to_thread(shutil.rmtree, self.scratch(job_id), True)

    # ------------------------------------------------------------------ everyone's side

    async def write(self, job_id: JobId, name: str, data: bytes) -> None:
        """Upload a file (a put is atomic: a reader sees the whole object or none)."""
        await self._upload(job_id, name, data)

    async def local(self, job_id: JobId, name: str) -> Path:
        """A local copy of the stored file, downloaded unless a recent one is there."""
        target = self._copies / job_id / name
        if await asyncio.to_thread(_touch, target):
            return target
        try:
            await self._download(f"{job_id}/{name}", target)
        except _MISSING:
            raise ArtifactMissing(f"the file {name} of job {job_id} is gone") from None
        return target

    async def size(self, job_id: JobId, name: str) -> int:
        """A stored file's size in bytes."""
        try:
            with _reaching():
                meta = await obstore.head_async(self._bucket, f"{job_id}/{name}")
        except _MISSING:
            raise ArtifactMissing(f"the file {name} of job {job_id} is gone") from None
        return meta["size"]

    async def keep_only(self, job_id: JobId, names: Collection[str]) -> None:
        """Delete the job's other objects, and the local copies of them."""
        doomed = [meta["path"] for meta in await self._objects(job_id) if _name(meta) not in names]
        await self._delete(doomed)
        await asyncio.to_thread(_prune, self._copies / job_id, names)

    async def delete(self, job_id: JobId, name: str) -> None:
        """Delete one object of the job, and its local copies."""
        await self._delete([f"{job_id}/{name}"])
        for folder in (self._copies / job_id, self.scratch(job_id)):
            await asyncio.to_thread((folder / name).unlink, True)
        self._stored.get(job_id, {}).pop(name, None)

    async def remove(self, job_id: JobId) -> int:
        """Delete every object of the job and its local folders; the bucket bytes freed."""
        objects = await self._objects(job_id)
        await self._delete([meta["path"] for meta in objects])
        for folder in (self._copies / job_id, self.scratch(job_id)):
            await asyncio.to_thread(shutil.rmtree, folder, True)
        return sum(meta["size"] for meta in objects)

    async def usage(self) -> dict[JobId, int]:
        """Bytes in the bucket per job."""
        sizes: dict[JobId, int] = {}
        with _reaching():
            async for batch in obstore.list(self._bucket, None, chunk_size=1000):
                for meta in batch:
                    job_id = JobId(meta["path"].partition("/")[0])
                    sizes[job_id] = sizes.get(job_id, 0) + meta["size"]
        return sizes

    async def copy_in_bucket(self, job_id: JobId, name: str) -> StoredCopy:
        """The object's `s3://`/`gs://` address, and a URL signed for the link lifetime (none
        when these credentials cannot sign, e.g. gs:// without a service account)."""
        key, url = f"{job_id}/{name}", None
        try:
            url = await obstore.sign_async(self._bucket, "GET", key, self._link_ttl)
        except BaseError as exc:
            if not self._unsigned:
                log.warning("presigned URLs cannot be made: %s", _reason(exc))
            self._unsigned = True
        return StoredCopy(uri=f"{self._url}/{key}", presigned_url=url)

    # ------------------------------------------------------------------ upkeep

    async def check(self) -> None:
        """Reach the bucket once (`ConfigurationError` if it cannot be used)."""
        try:
            async with asyncio.timeout(_CHECK_S):
                await obstore.list_with_delimiter_async(self._bucket, None)
        except (BaseError, OSError, TimeoutError) as exc:
            raise ConfigurationError(
                f"STORYBOT_STORAGE_URL: cannot use {self._url} ({_reason(exc)})"
            ) from None

    async def prune(self) -> None:
        """Remove reader copies unused for a while and scratch left by a killed worker."""
        await asyncio.to_thread(_remove_idle, self._copies, _COPY_IDLE_S)
        await asyncio.to_thread(_remove_idle, self._scratch, _SCRATCH_IDLE_S)

    # ------------------------------------------------------------------ transfers

    def _lock(self, job_id: JobId) -> asyncio.Lock:
        return self._locks.setdefault(job_id, asyncio.Lock())

    async def _objects(self, job_id: JobId) -> list[ObjectMeta]:
        with _reaching():
            return [
                meta
                async for batch in obstore.list(self._bucket, f"{job_id}/", chunk_size=1000)
                for meta in batch
            ]

    async def _delete(self, keys: list[str]) -> None:
        if keys:
            with _reaching():
                await obstore.delete_async(self._bucket, keys)

    async def _upload(self, job_id: JobId, name: str, data: Path | bytes) -> None:
        # A file over 5 MB goes up as a multipart upload, from disk (never whole in memory).
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        with _reaching():
            await obstore.put_async(
                self._bucket, f"{job_id}/{name}", data, attributes={"Content-Type": kind}
            )

    async def _download(self, key: str, target: Path) -> None:
        """Stream an object into `target`, which appears whole or not at all."""
        with _reaching():
            answer = await obstore.get_async(self._bucket, key)
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
        handle = await asyncio.to_thread(partial.open, "wb")
        try:
            with _reaching():
                async for chunk in answer.stream(min_chunk_size=4 * 1024 * 1024):
                    await asyncio.to_thread(handle.write, chunk)
        except BaseException:
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(partial.unlink, True)
            raise
        await asyncio.to_thread(handle.close)
        await asyncio.to_thread(os.replace, partial, target)


def bucket_of(settings: Settings) -> Bucket:
    """The obstore client for `STORYBOT_STORAGE_URL`. For s3://, the AWS settings StoryBot
    reads (also from `.env`) win; obstore reads the rest of its AWS_* variables (regions,
    container and web-identity credentials) from the environment itself, as it does the
    Google credentials for gs://."""
    url = settings.storage_url
    assert url is not None
    if url.startswith("gs://"):
        return GCSStore.from_url(url)
    config: S3Config = {}
    if settings.aws_access_key_id is not None:
        config["access_key_id"] = settings.aws_access_key_id
    if settings.aws_secret_access_key is not None:
        config["secret_access_key"] = settings.aws_secret_access_key.get_secret_value()
    if settings.aws_session_token is not None:
        config["session_token"] = settings.aws_session_token.get_secret_value()
    if settings.aws_region is not None:
        config["region"] = settings.aws_region
    options: ClientConfig = {}
    if (endpoint := settings.aws_endpoint_url) is not None:
        config["endpoint"] = endpoint
        options["allow_http"] = endpoint.startswith("http://")  # a local S3-compatible server
    return S3Store.from_url(url, config=config, client_options=options)


@contextlib.asynccontextmanager
async def open_bucket(settings: Settings) -> AsyncIterator[BucketArtifacts]:
    """The bucket's artifact store, checked once, with its local upkeep running."""
    assert settings.storage_url is not None
    artifacts = BucketArtifacts(
        bucket_of(settings), settings.storage_url, settings.data_dir,
        link_ttl=timedelta(minutes=settings.presigned_url_minutes),
    )  # fmt: skip
    await artifacts.check()
    log.info("job files in %s", settings.storage_url)

    async def upkeep() -> None:
        while True:
            await artifacts.prune()
            await asyncio.sleep(_PRUNE_EVERY_S)

    task = asyncio.create_task(upkeep(), name="storybot-bucket-upkeep")
    try:
        yield artifacts
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


# ---------------------------------------------------------------------------------- files


@contextlib.contextmanager
def _reaching() -> Iterator[None]:
    """Within: a bucket that cannot be reached (after obstore's own retries) is a
    `StorageUnavailable`; a missing object stays `FileNotFoundError`/`NotFoundError`."""
    try:
        yield
    except NotFoundError:
        raise
    except BaseError as exc:
        log.warning("the bucket: %s", _reason(exc))
        raise StorageUnavailable("the file storage cannot be reached; try again later") from exc


def _name(meta: ObjectMeta) -> str:
    return meta["path"].rpartition("/")[2]


def _reason(exc: BaseException) -> str:
    """A short reason from an obstore error: the S3 error code when there is one."""
    text = str(exc) or type(exc).__name__
    code = re.search(r"<Code>(\w+)</Code>", text)
    return code.group(1) if code else text.splitlines()[0][:160]


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _files(folder: Path) -> list[tuple[Path, tuple[int, int]]]:
    """The folder's files with their stamps; hidden ones are work in progress (partial
    writes, ffmpeg's segments)."""
    if not folder.is_dir():
        return []
    return [
        (path, _stamp(path))
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.startswith(".")
    ]


def _touch(path: Path) -> bool:
    """Mark a copy as just used; False if there is none."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


def _prune(folder: Path, names: Collection[str]) -> None:
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name not in names:
                path.unlink(missing_ok=True)


def _remove_idle(root: Path, idle_s: float) -> None:
    """Remove the job folders under `root` in which nothing changed for `idle_s`."""
    if not root.is_dir():
        return
    cutoff = time.time() - idle_s
    for folder in root.iterdir():
        with contextlib.suppress(FileNotFoundError):  # another process removed it meanwhile
            stamps = [folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())]
            if max(stamps) < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
