"""Casts kept for sequels: when a story completes, its characters, its reference picture (the
hero's character sheet, else scene 1's picture), its look and voice are kept per user and chat
for `STORYBOT_CAST_DAYS`, longer than the video's own files; a sequel starts from them.

The picture goes through the artifact store, as every job file does, under `cast-<job id>`,
which the expiry sweep of job files does not touch; `expire` removes both."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.artifacts import ArtifactStore
from core.cast import CAST_PICTURE, Cast
from core.database import Database, Transaction
from core.errors import ArtifactMissing, CastExpired, JobNotFound, NoEarlierStory
from core.models import Job, JobId, StoryRequest, StoryVideo

log = logging.getLogger(__name__)

_SUMMARY_CHARS = 1000


def files_of(job_id: str) -> JobId:
    """Where a cast's picture is kept in the artifact store."""
    return JobId(f"cast-{job_id}")


class Casts:
    """The kept casts, in the job database, and their pictures, in the artifact store."""

    def __init__(self, database: Database, artifacts: ArtifactStore, keep_days: float) -> None:
        self._db, self._artifacts, self.keep_days = database, artifacts, keep_days

    async def keep(self, job: Job, result: StoryVideo, workdir: Path) -> None:
        """Keep a completed story's cast (its picture first, then the row)."""
        request = job.request
        assert isinstance(request, StoryRequest)
        story = result.story
        picture = workdir / CAST_PICTURE
        if not await asyncio.to_thread(picture.is_file):
            picture = workdir / "scene_01.png"
        cast = Cast(
            job_id=job.id,
            part=request.sequel.part if request.sequel is not None else 1,
            title=story.title,
            summary=" ".join(scene.narration for scene in story.scenes)[:_SUMMARY_CHARS],
            characters=story.scenes[0].character_description,
            style=story.style,
            aspect=request.aspect,
            voice=request.voice,
            language=request.language,
            voices=story.voices,
        )
        data = await asyncio.to_thread(picture.read_bytes)
        await self._artifacts.write(files_of(job.id), CAST_PICTURE, data)
        origin, now = job.origin, datetime.now(UTC).isoformat()
        row = (
            job.id,
            origin.platform,
            origin.user_id,
            origin.chat_id,
            now,
            cast.model_dump_json(),
        )
        await self._db.atomic(
            lambda tx: tx.execute(
                "INSERT INTO casts (job_id, platform, user_id, chat_id, created_at, cast_json)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                row,
            )
        )

    async def latest(self, platform: str, user_id: str, chat_id: str) -> Cast:
        """The cast of the user's last completed story in that chat (`NoEarlierStory`)."""
        rows = await self._db.fetch(
            "SELECT cast_json FROM casts WHERE platform = ? AND user_id = ? AND chat_id = ?"
            " AND created_at >= ? ORDER BY created_at DESC LIMIT 1",
            (platform, user_id, chat_id, self._cutoff()),
        )
        if not rows:
            raise NoEarlierStory(
                "there is no earlier story of yours here to continue (or it is older than "
                f"{self.keep_days:g} days); start one with /story"
            )
        return Cast.model_validate_json(rows[0]["cast_json"])

    async def of_job(self, job: Job) -> Cast:
        """The cast a finished story left (`CastExpired` once it is gone)."""
        if not job.status.finished or not isinstance(job.request, StoryRequest):
            raise JobNotFound(f"job {job.id} is no finished story")
        rows = await self._db.fetch(
            "SELECT cast_json FROM casts WHERE job_id = ? AND created_at >= ?",
            (job.id, self._cutoff()),
        )
        if not rows:
            raise CastExpired(f"the cast of story {job.id} is no longer kept; start a new story")
        return Cast.model_validate_json(rows[0]["cast_json"])

    async def picture(self, cast: Cast) -> bytes:
        """The cast's reference picture (`CastExpired` if its file is gone)."""
        try:
            path = await self._artifacts.local(files_of(cast.job_id), CAST_PICTURE)
        except ArtifactMissing:
            raise CastExpired("that story's characters are no longer kept") from None
        return await asyncio.to_thread(path.read_bytes)

    async def expire(self) -> int:
        """Remove casts older than the keep time, rows and pictures; how many."""
        rows = await self._db.fetch(
            "SELECT job_id FROM casts WHERE created_at < ?", (self._cutoff(),)
        )
        for row in rows:
            job_id = str(row["job_id"])
            with contextlib.suppress(ArtifactMissing):
                await self._artifacts.remove(files_of(job_id))
            await self._db.atomic(_deleting(job_id))
        if rows:
            log.info("casts: %d expired after %g days", len(rows), self.keep_days)
        return len(rows)

    def _cutoff(self) -> str:
        return (datetime.now(UTC) - timedelta(days=self.keep_days)).isoformat()


def _deleting(job_id: str) -> Callable[[Transaction], Awaitable[int]]:
    def delete(tx: Transaction) -> Awaitable[int]:
        return tx.execute("DELETE FROM casts WHERE job_id = ?", (job_id,))

    return delete
