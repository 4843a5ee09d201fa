"""HTTP front end: the REST job API (FastAPI) over the job runner, served by uvicorn in the bot's
own event loop; it turns JSON into core requests and jobs into JSON, and nothing more."""

# No `from __future__ import annotations`: FastAPI reads the route functions' annotations at
# run time, and the routes are closures over the runner (see `create_app`).

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import math
import socket
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Annotated

import uvicorn
from fastapi import Depends, FastAPI, Header, Request
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import HttpUrl
from starlette.exceptions import HTTPException

from bot.http_guards import (
    BodyLimit,
    FieldErrors,
    Mp4File,
    error_responses,
    install_error_handlers,
)
from bot.http_shapes import (
    Accepted,
    Health,
    JobView,
    StoryGenerate,
    VideoGenerate,
    download_name,
    estimated_seconds,
    job_view,
)
from bot.options import StoryOptions, VideoOptions
from core.config import ProviderChoice, Settings
from core.errors import ConfigurationError, JobNotFound
from core.jobs import Job, JobKind, JobStatus, Origin
from core.models import (
    MAX_VIDEOS,
    Aspect,
    JobId,
)
from core.runner import JobRunner

log = logging.getLogger(__name__)

PLATFORM = "http"
LOCAL_CALLER = "local"  # the one identity of every loopback caller when no token is configured
_BODY_SLACK = 64 * 1024  # room for the JSON around a base64 image
_BYTE_RANGE = r"(\d{1,15}-\d{0,15}|-\d{1,15})"
_BYTE_RANGES = rf"^bytes=\s*{_BYTE_RANGE}(\s*,\s*{_BYTE_RANGE})*\s*$"  # RFC 9110 byte ranges


# ---------------------------------------------------------------------------------- app


def token_id(token: str) -> str:
    """The caller id a token stands for (its jobs' user id): never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or address) is this machine only."""
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host).is_loopback
    return False


def _caller_dependency(settings: Settings) -> Callable[..., Awaitable[str]]:
    """Who is asking: a token's id, or `local` for loopback callers when no token is set."""
    known = [token_id(token) for token in settings.api_tokens]
    if not known:

        async def local_caller(request: Request) -> str:
            if request.client is None or not is_loopback(request.client.host):
                raise HTTPException(403, "this API serves loopback callers only (no tokens set)")
            return LOCAL_CALLER

        return local_caller

    bearer = HTTPBearer(auto_error=False, description="one of STORYBOT_HTTP_TOKENS")

    async def token_caller(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> str:
        if credentials is not None:
            given = token_id(credentials.credentials)
            for caller in known:
                if hmac.compare_digest(given, caller):
                    return caller
        raise HTTPException(401, "a valid bearer token is needed", {"WWW-Authenticate": "Bearer"})

    return token_caller


def _decode_image(text: str, max_bytes: int) -> bytes:
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        image = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise FieldErrors({"input_image_base64": "not valid base64"}) from None
    if not image:
        raise FieldErrors({"input_image_base64": "the image is empty"})
    if len(image) > max_bytes:
        raise HTTPException(413, f"the input image is over {max_bytes / 1024 / 1024:.1f} MB")
    return image


def create_app(runner: JobRunner, settings: Settings) -> FastAPI:
    """The REST API over `runner`; `settings` give its tokens, size limit and story defaults."""
    max_image = int(settings.http_max_image_mb * 1024 * 1024)
    remote = runner.pipeline.providers.label != "offline"
    app = FastAPI(
        title="StoryBot API",
        version="1.0",
        summary="Story videos and short video clips, made as background jobs.",
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, max_bytes=math.ceil(max_image * 4 / 3) + _BODY_SLACK)
    install_error_handlers(app)
    Caller = Annotated[str, Depends(_caller_dependency(settings))]
    JobIdPath = Annotated[str, PathParam(min_length=1, max_length=64)]

    def origin(caller: str, request: Request, webhook_url: HttpUrl | None) -> Origin:
        extra = {"base_url": str(request.base_url)}
        if webhook_url is not None:
            extra["webhook_url"] = str(webhook_url)  # stored with the job: no race with its end
        return Origin(PLATFORM, caller, extra=extra)

    def accepted(job: Job, request: Request) -> Accepted:
        what = "story" if job.kind is JobKind.STORY else "video"
        return Accepted(
            job_id=job.id,
            status=job.status,
            message=f"{what} job queued",
            created_at=job.created_at,
            estimated_duration=estimated_seconds(job.request, remote=remote),
            status_url=f"{request.base_url}api/videos/status/{job.id}",
        )

    async def owned(job_id: str, caller: str) -> Job:
        job = await runner.get(JobId(job_id))
        if job.origin.platform != PLATFORM or job.origin.user_id != caller:
            raise JobNotFound(f"no job with id {job_id}")  # another caller's job is invisible
        return job

    @app.post(
        "/api/videos/generate", status_code=202, tags=["jobs"],
        responses=error_responses(400, 401, 403, 413, 422, 429, 503),
    )  # fmt: skip
    async def generate_video(body: VideoGenerate, request: Request, caller: Caller) -> Accepted:
        """Start a video job: one to four short clips from a prompt (and a first frame)."""
        image = None
        if body.input_image_base64 is not None:
            image = _decode_image(body.input_image_base64, max_image)
        video = VideoOptions(
            aspect=Aspect(body.aspect_ratio), duration=body.duration_seconds,
            negative=body.negative_prompt, people=body.person_generation == "ALLOW_ALL",
            count=body.number_of_videos,
        ).request(body.prompt)  # fmt: skip
        where = origin(caller, request, body.webhook_url)
        return accepted(await runner.submit_video(video, where, image=image), request)

    @app.post(
        "/api/stories/generate", status_code=202, tags=["jobs"],
        responses=error_responses(400, 401, 403, 413, 422, 429, 503),
    )  # fmt: skip
    async def generate_story(body: StoryGenerate, request: Request, caller: Caller) -> Accepted:
        """Start a story job: an illustrated, narrated story video from a theme."""
        options = StoryOptions(
            scenes=body.scenes, aspect=body.aspect_ratio, style=body.style, voice=body.voice,
            language=body.language, captions=body.captions, animate=body.animate,
        )  # fmt: skip
        story = options.request(body.theme, settings)
        where = origin(caller, request, body.webhook_url)
        return accepted(await runner.submit(story, where), request)

    @app.get(
        "/api/videos/status/{job_id}", tags=["jobs"], responses=error_responses(401, 403, 404)
    )
    async def status(job_id: JobIdPath, request: Request, caller: Caller) -> JobView:
        """A job's status and progress (story and video jobs alike)."""
        job = await owned(job_id, caller)
        return job_view(job, str(request.base_url), runner.queue_position(job.id))

    @app.get(
        "/api/videos/result/{job_id}", tags=["jobs"], responses=error_responses(401, 403, 404, 409)
    )
    async def result(job_id: JobIdPath, request: Request, caller: Caller) -> JobView:
        """A completed job with its videos and how they were made."""
        job = await owned(job_id, caller)
        if job.status is not JobStatus.COMPLETED:
            reason = f": {job.error}" if job.error else ""
            raise HTTPException(409, f"the job is {job.status.value}{reason}")
        return job_view(job, str(request.base_url))

    @app.get(
        "/api/videos/file/{job_id}/{index}", tags=["jobs"], response_class=Mp4File,
        responses={
            200: {"content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}},
                  "description": "the MP4"},
            206: {"content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}},
                              "multipart/byteranges": {"schema": {"type": "string"}}},
                  "description": "the requested byte range(s) of the MP4"},
            **error_responses(400, 401, 403, 404, 409, 410, 416),
        },
    )  # fmt: skip
    async def file(
        job_id: JobIdPath,
        index: Annotated[int, PathParam(ge=0, le=MAX_VIDEOS - 1)],
        caller: Caller,
        range_: Annotated[
            str | None,
            Header(alias="Range", pattern=_BYTE_RANGES, description="bytes=0-1023, bytes=-500"),
        ] = None,  # served by Mp4File; declared for the document and checked here
    ) -> Mp4File:
        """One MP4 of a completed job (0 for a story); `Range` requests give 206."""
        job = await owned(job_id, caller)
        if job.status is not JobStatus.COMPLETED:
            raise HTTPException(409, f"the job is {job.status.value}")
        videos = [path for path in job.outputs if path.suffix == ".mp4"]
        if job.metadata.get("files_removed"):
            raise HTTPException(410, "the job's files have expired")
        if index >= len(videos):
            raise HTTPException(404, f"the job has {len(videos)} video(s)")
        if not await asyncio.to_thread(Path.is_file, videos[index]):
            raise HTTPException(410, "the job's files have expired")
        return Mp4File(
            videos[index], media_type="video/mp4", filename=download_name(job, index),
            content_disposition_type="inline",
        )  # fmt: skip

    @app.delete("/api/videos/{job_id}", tags=["jobs"], responses=error_responses(401, 403, 404))
    async def cancel(job_id: JobIdPath, request: Request, caller: Caller) -> JobView:
        """Cancel a queued or running job; a finished one is returned as it is."""
        job = await owned(job_id, caller)
        return job_view(await runner.cancel(job.id), str(request.base_url))

    @app.get("/health", tags=["service"])
    async def health() -> Health:
        """What works with the current configuration; no token needed."""
        credentials = settings.active_provider is ProviderChoice.OFFLINE or bool(
            settings.google_key or settings.use_vertexai
        )
        videos = credentials and runner.pipeline.providers.animator is not None
        features = ["stories"] if credentials else []
        if videos:
            features += ["animated_stories", "videos", "image_to_video"]
        return Health(
            status="healthy",
            backend=runner.pipeline.providers.label,
            story_generation_available=credentials,
            video_generation_available=videos,
            features=[*features, "webhooks", "range_requests"],
            queue_depth=runner.queue_depth,
            max_concurrent_jobs=runner.limits.max_concurrent_jobs,
            auth="bearer" if settings.api_tokens else "loopback",
            default_webhook=settings.webhook_url is not None,
            max_image_mb=settings.http_max_image_mb,
        )

    return app


# ---------------------------------------------------------------------------------- server


class _Server(uvicorn.Server):
    """uvicorn without signal handlers of its own: `storybot run` owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpApi:
    """The HTTP front end of `storybot run`: `async with HttpApi(runner, settings)` binds
    `STORYBOT_HTTP_HOST:STORYBOT_HTTP_PORT` (0: any free port, see `port`) and serves the API
    with uvicorn in the running loop until `stop()` or the end of the block."""

    def __init__(self, runner: JobRunner, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(runner, settings)
        self.port = 0
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "HttpApi":
        host, tokens = self.settings.http_host, self.settings.api_tokens
        if not tokens and not is_loopback(host):
            raise ConfigurationError(
                f"the HTTP API would be open to anyone on {host}: set STORYBOT_HTTP_TOKENS, or "
                "keep STORYBOT_HTTP_HOST on a loopback address (127.0.0.1)"
            )
        if any(len(token) < 16 for token in tokens):
            raise ConfigurationError(
                "each STORYBOT_HTTP_TOKENS token needs 16 characters or more "
                '(python -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            sock = socket.create_server((host, self.settings.http_port or 0), family=family)
        except OSError as exc:
            raise ConfigurationError(
                f"the HTTP API cannot listen on {host}:{self.settings.http_port}: "
                f"{exc.strerror or exc}"
            ) from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, lifespan="off", log_config=None, ws="none", server_header=False,
            timeout_graceful_shutdown=5,
        )  # fmt: skip
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve([sock]), name="storybot-http")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise ConfigurationError("the HTTP API stopped while starting")
            await asyncio.sleep(0.01)
        log.info("HTTP API on http://%s:%d (OpenAPI docs at /docs)", host, self.port)
        if tokens:  # ids, not tokens: what STORYBOT_ADMIN_IDS takes to lift a token's limits
            log.info("HTTP API token ids: %s", ", ".join(token_id(token) for token in tokens))
        return self

    async def stop(self) -> None:
        """Stop taking requests; answers in progress get a few seconds to finish."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = self._task = None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
