"""Object storage (STORYBOT_STORAGE_URL) against a real S3-compatible server on loopback (moto's,
`tests/s3.py`): stories made over the HTTP API end in the bucket with a presigned URL anyone
can download; `save_to_cloud` outlives the expiry sweep until the job is deleted; a worker on
another "machine" resumes a job from the bucket; the local scratch folder always goes."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite
import httpx
import pytest

from bot.cli import main
from core.artifacts import open_artifacts
from core.config import Settings
from core.models import JobId, JobStatus, Origin, StoryRequest
from tests.fakes import FakeIllustrator, FakeNarrator, fake_providers
from tests.gemini_server import FakeGemini
from tests.http_client import A, finished, running_api, submit_video
from tests.processes import serving
from tests.s3 import SECRET_KEY, S3Bucket

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot, WaitUntil

OUTPUTS = {"story.mp4", "story.jpg", "story.srt", "story.json"}  # what a story keeps
KEY = "storage-key"


async def story(api: Any, theme: str, **fields: Any) -> str:
    """POST a two-scene story (plus `fields`); its job id."""
    body = {"theme": theme, "scenes": 2, **fields}
    accepted = await api.client.post("/api/stories/generate", json=body, headers=A)
    assert accepted.status_code == 202, accepted.text
    job_id: str = accepted.json()["job_id"]
    return job_id


def names(bucket: S3Bucket, job_id: str) -> set[str]:
    """The file names the bucket holds for a job."""
    return {key.rpartition("/")[2] for key in bucket.keys(f"{job_id}/")}


async def test_a_story_over_http_ends_in_the_bucket(
    storybot: OpenStoryBot,
    monkeypatch: pytest.MonkeyPatch,
    s3_bucket: S3Bucket,
    wait_until: WaitUntil,
    clean_env: Path,
) -> None:
    """The video, its thumbnail, subtitles and story are in the bucket (the work files are
    not); the result names the object (`remote_uri`) and a presigned URL on the endpoint's
    scheme that downloads the same MP4 as the API, without a token; nothing stays on disk."""
    async with running_api(storybot, monkeypatch) as api:
        job_id = await story(api, "a cat and a dog")
        assert (await finished(api, job_id, A))["status"] == "completed"
        await wait_until(  # the worker's last moves: work files out of the bucket, scratch gone
            lambda: (
                names(s3_bucket, job_id) == OUTPUTS
                and not (clean_env / "scratch" / job_id).exists()
            ),
            what="the job's files to settle",
            interval=0.1,
        )
        result = (await api.client.get(f"/api/videos/result/{job_id}", headers=A)).json()
        (video,) = result["videos"]
        via_api = await api.client.get(video["file_url"], headers=A)
        health = (await api.client.get("/health")).json()
    async with httpx.AsyncClient() as anyone:
        via_bucket = await anyone.get(video["presigned_url"])
    key = f"{job_id}/story.mp4"
    assert video["remote_uri"] == f"s3://{s3_bucket.name}/jobs/{key}"
    assert video["presigned_url"].startswith(f"{s3_bucket.endpoint}/{s3_bucket.name}/jobs/{key}?")
    assert "X-Amz-Expires=3600" in video["presigned_url"]  # STORYBOT_PRESIGNED_URL_MINUTES=60
    assert via_bucket.status_code == 200
    assert via_bucket.headers["content-type"] == "video/mp4"
    assert via_bucket.content[4:8] == b"ftyp"
    assert via_bucket.content == via_api.content
    assert len(via_bucket.content) == video["file_size"] == s3_bucket.keys(key)[key]
    assert "save_to_cloud" in health["features"]
    assert not (clean_env / "jobs").exists()  # no job folder in the data folder at all


async def ended_at(database: Path, job_id: str, when: datetime) -> None:
    """A job's end recorded at `when` (time going by for it; nothing in StoryBot moves it)."""
    async with aiosqlite.connect(database) as db:
        await db.execute(
            "UPDATE jobs SET completed_at = ? WHERE id = ?", (when.isoformat(), job_id)
        )
        await db.commit()


async def test_save_to_cloud_outlives_the_expiry_sweep_until_the_job_is_deleted(
    storybot: OpenStoryBot,
    monkeypatch: pytest.MonkeyPatch,
    s3_bucket: S3Bucket,
    wait_until: WaitUntil,
    clean_env: Path,
) -> None:
    """Two stories end 25 hours ago (past STORYBOT_KEEP_HOURS): the service's own sweep removes
    the plain one from the bucket (its download answers 410), and keeps the one saved to the
    cloud, still downloadable. DELETE on that finished job removes its files, the bucket copy
    included: its download and its presigned URL stop working."""
    async with running_api(storybot, monkeypatch, sweep_interval_s=0.1) as api:
        saved = await story(api, "a fox in the snow", save_to_cloud=True)
        plain = await story(api, "an owl at night")
        for job_id in (saved, plain):
            assert (await finished(api, job_id, A))["status"] == "completed"
        link = (await api.client.get(f"/api/videos/result/{saved}", headers=A)).json()
        presigned = link["videos"][0]["presigned_url"]
        database = Settings(_env_file=None).database  # type: ignore[call-arg]
        long_ago = datetime.now(UTC) - timedelta(hours=25)
        for job_id in (saved, plain):  # `saved` first: a sweep that sees `plain` sees both
            await ended_at(database, job_id, long_ago)

        async def gone(job_id: str) -> bool:
            download = await api.client.get(f"/api/videos/file/{job_id}/0", headers=A)
            return download.status_code == 410 and not names(s3_bucket, job_id)

        await wait_until(
            lambda: gone(plain), timeout=60, what="the sweep to expire `plain`", interval=0.1
        )
        kept = await api.client.get(f"/api/videos/file/{saved}/0", headers=A)
        in_bucket = names(s3_bucket, saved)
        async with httpx.AsyncClient() as anyone:
            assert (await anyone.get(presigned)).status_code == 200
            deleted = await api.client.delete(f"/api/videos/{saved}", headers=A)
            after = await anyone.get(presigned)
        download = await api.client.get(f"/api/videos/file/{saved}/0", headers=A)
    assert kept.status_code == 200
    assert kept.content[4:8] == b"ftyp"
    assert "story.mp4" in in_bucket
    assert deleted.status_code == 200
    assert deleted.json()["status"] == "completed"
    assert "remote_uri" not in deleted.json()["videos"][0]
    assert names(s3_bucket, saved) == set()
    assert after.status_code == 404
    assert download.status_code == 410
    assert not (clean_env / "copies" / saved).exists()  # the API's local copy went too


async def test_save_to_cloud_without_storage_is_a_422_naming_the_setting(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without STORYBOT_STORAGE_URL, `save_to_cloud: true` is refused on both kinds of job with
    the API's 422 shape; results carry no `remote_uri` or `presigned_url` at all."""
    async with running_api(storybot, monkeypatch) as api:
        refused = [
            await api.client.post(path, json={**body, "save_to_cloud": True}, headers=A)
            for path, body in (
                ("/api/stories/generate", {"theme": "a cat"}),
                ("/api/videos/generate", {"prompt": "a cat"}),
            )
        ]
        job_id = (await submit_video(api, A, save_to_cloud=False))["job_id"]
        assert (await finished(api, job_id, A))["status"] == "completed"
        result = (await api.client.get(f"/api/videos/result/{job_id}", headers=A)).json()
    for response in refused:
        assert response.status_code == 422
        assert response.json() == {
            "error": "invalid request: save_to_cloud",
            "fields": {"save_to_cloud": "needs object storage: set STORYBOT_STORAGE_URL"},
        }
    assert "remote_uri" not in result["videos"][0]
    assert "presigned_url" not in result["videos"][0]


async def test_the_scratch_folder_goes_however_a_job_ends(
    storybot: OpenStoryBot, s3_bucket: S3Bucket, wait_until: WaitUntil, clean_env: Path
) -> None:
    """Completed, failed or cancelled, a job leaves no scratch folder; a completed one leaves
    its outputs in the bucket, a failed or cancelled one nothing. A step's file is in the
    bucket as soon as the step is done (the story, while the pictures are being drawn)."""

    def left(job_id: str) -> tuple[set[str], bool]:
        """A job's files in the bucket, and whether its scratch folder is there."""
        return names(s3_bucket, job_id), (clean_env / "scratch" / job_id).exists()

    async def ended_leaving(job_id: JobId, files: set[str]) -> bool:
        return await _ended(bot.service, job_id) and left(job_id) == (files, False)

    gate = asyncio.Event()
    request = StoryRequest(theme="a cat", scenes=2)
    async with storybot(fake_providers(illustrator=FakeIllustrator(gate=gate))) as bot:
        held = await bot.service.submit_story(request, Origin("cli", "u"))
        await wait_until(
            lambda: "story.json" in names(s3_bucket, held.id), what="the story", interval=0.1
        )
        assert (clean_env / "scratch" / held.id / "story.json").is_file()
        cancelled = await bot.service.cancel(held.id)
        gate.set()
        await wait_until(
            lambda: ended_leaving(held.id, set()), what="the cancelled job", interval=0.1
        )
        done = await bot.service.submit_story(request, Origin("cli", "u"))
        await wait_until(
            lambda: ended_leaving(done.id, OUTPUTS), what="the completed job", interval=0.1
        )
        completed = await bot.service.get(done.id)
    async with storybot(fake_providers(narrator=FakeNarrator(fail=True))) as bot:
        broken = await bot.service.submit_story(request, Origin("cli", "u"))
        await wait_until(
            lambda: ended_leaving(broken.id, set()), what="the failed job", interval=0.1
        )
        failed = await bot.service.get(broken.id)
    assert cancelled.status is JobStatus.CANCELLED
    assert completed.status is JobStatus.COMPLETED
    assert failed.status is JobStatus.FAILED
    assert not any((clean_env / "scratch").iterdir())


async def _ended(service: Any, job_id: JobId) -> bool:
    return bool((await service.get(job_id)).status.finished)


async def test_large_files_go_up_in_parts_and_come_back_on_another_machine(
    s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A 12 MB checkpoint goes up as a multipart upload (three 5 MB parts at most); another
    machine (another data folder) checking the job out gets the same bytes in its scratch."""
    data = os.urandom(12 * 1024 * 1024)
    job_id = JobId("bigjob")
    monkeypatch.setenv("STORYBOT_DATA_DIR", str(tmp_path / "one"))
    async with open_artifacts(Settings(_env_file=None)) as here:  # type: ignore[call-arg]
        here.scratch(job_id).mkdir(parents=True)
        (here.scratch(job_id) / "clip.mp4").write_bytes(data)
        await here.persist(job_id)
        await here.release(job_id)
    monkeypatch.setenv("STORYBOT_DATA_DIR", str(tmp_path / "two"))
    async with open_artifacts(Settings(_env_file=None)) as there:  # type: ignore[call-arg]
        folder = await there.checkout(job_id)
        copy = (folder / "clip.mp4").read_bytes()
        await there.release(job_id)
    assert s3_bucket.etag(f"{job_id}/clip.mp4").endswith("-3")
    assert copy == data
    assert not (tmp_path / "one" / "scratch" / job_id).exists()
    assert not folder.exists()


@pytest.mark.parametrize(
    ("setting", "value", "command", "message"),
    [
        ("STORYBOT_STORAGE_URL", "ftp://bucket/jobs", ["jobs"], "must be s3://bucket/prefix"),
        ("AWS_ENDPOINT_URL", "127.0.0.1:9000", ["jobs"], "AWS_ENDPOINT_URL"),
        ("STORYBOT_STORAGE_URL", "s3://no-such-bucket/jobs", ["story", "a cat"], "NoSuchBucket"),
    ],
)
def test_storage_that_cannot_be_used_stops_with_one_line(
    setting: str,
    value: str,
    command: list[str],
    message: str,
    s3_bucket: S3Bucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A wrong URL or endpoint, or a bucket that does not exist: exit code 2 and one line
    naming the setting, before any job; never the secret key."""
    monkeypatch.setenv(setting, value)
    assert main(command) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert message in lines[0]
    assert setting in lines[0]
    assert SECRET_KEY not in captured.err + captured.out


async def test_a_worker_on_another_machine_resumes_a_job_from_the_bucket(
    storybot: OpenStoryBot,
    wait_until: WaitUntil,
    postgres_url: str,
    s3_bucket: S3Bucket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three "machines", each with its own data folder, sharing only the database and the
    bucket: a front end (this process), a `storybot worker` stopped (SIGTERM) once the story
    and narrations are done, and a second worker that finishes the job from the bucket. The
    story and narrations are not made again; each worker's scratch folder is gone; the front
    end downloads the video from the bucket."""
    latency = {"story": 0.3, "image": 4.0, "tts": 0.3}  # pictures take a while: time to stop
    async with FakeGemini(api_key=KEY, latency=latency, image_scale=0.25) as fake:
        shared = {
            "GEMINI_API_KEY": KEY, "GEMINI_BASE_URL": fake.base_url,
            "STORYBOT_DATABASE_URL": postgres_url, "STORYBOT_DATA_DIR": str(tmp_path / "front"),
            "STORYBOT_LOG_LEVEL": "INFO", **s3_bucket.environment(),
        }  # fmt: skip
        for name, value in shared.items():
            monkeypatch.setenv(name, value)
        first, second = tmp_path / "first", tmp_path / "second"
        async with storybot(settings=Settings(), work=False) as front:
            request = StoryRequest(theme="a fox in the snow", scenes=3)
            job = await front.service.submit_story(request, Origin("cli", "u"))
            steps = {"story", "narration:1", "narration:2", "narration:3"}
            env = {**shared, "STORYBOT_DATA_DIR": str(first), "STORYBOT_SHUTDOWN_GRACE_S": "0"}
            with serving(env, tmp_path / "first.log", ["worker"]) as process:
                await wait_until(
                    lambda: _has_steps(front, job.id, steps), timeout=90, what="the narrations"
                )
                process.send_signal(signal.SIGTERM)
                await asyncio.to_thread(process.wait, 30)
            assert not (first / "scratch" / job.id).exists()  # cleaned as the worker stopped
            # The first worker's job is taken over once its heartbeat is this many seconds old.
            env = {**shared, "STORYBOT_DATA_DIR": str(second), "STORYBOT_WORKER_STALL_S": "2"}
            with serving(env, tmp_path / "second.log", ["worker"]):
                await wait_until(
                    lambda: _ended(front.service, job.id), timeout=120, what="the job to end"
                )
                await wait_until(
                    lambda: (
                        names(s3_bucket, job.id) == OUTPUTS
                        and not (second / "scratch" / job.id).exists()
                    ),
                    what="the second worker to tidy up",
                    interval=0.1,
                )
            final = await front.service.get(job.id)
            video = await front.service.file(final, "story.mp4")
            downloaded = video.read_bytes()
        assert final.status is JobStatus.COMPLETED, final.error
        assert len(fake.calls("story")) == 1
        assert len(fake.calls("tts")) == 3
    assert job.id in (tmp_path / "first.log").read_text()  # the first worker had started it
    assert "Starting job" in (tmp_path / "second.log").read_text()
    assert downloaded[4:8] == b"ftyp"
    assert video.is_relative_to(tmp_path / "front")  # the front end's own copy


async def _has_steps(bot: Any, job_id: JobId, steps: set[str]) -> bool:
    return steps <= await bot.store.steps(job_id)
