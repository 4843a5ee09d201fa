"""A database written before the typed state (m001 only) opens with its jobs carried over: the
result document rebuilt from the old metadata (subtitles included), the flags, the platform's
delivery and the webhook's tries moved to the outbox."""

from __future__ import annotations

import json
from pathlib import Path

import aiosqlite

from core.models import WEBHOOK, Delivery, JobStatus, StoryRequest, StoryVideo
from core.store import open_job_store
from core.store_schema import m001_jobs

STORY = {
    "title": "Mimi and Rex", "theme": "a cat and a dog", "style": "storybook", "language": "en",
    "scenes": [{"image_prompt": "p", "narration": "Hello.", "character_description": "c"}],
}  # fmt: skip
OLD_METADATA = {
    "keep_files": False, "providers": "offline", "models": {"story": "offline templates"},
    "stage_s": {"story": 0.1}, "file_size": 1234, "file_sizes": [1234], "duration_s": 2.4,
    "width": 1280, "height": 720, "notes": [], "title": "Mimi and Rex",
    "prompt": "a cat and a dog", "animated": 0, "scene_starts_s": [0.0], "story": STORY,
    "webhook": {"delivered": False, "attempts": [{"at": "2026-11-01T10:00:00+00:00",
                                                  "status": 500}]},
}  # fmt: skip


async def write_old_database(path: Path) -> None:
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        await db.execute("BEGIN")
        await m001_jobs(db)
        await db.execute("INSERT INTO _migrations VALUES ('m001_jobs', '2026-11-01')")
        for job_id, platform, delivery in (("tg1", "telegram", "delivering"), ("h1", "http", "")):
            await db.execute(
                "INSERT INTO jobs (id, kind, platform, user_id, chat_id, origin, request, status,"
                " percent, message, created_at, updated_at, outputs, metadata, delivery,"
                " delivery_attempts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    job_id, "story", platform, "u", "c", json.dumps({"chat_id": "c", "extra": {}}),
                    StoryRequest(theme="a cat and a dog").model_dump_json(), "completed", 100,
                    "done", "2026-11-01T10:00:00+00:00", "2026-11-01T10:00:00+00:00",
                    json.dumps([f"/data/jobs/{job_id}/story.{ext}" for ext in ("mp4", "jpg")]),
                    json.dumps(OLD_METADATA), delivery or "pending", 2,
                ),
            )  # fmt: skip
        await db.execute("COMMIT")


async def test_old_jobs_read_back_typed(tmp_path: Path) -> None:
    await write_old_database(tmp_path / "storybot.db")
    async with open_job_store(tmp_path / "storybot.db") as store:
        telegram, http = await store.get("tg1"), await store.get("h1")
        webhook = await store.delivery("h1", WEBHOOK)
    assert telegram.status is JobStatus.COMPLETED
    result = telegram.result
    assert isinstance(result, StoryVideo)
    assert (result.video, result.thumbnail, result.subtitles) == (
        "story.mp4", "story.jpg", "story.srt",
    )  # fmt: skip
    assert result.story.title == "Mimi and Rex"
    assert telegram.outcome is not None
    assert telegram.outcome.file_sizes == (1234,)
    assert (telegram.delivery, telegram.delivery_attempts) == (Delivery.DELIVERING, 2)
    assert http.delivery is Delivery.DELIVERED  # the stored file is an HTTP job's delivery
    assert webhook is not None
    assert (webhook.state, webhook.tries) == (Delivery.PENDING, 1)
    assert [attempt.status for attempt in webhook.attempts] == [500]
