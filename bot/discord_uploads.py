"""Discord upload limits: which videos go in which message, each file fitted to the limit.

Discord documents the limit per file ("The file upload size limit applies to each file in a
request", https://discord.com/developers/docs/reference#uploading-files): the interaction's
`attachment_size_limit`, by default 10 MiB from 2025-01-16 and 20 MiB from 2026-09-03, more in
boosted servers. A message also carries at most 10 attachments, and "the maximum request size
when sending a message is 25 MiB" (Create Message), which a boosted server's bigger files
must be allowed to exceed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.models import Job, JobResult, StoryVideo
from core.service import JobService

# One file of a message: where it is, and the name it is sent under.
Upload = tuple[Path, str]

MARGIN = 0.95  # aim a little under a limit: it is Discord's to enforce, not ours to graze
MAX_ATTACHMENTS = 10
MAX_REQUEST_BYTES = 25 * 1024 * 1024
SHRINK_STEP = 0.75  # after a 413 below every documented limit: try a quarter smaller
# The per-file limits Discord has documented (defaults and boost tiers), largest first: where
# to step down to when an upload is refused as too large although it was within the limit.
KNOWN_LIMITS = (100 * 1024 * 1024, 50 * 1024 * 1024, 20 * 1024 * 1024, 10 * 1024 * 1024)


def names_of(result: JobResult) -> list[str]:
    """The names users see for a job's videos, in order."""
    if isinstance(result, StoryVideo):
        return ["story.mp4"]
    if len(result.videos) == 1:
        return ["video.mp4"]
    return [f"video-{n}.mp4" for n in range(1, len(result.videos) + 1)]


def budget(limit: int) -> int:
    """How many bytes one message may carry in all, with files of at most `limit` bytes."""
    return max(int(MAX_REQUEST_BYTES * MARGIN), limit)


async def plan(
    jobs: JobService, job: Job, first: int, limit: int, request_limit: int
) -> list[list[Upload]]:
    """The job's videos from index `first` as messages: each file fitted to `limit` bytes by
    the core (`RenderError` when even the smallest rendition is too big), in order, as many
    per message as fit `request_limit` and the attachment count."""
    assert job.result is not None
    names = names_of(job.result)[first:]
    fitted = await jobs.videos(job, limit, first=first)
    messages: list[list[Upload]] = []
    batch: list[Upload] = []
    total = 0
    for path, name in zip(fitted, names, strict=True):
        length = (await asyncio.to_thread(path.stat)).st_size
        if batch and (total + length > request_limit or len(batch) == MAX_ATTACHMENTS):
            messages.append(batch)
            batch, total = [], 0
        batch.append((path, name))
        total += length
    if batch:
        messages.append(batch)
    return messages


async def smaller_limit(batch: list[Upload]) -> int:
    """The limit to try after Discord refused `batch` as too large (413, code 40005): the next
    documented limit below its biggest file, else three quarters of that file."""
    biggest = max([(await asyncio.to_thread(path.stat)).st_size for path, _ in batch])
    below = [int(known * MARGIN) for known in KNOWN_LIMITS if known * MARGIN < biggest]
    return max(below) if below else int(biggest * SHRINK_STEP)
