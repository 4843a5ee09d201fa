"""Sending finished videos to Telegram, with a deliberate outcome for each fault the Bot API
shows: flood control, server errors, a timeout after the upload, 413, a blocked or unknown
chat."""

from __future__ import annotations

import asyncio
import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from telegram import Bot, InputFile, InputMediaVideo, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from core.errors import DeliveryRefused, DeliveryUnconfirmed
from core.models import Job, JobResult
from core.service import JobService

log = logging.getLogger(__name__)

_FLOOD_WAITS = 2  # flood-control waits honoured within one delivery attempt
_SHRINKS = 2  # smaller re-encodes after a 413 from the server
_SHRINK_FACTOR = 0.7  # each one aims at this share of the size that was refused
_REFUSED = ("chat not found", "bot was kicked", "not enough rights", "have no rights")


def retry_seconds(error: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds."""
    with warnings.catch_warnings():  # PTB 22 warns unless PTB_TIMEDELTA is set
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _refused(chat_id: int, error: BadRequest | Forbidden) -> DeliveryRefused:
    return DeliveryRefused(f"Telegram refused chat {chat_id}: {error.message}")


@dataclass(frozen=True, slots=True)
class Upload:
    """One video to send: its file, its bytes, the name it is sent under, its JPEG thumbnail."""

    path: Path
    data: bytes
    name: str
    thumbnail: bytes

    def thumbnail_file(self) -> InputFile:
        """A new part each time: Telegram takes a thumbnail only as an upload of its own."""
        return InputFile(self.thumbnail, filename="thumbnail.jpg", attach=True)


class VideoSender:
    """Sends a job's videos as one message (or album), deciding per fault:

    * 429: wait exactly `retry_after`, at most twice, then leave it to the runner's next try;
    * a timeout (the Bot API cannot say whether the video arrived): send once more, then
      `DeliveryUnconfirmed` — never a third copy;
    * 413 from the server: re-encode smaller and send again, at most twice;
    * 403 (blocked, removed from the group) and 400 "chat not found": `DeliveryRefused`, final;
    * 5xx and other network errors: raised, so the runner retries with back-off.
    """

    def __init__(
        self, bot: Bot, jobs: JobService, *, limit_bytes: int, read_timeout_s: float
    ) -> None:
        self.bot, self.jobs = bot, jobs
        self.limit_bytes, self.read_timeout_s = limit_bytes, read_timeout_s

    async def prepare(self, job: Job, limit_bytes: int | None = None) -> list[Upload]:
        """Each video fitted to the upload limit (the core re-encodes a bigger one), with its
        thumbnail."""
        assert job.result is not None
        paths = await self.jobs.videos(job, limit_bytes or self.limit_bytes)
        names = job.result.video_files  # as stored, not as re-encoded
        return [
            Upload(
                path,
                await asyncio.to_thread(path.read_bytes),
                name,
                await self.jobs.thumbnail(job, n),
            )
            for n, (path, name) in enumerate(zip(paths, names, strict=True))
        ]

    async def send(
        self,
        chat_id: int,
        uploads: list[Upload],
        job: Job,
        caption: str,
        reply_to: int | None,
    ) -> None:
        """Send, applying the policy above."""
        result = job.result
        assert result is not None
        waits = shrinks = 0
        timed_out = False
        while True:
            try:
                await self._send(chat_id, uploads, result, caption, reply_to)
                return
            except RetryAfter as exc:
                waits += 1
                if waits > _FLOOD_WAITS:
                    raise
                await asyncio.sleep(retry_seconds(exc))
            except TimedOut:
                if timed_out:
                    raise DeliveryUnconfirmed(
                        "Telegram did not confirm the upload twice; not sending a third copy"
                    ) from None
                timed_out = True
                log.warning("chat %s: the upload timed out; sending it once more", chat_id)
            except Forbidden as exc:
                raise _refused(chat_id, exc) from None
            except BadRequest as exc:
                if any(words in exc.message.lower() for words in _REFUSED):
                    raise _refused(chat_id, exc) from None
                raise
            except NetworkError as exc:
                if "too large" not in exc.message.lower() or shrinks >= _SHRINKS:
                    raise
                shrinks += 1
                uploads = await self._smaller(uploads, job)

    async def _smaller(self, uploads: list[Upload], job: Job) -> list[Upload]:
        """The uploads re-encoded at a share of the size the server refused."""
        limit = int(max(len(upload.data) for upload in uploads) * _SHRINK_FACTOR)
        log.info("Telegram refused the upload; re-encoding each video under %d bytes", limit)
        return await self.prepare(job, limit)

    async def _send(
        self,
        chat_id: int,
        uploads: list[Upload],
        result: JobResult,
        caption: str,
        reply_to: int | None,
    ) -> None:
        """One video as a video message; several as one album, the caption on the first."""
        shape: dict[str, Any] = {
            "width": result.width, "height": result.height,
            "duration": max(1, round(result.duration_s)), "supports_streaming": True,
        }  # fmt: skip
        options: dict[str, Any] = {
            "reply_parameters": (
                ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
            ),
            "write_timeout": max(30.0, sum(len(u.data) for u in uploads) / 250_000),  # 2 Mbit/s
            "read_timeout": self.read_timeout_s,
        }
        if len(uploads) == 1:
            (upload,) = uploads
            await self.bot.send_video(
                chat_id, InputFile(upload.data, filename=upload.name),
                thumbnail=upload.thumbnail_file(), caption=caption, **shape, **options,
            )  # fmt: skip
            return
        album = [
            InputMediaVideo(
                InputFile(u.data, filename=u.name, attach=True),
                thumbnail=u.thumbnail_file(),
                **shape,
            )
            for u in uploads
        ]
        await self.bot.send_media_group(chat_id, album, caption=caption, **options)
