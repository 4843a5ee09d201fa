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
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, Literal

import uvicorn
from fastapi import Depends, FastAPI, Header, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.options import StoryOptions, VideoOptions
from core.config import ProviderChoice, Settings
from core.errors import ConfigurationError, CoreError, InvalidRequest, JobNotFound, ProviderError
from core.jobs import Job, JobKind, JobStatus, Origin
from core.models import (
    MAX_SCENES,
    MAX_THEME_CHARS,
    MAX_VIDEO_PROMPT_CHARS,
    MAX_VIDEOS,
    VIDEO_SECONDS,
    Aspect,
    JobId,
    StoryRequest,
    Style,
    VideoRequest,
)
from core.runner import JobRunner, LimitReached

log = logging.getLogger(__name__)

PLATFORM = "http"
LOCAL_CALLER = "local"  # the one identity of every loopback caller when no token is configured
_BODY_SLACK = 64 * 1024  # room for the JSON around a base64 image
_BYTE_RANGE = r"(\d{1,15}-\d{0,15}|-\d{1,15})"
_BYTE_RANGES = rf"^bytes=\s*{_BYTE_RANGE}(\s*,\s*{_BYTE_RANGE})*\s*$"  # RFC 9110 byte ranges

# ---------------------------------------------------------------------------------- shapes


# Numbers and switches are strict (`true` is not 1, "4" is not 4); unknown fields are refused.


class VideoGenerate(BaseModel):
    """`POST /api/videos/generate`: the seed's fields (`save_to_cloud` is not offered)."""

    model_config = ConfigDict(extra="forbid")

    prompt: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_VIDEO_PROMPT_CHARS),
        Field(description="what the video shows"),
    ]
    aspect_ratio: Literal["16:9", "9:16"] = "16:9"
    number_of_videos: int = Field(1, ge=1, le=MAX_VIDEOS, strict=True)
    duration_seconds: int = Field(
        VIDEO_SECONDS[1], ge=VIDEO_SECONDS[0], le=VIDEO_SECONDS[1], strict=True,
        description="each model rounds it to a length it makes",
    )  # fmt: skip
    person_generation: Literal["ALLOW_ALL", "DENY_ALL"] = "DENY_ALL"
    input_image_base64: str | None = Field(
        None, description="a PNG or JPEG (base64, optionally a data: URL) to use as first frame"
    )
    negative_prompt: str | None = Field(None, max_length=500)
    webhook_url: HttpUrl | None = Field(
        None, description="POSTed to when the job completes or fails (else STORYBOT_WEBHOOK_URL)"
    )


class StoryGenerate(BaseModel):
    """`POST /api/stories/generate`: a narrated story video; unset fields take the bot's
    defaults (`STORYBOT_SCENES`, `STORYBOT_ASPECT`, …)."""

    model_config = ConfigDict(extra="forbid")

    theme: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_THEME_CHARS),
        Field(description="what the story is about"),
    ]
    scenes: int | None = Field(None, ge=1, le=MAX_SCENES, strict=True)
    aspect_ratio: Aspect | None = None
    style: Style | None = None
    voice: str | None = Field(None, min_length=1, max_length=100)
    language: str | None = Field(
        None, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$", description="e.g. en, fr, pt-br"
    )
    captions: bool = Field(True, strict=True)
    animate: bool = Field(
        False, strict=True, description="bring each scene to life (slower; limited per day)"
    )
    webhook_url: HttpUrl | None = Field(
        None, description="POSTed to when the job completes or fails (else STORYBOT_WEBHOOK_URL)"
    )


class Accepted(BaseModel):
    """The answer to a generate request: the job exists and waits for a slot."""

    job_id: str
    status: JobStatus
    message: str
    created_at: datetime
    estimated_duration: int = Field(
        description="a rough guess, in seconds, of how long the job runs once started"
    )
    status_url: str


class Dimensions(BaseModel):
    """Frame size in pixels."""

    width: int
    height: int


class VideoFile(BaseModel):
    """One MP4 of a completed job."""

    index: int
    filename: str
    file_url: str = Field(description="download URL (range requests supported)")
    file_size: int
    format: Literal["mp4"] = "mp4"
    duration_seconds: float
    aspect_ratio: str
    dimensions: Dimensions
    created_at: datetime


class GenerationMetadata(BaseModel):
    """How a completed job was made."""

    model_name: str
    models: dict[str, str]
    backend: str
    processing_time: float | None = Field(description="seconds from start to finish")
    generation_time: float | None = Field(description="seconds spent in the pipeline's stages")
    stage_times: dict[str, float]
    prompt_used: str
    title: str | None = None
    num_videos_requested: int
    num_videos_generated: int
    animated_scenes: int | None = None
    config_used: dict[str, str | int | bool | None]
    notes: list[str]


class WebhookAttempt(BaseModel):
    """One POST of the webhook: the HTTP status it got, or why it got none."""

    at: datetime
    status: int | None = None
    error: str | None = None


class WebhookState(BaseModel):
    """The job's webhook so far."""

    delivered: bool
    attempts: list[WebhookAttempt]


class JobView(BaseModel):
    """A job as the status and result endpoints show it (the seed's shape)."""

    job_id: str
    kind: JobKind
    status: JobStatus
    message: str
    progress: int = Field(ge=0, le=100)
    queue_position: int | None = None
    videos: list[VideoFile]
    generation_metadata: GenerationMetadata | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    webhook: WebhookState | None = None


class Health(BaseModel):
    """What this API can do right now."""

    status: Literal["healthy"]
    backend: str
    story_generation_available: bool
    video_generation_available: bool
    features: list[str]
    queue_depth: int = Field(description="jobs waiting for a slot")
    max_concurrent_jobs: int
    auth: Literal["bearer", "loopback"]
    default_webhook: bool = Field(description="STORYBOT_WEBHOOK_URL is set")
    max_image_mb: float


class ErrorBody(BaseModel):
    """Every error: a message, and for 422 one message per field."""

    error: str
    fields: dict[str, str] | None = None


# ---------------------------------------------------------------------------------- views


def job_view(job: Job, base_url: str, queue_position: int | None = None) -> JobView:
    """The JSON view of a job; `base_url` (ending in /) makes its download URLs absolute."""
    meta = job.metadata
    completed = job.status is JobStatus.COMPLETED
    files = [path for path in job.outputs if path.suffix == ".mp4"] if completed else []
    sizes = meta.get("file_sizes", [])
    aspect = job.request.aspect.value
    videos = [
        VideoFile(
            index=index,
            filename=download_name(job, index),
            file_url=f"{base_url}api/videos/file/{job.id}/{index}",
            file_size=sizes[index] if index < len(sizes) else 0,
            duration_seconds=float(meta.get("duration_s", 0.0)),
            aspect_ratio=aspect,
            dimensions=Dimensions(width=meta.get("width", 0), height=meta.get("height", 0)),
            created_at=job.completed_at or job.updated_at,
        )
        for index in range(len(files))
    ]
    webhook = meta.get("webhook")
    return JobView(
        job_id=job.id,
        kind=job.kind,
        status=job.status,
        message=_message(job, queue_position, len(videos)),
        progress=job.percent,
        queue_position=queue_position,
        videos=videos,
        generation_metadata=_generation(job) if completed else None,
        error=job.error,
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        completed_at=job.completed_at,
        webhook=WebhookState.model_validate(webhook) if webhook else None,
    )


def download_name(job: Job, index: int) -> str:
    """The file name a download gets: `video_<job>_0.mp4`, `story_<job>_0.mp4`."""
    return f"{job.kind.value}_{job.id}_{index}.mp4"


def _message(job: Job, position: int | None, videos: int) -> str:
    match job.status:
        case JobStatus.PENDING:
            return f"queued, position {position}" if position else "queued"
        case JobStatus.COMPLETED if job.metadata.get("files_removed"):
            return "done; the files have expired"
        case JobStatus.COMPLETED if job.kind is JobKind.STORY:
            return f"story video ready: {job.metadata.get('title', job.subject)}"
        case JobStatus.COMPLETED:
            return f"{videos} video(s) ready"
        case JobStatus.FAILED | JobStatus.CANCELLED:
            return job.status.value
        case _:
            return job.message or job.status.value


def _generation(job: Job) -> GenerationMetadata:
    meta, request = job.metadata, job.request
    models: dict[str, str] = meta.get("models", {})
    stages: dict[str, float] = meta.get("stage_s", {})
    processing = (
        round((job.completed_at - job.started_at).total_seconds(), 3)
        if job.completed_at and job.started_at
        else None
    )
    config: dict[str, str | int | bool | None]
    if isinstance(request, VideoRequest):
        config = {
            "aspect_ratio": request.aspect.value, "duration_seconds": request.duration_s,
            "person_generation": "ALLOW_ALL" if request.people else "DENY_ALL",
            "number_of_videos": request.count, "negative_prompt": request.negative_prompt,
            "input_image": request.has_image,
        }  # fmt: skip
        requested, model = request.count, models.get("animation", "")
    else:
        config = {
            "scenes": request.scenes, "aspect_ratio": request.aspect.value,
            "style": request.style.value, "voice": request.voice, "language": request.language,
            "captions": request.captions, "animate": request.animate,
        }  # fmt: skip
        requested, model = 1, models.get("story", "")
    return GenerationMetadata(
        model_name=model,
        models=models,
        backend=str(meta.get("providers", "")),
        processing_time=processing,
        generation_time=round(sum(stages.values()), 3) if stages else None,
        stage_times=stages,
        prompt_used=str(meta.get("prompt", job.subject)),
        title=meta.get("title"),
        num_videos_requested=requested,
        num_videos_generated=len(meta.get("file_sizes", [])),
        animated_scenes=meta.get("animated") if job.kind is JobKind.STORY else None,
        config_used=config,
        notes=list(meta.get("notes", [])),
    )


def estimated_seconds(request: StoryRequest | VideoRequest, *, remote: bool) -> int:
    """A rough guess of a job's running time once started (not counting the queue)."""
    if isinstance(request, VideoRequest):
        return 90 if remote else 5 * request.count
    seconds = 20 + 10 * request.scenes if remote else 3 + 4 * request.scenes
    if request.animate:
        seconds += 120 if remote else 3 * request.scenes
    return seconds


# ---------------------------------------------------------------------------------- errors


class _FieldErrors(Exception):
    """A 422 found after parsing (a base64 image that does not decode)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid request")
        self.fields = fields


_DESCRIPTIONS = {
    400: "the body is not text that reads as JSON (e.g. not UTF-8), or a malformed Range",
    401: "no token, or not one of STORYBOT_HTTP_TOKENS",
    403: "refused: not a loopback caller (no tokens configured), the allow-list, or a limit of 0",
    404: "no such job for this token",
    409: "the job has no result (yet)",
    410: "the job's files have expired",
    413: "the body (the input image) is too large",
    416: "the range starts beyond the end of the file",
    422: "invalid fields, one message each",
    429: "a per-token limit; retry after Retry-After seconds",
    503: "this back end cannot do that with the current credentials",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes
    }
    if 429 in responses:
        retry = {"description": "seconds to wait", "schema": {"type": "integer"}}
        responses[429]["headers"] = {"Retry-After": retry}
    return responses


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _field_name(location: tuple[int | str, ...]) -> str:
    parts = (
        location[1:]
        if location and location[0] in ("body", "path", "query", "header")
        else location
    )
    return ".".join(str(part) for part in parts) or "body"


def _install_error_handlers(app: FastAPI) -> None:
    """Every error is JSON with a message; nothing internal (a traceback, a path) leaks."""

    async def invalid_fields(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, RequestValidationError):
            fields: dict[str, str] = {}
            for error in exc.errors():
                json_error = error.get("type") == "json_invalid"  # its loc ends in a position
                name = "body" if json_error else _field_name(tuple(error.get("loc", ())))
                fields[name] = "; ".join(filter(None, (fields.get(name), str(error["msg"]))))
        else:
            assert isinstance(exc, _FieldErrors)
            fields = exc.fields
        body = {"error": "invalid request: " + ", ".join(sorted(fields)), "fields": fields}
        return JSONResponse(body, status_code=422)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail), exc.headers)

    async def core_error(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, LimitReached):
            if exc.retry_after_s is None:  # waiting will not help
                return _error(403, str(exc))
            return _error(429, str(exc), {"Retry-After": str(math.ceil(exc.retry_after_s))})
        if isinstance(exc, InvalidRequest):
            return _error(422, str(exc))
        if isinstance(exc, JobNotFound):
            return _error(404, str(exc))
        if isinstance(exc, ProviderError):  # ConfigurationError among them: these credentials
            return _error(503, str(exc))
        return _error(400, str(exc))

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # The server logs the exception with its traceback (through the redacting handler).
        return _error(500, "internal error")

    app.add_exception_handler(RequestValidationError, invalid_fields)
    app.add_exception_handler(_FieldErrors, invalid_fields)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(CoreError, core_error)
    app.add_exception_handler(Exception, internal_error)


class BodyLimit:
    """Refuses a request body over `max_bytes` with 413 before anything parses it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, or count a chunked body while buffering it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit():
            if int(declared) <= self.max_bytes:
                await self.app(scope, receive, send)
            else:
                await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Read (and drop) a bounded amount of what is still coming, so that a client that sends
        # its whole body before reading gets the answer rather than a reset connection.
        drained = 0
        while drained <= 4 * self.max_bytes:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                break
            drained += len(message.get("body", b""))
        limit = self.max_bytes / 1024 / 1024
        response = _error(413, f"the request body is over {limit:.1f} MB; send a smaller image")
        await response(scope, receive, send)


class Mp4File(FileResponse):
    """An MP4 download (Starlette serves `Range` requests); its range errors answer JSON like
    every other error, where Starlette would answer plain text."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the file, or replace a 4xx Starlette produced with our JSON error."""
        start: Message = {}

        async def hold_errors(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            if start.get("status", 200) < 400:
                await send(message)

        await super().__call__(scope, receive, hold_errors)
        status = int(start.get("status", 200))
        if status < 400:
            return
        if status == 416:  # keep Starlette's `Content-Range: bytes */SIZE`
            size = dict(start.get("headers", [])).get(b"content-range", b"").decode()
            headers = {"Content-Range": size} if size else None
            await _error(416, "the range is outside the file", headers)(scope, receive, send)
        else:
            await _error(status, "malformed Range header (bytes=START-END)")(scope, receive, send)


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
        raise _FieldErrors({"input_image_base64": "not valid base64"}) from None
    if not image:
        raise _FieldErrors({"input_image_base64": "the image is empty"})
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
    _install_error_handlers(app)
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
        responses=_errors(400, 401, 403, 413, 422, 429, 503),
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
        responses=_errors(400, 401, 403, 413, 422, 429, 503),
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

    @app.get("/api/videos/status/{job_id}", tags=["jobs"], responses=_errors(401, 403, 404))
    async def status(job_id: JobIdPath, request: Request, caller: Caller) -> JobView:
        """A job's status and progress (story and video jobs alike)."""
        job = await owned(job_id, caller)
        return job_view(job, str(request.base_url), runner.queue_position(job.id))

    @app.get("/api/videos/result/{job_id}", tags=["jobs"], responses=_errors(401, 403, 404, 409))
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
            **_errors(400, 401, 403, 404, 409, 410, 416),
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

    @app.delete("/api/videos/{job_id}", tags=["jobs"], responses=_errors(401, 403, 404))
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
