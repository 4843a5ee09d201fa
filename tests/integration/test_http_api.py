"""The HTTP API's jobs with a real client against real uvicorn on 127.0.0.1: the core as
`storybot run` builds it on this test's data folder, the offline providers. Starting jobs,
their status and results, cancelling, refusals, limits and health; downloads and ranges are in
test_http_files.py, tokens in test_http_auth.py, webhooks in test_http_webhooks.py."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from bot.http_api import create_app
from core.config import Settings
from core.models import JobId
from tests.http_client import SECRET, TOKEN_A, A, B, finished, png, running_api, submit_video
from tests.probe import probe

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot

# ---------------------------------------------------------------------------------- jobs


async def test_video_job_from_request_to_downloaded_mp4(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """202 with the seed's fields → status polling → result with the video's description and
    generation metadata → the MP4 itself, which decodes as H.264 + AAC of the stated size."""
    async with running_api(storybot, monkeypatch) as api:
        image = base64.b64encode(png((720, 1280))).decode()
        accepted = await submit_video(
            api, A, aspect_ratio="9:16", input_image_base64=image, person_generation="ALLOW_ALL"
        )
        assert set(accepted) >= {"job_id", "status", "message", "created_at", "estimated_duration"}
        assert accepted["status"] == "pending"
        assert isinstance(accepted["estimated_duration"], int)
        assert accepted["estimated_duration"] > 0
        status = await finished(api, accepted["job_id"], A)
        assert (status["status"], status["progress"], status["error"]) == ("completed", 100, None)
        assert status["completed_at"] is not None
        response = await api.client.get(f"/api/videos/result/{accepted['job_id']}", headers=A)
        assert response.status_code == 200
        result = response.json()
        (video,) = result["videos"]
        assert video["format"] == "mp4"
        assert video["aspect_ratio"] == "9:16"
        assert video["dimensions"] == {"width": 720, "height": 1280}
        assert video["filename"] == f"video_{accepted['job_id']}_0.mp4"
        assert video["file_url"] == f"{api.url}/api/videos/file/{accepted['job_id']}/0"
        meta = result["generation_metadata"]
        assert meta["model_name"] == "offline camera move"
        assert meta["prompt_used"] == "a kitten chasing a leaf"
        assert meta["config_used"]["person_generation"] == "ALLOW_ALL"
        assert meta["config_used"]["input_image"] is True
        assert meta["num_videos_generated"] == 1
        assert meta["processing_time"] > 0
        download = await api.client.get(video["file_url"], headers=A)
    assert download.status_code == 200
    assert download.headers["content-type"] == "video/mp4"
    assert download.headers["accept-ranges"] == "bytes"
    assert len(download.content) == video["file_size"]
    (tmp_path / "got.mp4").write_bytes(download.content)
    played = probe(tmp_path / "got.mp4")
    assert (played.video_codec, played.audio_codec) == ("h264", "aac")
    assert (played.width, played.height) == (720, 1280)
    assert abs(played.duration_s - video["duration_seconds"]) < 0.2


async def test_a_16_10_video_job_is_1280_by_800(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The REST spec's 16:10: accepted, and made 1280×800 (Veo's 16:9 cropped, see the CLI's
    test; the offline camera draws it at that size)."""
    async with running_api(storybot, monkeypatch) as api:
        accepted = await submit_video(api, A, aspect_ratio="16:10", duration_seconds=4)
        status = await finished(api, accepted["job_id"], A)
        assert status["status"] == "completed"
        result = await api.client.get(f"/api/videos/result/{accepted['job_id']}", headers=A)
        (video,) = result.json()["videos"]
        download = await api.client.get(video["file_url"], headers=A)
    assert video["aspect_ratio"] == "16:10"
    assert video["dimensions"] == {"width": 1280, "height": 800}
    (tmp_path / "wide.mp4").write_bytes(download.content)
    wide = probe(tmp_path / "wide.mp4")
    assert (wide.width, wide.height) == (1280, 800)


async def test_story_job_from_request_to_downloaded_mp4(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A story job goes through the same status, result and file endpoints."""
    async with running_api(storybot, monkeypatch) as api:
        body = {"theme": "a cat and a dog", "scenes": 2, "aspect_ratio": "1:1", "language": "fr"}
        response = await api.client.post("/api/stories/generate", json=body, headers=A)
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        assert (await finished(api, job_id, A))["status"] == "completed"
        result = (await api.client.get(f"/api/videos/result/{job_id}", headers=A)).json()
        (video,) = result["videos"]
        download = await api.client.get(f"/api/videos/file/{job_id}/0", headers=A)
    assert result["kind"] == "story"
    assert result["message"].startswith("story video ready: ")
    meta = result["generation_metadata"]
    assert meta["model_name"] == "offline templates"
    assert meta["title"]
    assert meta["config_used"] == {
        "scenes": 2, "aspect_ratio": "1:1", "style": "storybook", "voice": None,
        "language": "fr", "captions": True, "animate": False, "voices": "narrator",
    }  # fmt: skip
    assert set(meta["stage_times"]) >= {"story", "pictures", "narration", "assembly"}
    assert video["dimensions"] == {"width": 1080, "height": 1080}
    (tmp_path / "story.mp4").write_bytes(download.content)
    played = probe(tmp_path / "story.mp4")
    assert (played.width, played.height) == (1080, 1080)
    assert abs(played.duration_s - video["duration_seconds"]) < 0.2


async def test_delete_cancels_a_job(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DELETE cancels a queued or running job; its status says so."""
    async with running_api(storybot, monkeypatch, max_concurrent_jobs=1) as api:
        first = (await submit_video(api, A))["job_id"]
        second = (await submit_video(api, A))["job_id"]  # waits behind the first
        queued = (await api.client.get(f"/api/videos/status/{second}", headers=A)).json()
        response = await api.client.delete(f"/api/videos/{second}", headers=A)
        result = await api.client.get(f"/api/videos/result/{second}", headers=A)
        await api.client.delete(f"/api/videos/{first}", headers=A)
        assert (await finished(api, first, A))["status"] in ("cancelled", "completed")
    assert (queued["status"], queued["queue_position"]) == ("pending", 1)
    assert queued["message"] == "queued, position 1"
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert result.status_code == 409
    assert result.json() == {"error": "the job is cancelled"}


# ---------------------------------------------------------------------------------- errors


async def test_invalid_fields_get_422_with_one_message_per_field(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each bad field is named with its own message; core refusals keep their message."""
    async with running_api(storybot, monkeypatch) as api:
        post = api.client.post
        video = await post("/api/videos/generate", headers=A, json={
            "prompt": "  ", "number_of_videos": 9, "aspect_ratio": "4:3",
            "duration_seconds": 99, "save_to_cloud": "yes",
        })  # fmt: skip
        story = await post("/api/stories/generate", headers=A, json={
            "theme": "   ", "scenes": 0, "language": "not a language", "style": "oil",
            "webhook_url": "ftp://x", "animate": "yes",
        })  # fmt: skip
        image = await post("/api/videos/generate", headers=A, json={
            "prompt": "a kitten", "input_image_base64": "not base64!",
        })  # fmt: skip
        picture = await post("/api/videos/generate", headers=A, json={
            "prompt": "a kitten", "input_image_base64": base64.b64encode(b"text").decode(),
        })  # fmt: skip
        voice = await post(
            "/api/stories/generate", headers=A, json={"theme": "a cat", "voice": "Nobody"}
        )
        broken = await post(
            "/api/videos/generate", headers={**A, "Content-Type": "application/json"},
            content=b'{"prompt": ',
        )  # fmt: skip
        index = await api.client.get("/api/videos/file/abc/9", headers=A)
        assert await api.jobs.recent() == []
    assert video.status_code == 422
    fields = video.json()["fields"]
    assert set(fields) == {
        "prompt", "number_of_videos", "aspect_ratio", "duration_seconds", "save_to_cloud",
    }  # fmt: skip
    assert fields["number_of_videos"] == "Input should be less than or equal to 4"
    assert story.status_code == 422
    assert set(story.json()["fields"]) == {
        "theme", "scenes", "language", "style", "webhook_url", "animate",
    }  # fmt: skip
    assert image.json()["fields"] == {"input_image_base64": "not valid base64"}
    assert picture.status_code == 422
    assert "PNG or JPEG" in picture.json()["error"]
    assert voice.status_code == 422
    assert "Nobody" in voice.json()["error"] or "voice" in voice.json()["error"]
    assert broken.status_code == 422
    assert broken.json()["fields"] == {"body": "JSON decode error"}
    assert index.status_code == 422
    assert set(index.json()["fields"]) == {"index"}


async def test_oversized_bodies_and_images_get_413(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body over the cap is refused before parsing (declared or chunked); an image that
    decodes to more than STORYBOT_HTTP_MAX_IMAGE_MB is refused too; nothing is queued."""
    env = {"STORYBOT_HTTP_MAX_IMAGE_MB": "0.1"}
    async with running_api(storybot, monkeypatch, env=env) as api:
        huge = base64.b64encode(os.urandom(400_000)).decode()
        declared = await api.client.post(
            "/api/videos/generate", headers=A, json={"prompt": "x", "input_image_base64": huge}
        )

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"prompt": "x", "input_image_base64": "'
            for _ in range(40):
                yield b"A" * 10_000
            yield b'"}'

        chunked = await api.client.post(
            "/api/videos/generate", headers={**A, "Content-Type": "application/json"},
            content=chunks(),
        )  # fmt: skip
        over = png((200, 200), noise=True)  # ~120 kB: its base64 fits the body cap
        assert 0.1 * 1024 * 1024 < len(over) < 0.13 * 1024 * 1024
        decoded = await api.client.post(
            "/api/videos/generate", headers=A,
            json={"prompt": "x", "input_image_base64": base64.b64encode(over).decode()},
        )  # fmt: skip
        assert await api.jobs.recent() == []
    refusal = {"error": "the request body is over 0.2 MB; send a smaller image"}
    for response in (declared, chunked):
        assert (response.status_code, response.json()) == (413, refusal)
    assert decoded.status_code == 413
    assert decoded.json() == {"error": "the input image is over 0.1 MB"}


async def test_unknown_routes_and_methods_answer_json(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errors outside the routes are JSON too; the OpenAPI document and docs page are served."""
    async with running_api(storybot, monkeypatch) as api:
        nowhere = await api.client.get("/nowhere")
        method = await api.client.put("/api/videos/generate", headers=A)
        schema = (await api.client.get("/openapi.json")).json()
        docs = await api.client.get("/docs")
    assert (nowhere.status_code, nowhere.json()) == (404, {"error": "Not Found"})
    assert (method.status_code, method.json()) == (405, {"error": "Method Not Allowed"})
    assert set(schema["paths"]) == {
        "/api/videos/generate", "/api/stories/generate", "/api/videos/status/{job_id}",
        "/api/videos/result/{job_id}", "/api/videos/file/{job_id}/{index}",
        "/api/videos/{job_id}", "/health", "/api/stories/{job_id}/subtitles",
        "/api/stories/{job_id}/scenes/{scene}/picture", "/api/stories/{job_id}/scenes/{scene}",
        "/api/stories/{job_id}/scenes/{scene}/redraw", "/api/stories/{job_id}/render",
    }  # fmt: skip
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_an_unexpected_error_is_a_500_without_details(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception nobody expected becomes a generic JSON 500: no traceback, no message."""

    async def broken(job_id: JobId) -> None:
        raise RuntimeError(f"disk on fire at /srv/secret/{job_id}")

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with storybot(settings=settings, work=False) as bot:
        monkeypatch.setattr(bot.service, "get", broken)
        app = create_app(bot.service, settings)
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            response = await client.get("/api/videos/status/abc")
    assert (response.status_code, response.json()) == (500, {"error": "internal error"})
    assert "fire" not in response.text


# ---------------------------------------------------------------------------------- limits


async def test_limits_answer_429_with_retry_after_per_token(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    """Per token: the in-flight limit and the daily limit answer 429 with Retry-After; another
    token is not affected; the allow-list answers 403 (waiting will not help)."""
    async with running_api(storybot, monkeypatch, user_jobs_in_flight=1) as api:
        first = (await submit_video(api, A))["job_id"]
        busy = await api.client.post("/api/videos/generate", json={"prompt": "x"}, headers=A)
        other = await api.client.post("/api/videos/generate", json={"prompt": "x"}, headers=B)
        for job in (first, other.json()["job_id"]):
            await api.client.delete(f"/api/videos/{job}", headers=A if job == first else B)
    assert busy.status_code == 429
    assert busy.headers["retry-after"] == "60"
    assert "in progress" in busy.json()["error"]
    assert other.status_code == 202

    day = {"STORYBOT_DATA_DIR": str(clean_env / "day")}  # a new database: no jobs yet today
    async with running_api(storybot, monkeypatch, env=day, user_jobs_per_day=1) as api:
        first = (await submit_video(api, A))["job_id"]
        await api.client.delete(f"/api/videos/{first}", headers=A)
        story = await api.client.post("/api/stories/generate", json={"theme": "x"}, headers=A)
    assert story.status_code == 429
    assert 86_000 < int(story.headers["retry-after"]) <= 86_400
    assert "frees up in" in story.json()["error"]

    private = {"STORYBOT_DATA_DIR": str(clean_env / "private")}
    allowed = frozenset({"someone-else"})
    async with running_api(storybot, monkeypatch, env=private, allowed_ids=allowed) as api:
        refused = await api.client.post("/api/videos/generate", json={"prompt": "x"}, headers=A)
    assert refused.status_code == 403
    assert "retry-after" not in refused.headers


async def test_health_reflects_the_configuration(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/health says which back end runs, what it can make, how callers authenticate, whether a
    default webhook is set, and how many jobs wait."""
    env = {
        "STORYBOT_WEBHOOK_URL": "http://127.0.0.1:9/hook", "STORYBOT_HTTP_MAX_IMAGE_MB": "4",
        "STORYBOT_MAX_CONCURRENT_JOBS": "1",
    }  # fmt: skip
    async with running_api(storybot, monkeypatch, env=env) as api:
        idle = (await api.client.get("/health")).json()
        jobs = [(await submit_video(api, A))["job_id"] for _ in range(3)]
        busy = (await api.client.get("/health")).json()
        for job_id in jobs:
            await api.client.delete(f"/api/videos/{job_id}", headers=A)
    assert idle == {
        "status": "healthy", "backend": "offline", "story_generation_available": True,
        "video_generation_available": True,
        "features": ["stories", "animated_stories", "videos", "image_to_video", "webhooks",
                     "range_requests"],
        "queue_depth": 0, "max_concurrent_jobs": 1, "auth": "bearer", "default_webhook": True,
        "max_image_mb": 4.0,
    }  # fmt: skip
    assert busy["queue_depth"] == 2  # one runs, two wait
    assert SECRET not in json.dumps(busy)


# ---------------------------------------------------------------------------------- storybot run


SERVING = re.compile(rb"HTTP API on http://127\.0\.0\.1:(\d+)")


async def test_storybot_run_serves_the_api_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`storybot run` with only STORYBOT_HTTP_PORT serves the API beside the job service;
    SIGTERM stops uvicorn with the rest, and the process exits 0."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STORYBOT_")},
        "STORYBOT_HTTP_PORT": "0", "STORYBOT_DATA_DIR": str(tmp_path / "data"),
        "STORYBOT_HTTP_TOKENS": TOKEN_A, "STORYBOT_SHUTDOWN_GRACE_S": "5",
        "PYTHONPATH": str(Path(__file__).parents[2]),  # run from tmp_path: no checkout .env
    }  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    early = b""
    try:
        # Port 0: the log line saying that the API is up also says on which port.
        async with asyncio.timeout(60):
            while (serving := SERVING.search(early)) is None:
                line = await process.stderr.readline()
                assert line, early.decode()  # the process ended without serving
                early += line
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{int(serving[1])}") as client:
            health = await client.get("/health")
            accepted = await client.post(
                "/api/videos/generate", json={"prompt": "a kitten"}, headers=A
            )
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = (early + stderr).decode()
    assert health.status_code == 200
    assert accepted.status_code == 202
    assert process.returncode == 0, log
    assert "HTTP API on http://127.0.0.1" in log
    assert "stopped; unfinished jobs resume on the next start" in log
    assert TOKEN_A not in log
