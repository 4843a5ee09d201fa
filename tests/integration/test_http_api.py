"""The HTTP API with a real client against real uvicorn on 127.0.0.1: real runner and store in
tmp_path, the offline providers, a loopback aiohttp server receiving the webhooks."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from aiohttp import web
from PIL import Image

from bot.http_api import HttpApi, token_id
from bot.webhooks import SIGNATURE_HEADER, WebhookSender
from core.config import Settings
from core.errors import ConfigurationError
from core.jobs import Job, JobKind, JobStatus, JobStore, Origin, open_job_store
from core.models import JobId, VideoRequest
from core.pipeline import Pipeline
from core.providers import build_providers
from core.runner import JobRunner, RunnerLimits
from tests.probe import probe

if TYPE_CHECKING:
    from tests.conftest import WaitUntil

TOKEN_A = "token-a-0123456789abcdef"
TOKEN_B = "token-b-0123456789abcdef"
A = {"Authorization": f"Bearer {TOKEN_A}"}
B = {"Authorization": f"Bearer {TOKEN_B}"}
SECRET = "webhook-secret-42"
FINISHED = ("completed", "failed", "cancelled")


@dataclass
class Api:
    client: httpx.AsyncClient
    url: str
    runner: JobRunner
    store: JobStore


@asynccontextmanager
async def running_api(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str] | None = None,
    **limits: Any,
) -> AsyncIterator[Api]:
    """The API as `storybot run` composes it, on a free port; webhooks retry within 0.1 s."""
    env = {
        "STORYBOT_HTTP_PORT": "0",
        "STORYBOT_HTTP_TOKENS": f"{TOKEN_A}, {TOKEN_B}",
        **(env or {}),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(open_job_store(tmp_path / "jobs.db"))
        webhooks = await stack.enter_async_context(
            WebhookSender(
                store, default_url=str(settings.webhook_url) if settings.webhook_url else None,
                secret=secret, first_delay_s=0.05,
            )
        )  # fmt: skip
        runner = await stack.enter_async_context(
            JobRunner(
                store, Pipeline(build_providers(settings)), tmp_path / "jobs",
                RunnerLimits(**{"user_jobs_in_flight": 4, "animated_per_day": 10, **limits}),
            )
        )  # fmt: skip
        runner.on_finished(webhooks.job_finished)
        http = await stack.enter_async_context(HttpApi(runner, settings))
        url = f"http://127.0.0.1:{http.port}"
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))
        yield Api(client, url, runner, store)


async def finished(api: Api, job_id: str, headers: dict[str, str]) -> Any:
    """Poll the status endpoint, as a client would, until the job ends (2 minutes at most)."""
    async with asyncio.timeout(120):
        while True:
            response = await api.client.get(f"/api/videos/status/{job_id}", headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            if body["status"] in FINISHED:
                return body
            await asyncio.sleep(0.2)


async def submit_video(api: Api, headers: dict[str, str], **fields: Any) -> Any:
    body = {"prompt": "a kitten chasing a leaf", "duration_seconds": 4, **fields}
    response = await api.client.post("/api/videos/generate", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


def png(size: tuple[int, int], noise: bool = False) -> bytes:
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) if noise else None
    image = image or Image.new("RGB", size, (200, 120, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# ---------------------------------------------------------------------------------- jobs


async def test_video_job_from_request_to_downloaded_mp4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """202 with the seed's fields → status polling → result with the video's description and
    generation metadata → the MP4 itself, which decodes as H.264 + AAC of the stated size."""
    async with running_api(tmp_path, monkeypatch) as api:
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


async def test_story_job_from_request_to_downloaded_mp4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A story job goes through the same status, result and file endpoints."""
    async with running_api(tmp_path, monkeypatch) as api:
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
        "language": "fr", "captions": True, "animate": False,
    }  # fmt: skip
    assert set(meta["stage_times"]) >= {"story", "pictures", "narration", "assembly"}
    assert video["dimensions"] == {"width": 1080, "height": 1080}
    (tmp_path / "story.mp4").write_bytes(download.content)
    played = probe(tmp_path / "story.mp4")
    assert (played.width, played.height) == (1080, 1080)
    assert abs(played.duration_s - video["duration_seconds"]) < 0.2


async def test_range_request_gives_206_and_the_exact_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Range: bytes=a-b` answers 206 with Content-Range and exactly those bytes; a range past
    the end is a 416, a malformed one a 422 or 400, all JSON."""
    async with running_api(tmp_path, monkeypatch) as api:
        job_id = (await submit_video(api, A))["job_id"]
        await finished(api, job_id, A)
        whole = (await api.client.get(f"/api/videos/file/{job_id}/0", headers=A)).content
        part = await api.client.get(
            f"/api/videos/file/{job_id}/0", headers={**A, "Range": "bytes=100-1123"}
        )
        tail = await api.client.get(
            f"/api/videos/file/{job_id}/0", headers={**A, "Range": "bytes=-10"}
        )
        beyond = await api.client.get(
            f"/api/videos/file/{job_id}/0", headers={**A, "Range": f"bytes={len(whole)}-"}
        )
        pages = await api.client.get(
            f"/api/videos/file/{job_id}/0", headers={**A, "Range": "pages=1-2"}
        )
        backwards = await api.client.get(
            f"/api/videos/file/{job_id}/0", headers={**A, "Range": "bytes=20-10"}
        )
        missing = await api.client.get(f"/api/videos/file/{job_id}/1", headers=A)
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1123/{len(whole)}"
    assert part.headers["content-type"] == "video/mp4"
    assert part.content == whole[100:1124]
    assert (tail.status_code, tail.content) == (206, whole[-10:])
    assert (beyond.status_code, beyond.json()) == (416, {"error": "the range is outside the file"})
    assert beyond.headers["content-range"] == f"bytes */{len(whole)}"
    assert pages.status_code == 422
    assert set(pages.json()["fields"]) == {"Range"}
    assert backwards.status_code == 400
    assert backwards.json() == {"error": "malformed Range header (bytes=START-END)"}
    assert missing.status_code == 404
    assert missing.json() == {"error": "the job has 1 video(s)"}


async def test_delete_cancels_a_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DELETE cancels a queued or running job; its status says so."""
    async with running_api(tmp_path, monkeypatch, max_concurrent_jobs=1) as api:
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


# ---------------------------------------------------------------------------------- access


async def test_requests_without_a_valid_token_get_401(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No token, another scheme or an unknown token: 401 with WWW-Authenticate, as JSON."""
    async with running_api(tmp_path, monkeypatch) as api:
        body = {"prompt": "a kitten"}
        basic = {"Authorization": "Basic eDp5"}
        unknown = {"Authorization": "Bearer nope"}
        longer = {"Authorization": f"Bearer {TOKEN_A}x"}
        refusals = [
            await api.client.post("/api/videos/generate", json=body),
            await api.client.post("/api/videos/generate", json=body, headers=basic),
            await api.client.get("/api/videos/status/abc", headers=unknown),
            await api.client.delete("/api/videos/abc", headers=longer),
        ]
        health = await api.client.get("/health")
        assert await api.store.recent() == []
    for response in refusals:
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {"error": "a valid bearer token is needed"}
    assert health.status_code == 200  # health needs no token


async def test_a_job_is_invisible_to_another_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Token B gets exactly the 404 of an unknown id for token A's job, on every endpoint,
    and cannot cancel it; the job's owner is a digest of the token, never the token."""
    async with running_api(tmp_path, monkeypatch) as api:
        job_id = (await submit_video(api, A))["job_id"]
        await finished(api, job_id, A)
        for path in ("/api/videos/status/{}", "/api/videos/result/{}", "/api/videos/file/{}/0"):
            foreign = await api.client.get(path.format(job_id), headers=B)
            unknown = await api.client.get(path.format("0123456789"), headers=B)
            assert foreign.status_code == unknown.status_code == 404
            assert foreign.json() == {"error": f"no job with id {job_id}"}
        deleted = await api.client.delete(f"/api/videos/{job_id}", headers=B)
        job = await api.store.get(job_id)
        mine = await api.client.get(f"/api/videos/result/{job_id}", headers=A)
    assert deleted.status_code == 404
    assert job.status is JobStatus.COMPLETED
    assert mine.status_code == 200
    assert (job.origin.platform, job.origin.user_id) == ("http", token_id(TOKEN_A))
    assert len(job.origin.user_id) == 16
    assert TOKEN_A not in json.dumps([job.origin.extra, job.metadata])


async def test_without_tokens_loopback_callers_share_one_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No STORYBOT_HTTP_TOKENS: every loopback caller is `local`, headers or not."""
    async with running_api(tmp_path, monkeypatch, env={"STORYBOT_HTTP_TOKENS": ""}) as api:
        job_id = (await submit_video(api, {}))["job_id"]
        async with httpx.AsyncClient(base_url=api.url) as other:
            seen = await other.get(f"/api/videos/status/{job_id}", headers=B)
        health = (await api.client.get("/health")).json()
        await api.client.delete(f"/api/videos/{job_id}")
        job = await api.store.get(job_id)
    assert seen.status_code == 200
    assert job.origin.user_id == "local"
    assert health["auth"] == "loopback"


async def test_without_tokens_the_api_will_not_bind_beyond_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0.0.0.0 without tokens, or a short token, is refused before anything listens."""
    for env, words in [
        ({"STORYBOT_HTTP_HOST": "0.0.0.0", "STORYBOT_HTTP_TOKENS": ""}, "open to anyone"),
        ({"STORYBOT_HTTP_TOKENS": "short"}, "16 characters"),
    ]:
        with pytest.raises(ConfigurationError, match=words):
            async with running_api(tmp_path, monkeypatch, env=env):
                pass


# ---------------------------------------------------------------------------------- errors


async def test_invalid_fields_get_422_with_one_message_per_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each bad field is named with its own message; core refusals keep their message."""
    async with running_api(tmp_path, monkeypatch) as api:
        post = api.client.post
        video = await post("/api/videos/generate", headers=A, json={
            "prompt": "  ", "number_of_videos": 9, "aspect_ratio": "4:3",
            "duration_seconds": 99, "save_to_cloud": True,
        })  # fmt: skip
        story = await post("/api/stories/generate", headers=A, json={
            "scenes": 0, "language": "not a language", "style": "oil", "webhook_url": "ftp://x",
            "animate": "yes",
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
        assert await api.store.recent() == []
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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body over the cap is refused before parsing (declared or chunked); an image that
    decodes to more than STORYBOT_HTTP_MAX_IMAGE_MB is refused too; nothing is queued."""
    env = {"STORYBOT_HTTP_MAX_IMAGE_MB": "0.1"}
    async with running_api(tmp_path, monkeypatch, env=env) as api:
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
        assert await api.store.recent() == []
    refusal = {"error": "the request body is over 0.2 MB; send a smaller image"}
    for response in (declared, chunked):
        assert (response.status_code, response.json()) == (413, refusal)
    assert decoded.status_code == 413
    assert decoded.json() == {"error": "the input image is over 0.1 MB"}


async def test_unknown_routes_and_methods_answer_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errors outside the routes are JSON too; the OpenAPI document and docs page are served."""
    async with running_api(tmp_path, monkeypatch) as api:
        nowhere = await api.client.get("/nowhere")
        method = await api.client.put("/api/videos/generate", headers=A)
        schema = (await api.client.get("/openapi.json")).json()
        docs = await api.client.get("/docs")
    assert (nowhere.status_code, nowhere.json()) == (404, {"error": "Not Found"})
    assert (method.status_code, method.json()) == (405, {"error": "Method Not Allowed"})
    assert set(schema["paths"]) == {
        "/api/videos/generate", "/api/stories/generate", "/api/videos/status/{job_id}",
        "/api/videos/result/{job_id}", "/api/videos/file/{job_id}/{index}",
        "/api/videos/{job_id}", "/health",
    }  # fmt: skip
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


class _BrokenRunner(JobRunner):
    async def get(self, job_id: JobId) -> Job:
        raise RuntimeError(f"disk on fire at /srv/secret/{job_id}")


async def test_an_unexpected_error_is_a_500_without_details(tmp_path: Path) -> None:
    """An exception nobody expected becomes a generic JSON 500: no traceback, no message."""
    from bot.http_api import create_app

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with open_job_store(tmp_path / "jobs.db") as store:
        runner = _BrokenRunner(store, Pipeline(build_providers(settings)), tmp_path / "jobs")
        transport = httpx.ASGITransport(create_app(runner, settings), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            response = await client.get("/api/videos/status/abc")
    assert (response.status_code, response.json()) == (500, {"error": "internal error"})
    assert "fire" not in response.text


# ---------------------------------------------------------------------------------- limits


async def test_limits_answer_429_with_retry_after_per_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per token: the in-flight limit and the daily limit answer 429 with Retry-After; another
    token is not affected; the allow-list answers 403 (waiting will not help)."""
    async with running_api(tmp_path, monkeypatch, user_jobs_in_flight=1) as api:
        first = (await submit_video(api, A))["job_id"]
        busy = await api.client.post("/api/videos/generate", json={"prompt": "x"}, headers=A)
        other = await api.client.post("/api/videos/generate", json={"prompt": "x"}, headers=B)
        for job in (first, other.json()["job_id"]):
            await api.client.delete(f"/api/videos/{job}", headers=A if job == first else B)
    assert busy.status_code == 429
    assert busy.headers["retry-after"] == "60"
    assert "in progress" in busy.json()["error"]
    assert other.status_code == 202

    async with running_api(tmp_path / "day", monkeypatch, user_jobs_per_day=1) as api:
        first = (await submit_video(api, A))["job_id"]
        await api.client.delete(f"/api/videos/{first}", headers=A)
        story = await api.client.post("/api/stories/generate", json={"theme": "x"}, headers=A)
    assert story.status_code == 429
    assert 86_000 < int(story.headers["retry-after"]) <= 86_400
    assert "frees up in" in story.json()["error"]

    allowed = frozenset({"someone-else"})
    async with running_api(tmp_path / "private", monkeypatch, allowed_ids=allowed) as api:
        private = await api.client.post("/api/videos/generate", json={"prompt": "x"}, headers=A)
    assert private.status_code == 403
    assert "retry-after" not in private.headers


async def test_health_reflects_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/health says which back end runs, what it can make, how callers authenticate, whether a
    default webhook is set, and how many jobs wait."""
    env = {"STORYBOT_WEBHOOK_URL": "http://127.0.0.1:9/hook", "STORYBOT_HTTP_MAX_IMAGE_MB": "4"}
    async with running_api(tmp_path, monkeypatch, env=env, max_concurrent_jobs=1) as api:
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


# ---------------------------------------------------------------------------------- webhooks


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that answers 500 to its first `failures` calls."""

    failures: int = 0
    calls: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    accepted: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append((await request.read(), dict(request.headers)))
        if len(self.calls) <= self.failures:
            return web.Response(status=500)
        self.accepted.set()
        return web.Response(status=204)


@asynccontextmanager
async def receiver(failures: int = 0) -> AsyncIterator[tuple[Receiver, str]]:
    hooks = Receiver(failures)
    app = web.Application()
    app.router.add_post("/hook", hooks.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield hooks, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    finally:
        await runner.cleanup()


def signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


async def test_webhook_is_signed_retried_after_a_500_and_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """A job's own webhook_url gets the seed's payload, signed over the raw body; the first
    answer is a 500, so it is sent again; both attempts are recorded on the job."""
    async with (
        receiver(failures=1) as (hooks, url),
        running_api(tmp_path, monkeypatch, env={"STORYBOT_WEBHOOK_SECRET": SECRET}) as api,
    ):
        job_id = (await submit_video(api, A, webhook_url=f"{url}?job=1"))["job_id"]
        await asyncio.wait_for(hooks.accepted.wait(), timeout=120)

        async def recorded_as_delivered() -> Any:  # right after the receiver's answer
            status = (await api.client.get(f"/api/videos/status/{job_id}", headers=A)).json()
            return status if status["webhook"] and status["webhook"]["delivered"] else None

        status = await wait_until(recorded_as_delivered, what="the accepted attempt's record")
        stored = await api.store.get(job_id)
    assert len(hooks.calls) == 2
    (first, first_headers), (body, headers) = hooks.calls
    assert first == body  # the same bytes, the same signature
    assert headers[SIGNATURE_HEADER] == first_headers[SIGNATURE_HEADER] == signature(body)
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert set(sent) >= {"job_id", "status", "content_type", "timestamp", "has_data", "data"}
    assert (sent["job_id"], sent["status"], sent["content_type"]) == (job_id, "completed", "video")
    assert sent["has_data"] is True
    assert sent["data"]["success"] is True
    assert sent["data"]["num_videos"] == 1
    assert sent["data"]["prompt"] == "a kitten chasing a leaf"
    assert sent["data"]["videos"][0]["file_url"] == f"{api.url}/api/videos/file/{job_id}/0"
    assert sent["data"]["metadata"]["model_name"] == "offline camera move"
    attempts = status["webhook"]["attempts"]
    assert [a.get("status") for a in attempts] == [500, 204]
    assert [a["status"] for a in stored.metadata["webhook"]["attempts"]] == [500, 204]
    assert SECRET not in json.dumps(status)
    assert SECRET not in body.decode()


async def test_webhook_of_a_failed_job_goes_to_the_default_url_and_gives_up(
    tmp_path: Path,
) -> None:
    """A failed HTTP job is reported to STORYBOT_WEBHOOK_URL without data; a receiver that
    keeps failing gets the set number of attempts, each recorded; other jobs send nothing."""
    async with (
        receiver(failures=99) as (hooks, url),
        open_job_store(tmp_path / "jobs.db") as store,
        WebhookSender(store, default_url=url, attempts=3, first_delay_s=0.01) as sender,
    ):
        failed = Job(
            JobId("failedjob1"), JobKind.VIDEO, Origin("http", token_id(TOKEN_A)),
            VideoRequest(prompt="a kitten"), status=JobStatus.FAILED, error="the model refused",
        )  # fmt: skip
        cancelled = Job(
            JobId("cancelled1"), JobKind.VIDEO, Origin("http", "local"),
            VideoRequest(prompt="a kitten"), status=JobStatus.CANCELLED,
        )  # fmt: skip
        chat = Job(
            JobId("telegram01"), JobKind.VIDEO, Origin("telegram", "1", "1"),
            VideoRequest(prompt="a kitten"), status=JobStatus.FAILED, error="x",
        )  # fmt: skip
        for job in (failed, cancelled, chat):
            await store.create(job)
            await sender.job_finished(job)
        recorded = (await store.get(failed.id)).metadata["webhook"]
    assert len(hooks.calls) == 3
    sent = json.loads(hooks.calls[0][0])
    assert (sent["status"], sent["has_data"], sent["data"]) == ("failed", False, None)
    assert sent["error"] == "the model refused"
    assert SIGNATURE_HEADER not in hooks.calls[0][1]  # no secret configured: unsigned
    assert recorded["delivered"] is False
    assert [a["status"] for a in recorded["attempts"]] == [500, 500, 500]


async def test_a_restart_goes_on_with_webhooks_a_shutdown_cut_short(tmp_path: Path) -> None:
    """A webhook that had failed once before the process stopped is sent again at the next
    start, within the attempts left; a delivered one and a never-tried one are left alone."""
    async with (
        receiver() as (hooks, url),
        open_job_store(tmp_path / "jobs.db") as store,
        WebhookSender(store, default_url=url, attempts=3, first_delay_s=0.01) as sender,
    ):
        cut_short, delivered, never = (
            Job(
                JobId(name), JobKind.VIDEO, Origin("http", "local"), VideoRequest(prompt="a fox"),
                status=JobStatus.FAILED, error="no video",
            )
            for name in ("cutshort01", "delivered1", "nevertried")
        )  # fmt: skip
        for job in (cut_short, delivered, never):
            await store.create(job)
        failed_once = {"at": "2026-11-22T00:00:00+00:00", "status": 500}
        await store.merge_metadata(
            cut_short.id, webhook={"delivered": False, "attempts": [failed_once]}
        )
        await store.merge_metadata(
            delivered.id, webhook={"delivered": True, "attempts": [failed_once | {"status": 200}]}
        )
        before = asyncio.all_tasks()
        await sender.resume()
        # Every send resume() started runs in a task of its own: once they have all ended,
        # nothing else can come.
        resumed = asyncio.all_tasks() - before
        await asyncio.wait_for(asyncio.gather(*resumed), 30)
        assert hooks.accepted.is_set()
        recorded = (await store.get(cut_short.id)).metadata["webhook"]
    assert [json.loads(body)["job_id"] for body, _ in hooks.calls] == ["cutshort01"]
    assert recorded["delivered"] is True
    assert [a["status"] for a in recorded["attempts"]] == [500, 204]


# ---------------------------------------------------------------------------------- storybot run


SERVING = re.compile(rb"HTTP API on http://127\.0\.0\.1:(\d+)")


async def test_storybot_run_serves_the_api_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`storybot run` with only STORYBOT_HTTP_PORT serves the API beside the runner; SIGTERM
    stops uvicorn with the rest, and the process exits 0."""
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
