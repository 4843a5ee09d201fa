"""The REST job API's routes (FastAPI), by concern: starting jobs, reading and cancelling them,
downloading their videos, and the service's health (a story's storyboard: `bot.http_storyboard`).
JSON in, core requests out; jobs in, JSON out — nothing more."""

# No `from __future__ import annotations`: FastAPI reads the route functions' annotations at
# run time, and the routes are closures over the job service (see `create_app`).

import base64
import binascii
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Header, Request
from fastapi import Path as PathParam
from pydantic import HttpUrl
from starlette.exceptions import HTTPException

from bot.http_auth import caller_dependency
from bot.http_guards import (
    BodyLimit,
    FieldErrors,
    Mp4File,
    error_responses,
    install_error_handlers,
)
from bot.http_metrics import add_metrics_route
from bot.http_shapes import (
    Accepted,
    Health,
    JobIdPath,
    JobView,
    StoryGenerate,
    VideoGenerate,
    download_name,
    estimated_seconds,
    job_view,
)
from bot.http_story_shapes import draft_of
from bot.http_storyboard import add_story_routes
from bot.options import StoryOptions, VideoOptions
from core.config import ProviderChoice, Settings
from core.errors import ArtifactMissing, JobNotFound
from core.models import (
    MAX_VIDEOS,
    SEQUEL_THEME,
    WEBHOOK,
    Aspect,
    Job,
    JobId,
    JobKind,
    JobStatus,
    Origin,
)
from core.service import SAVE_TO_CLOUD, JobService

PLATFORM = "http"
_BODY_SLACK = 64 * 1024  # room for the JSON around a base64 image
_BYTE_RANGE = r"(\d{1,15}-\d{0,15}|-\d{1,15})"
_BYTE_RANGES = rf"^bytes=\s*{_BYTE_RANGE}(\s*,\s*{_BYTE_RANGE})*\s*$"  # RFC 9110 byte ranges
_MP4_RESPONSES = {
    200: {"content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}},
          "description": "the MP4"},
    206: {"content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}},
                      "multipart/byteranges": {"schema": {"type": "string"}}},
          "description": "the requested byte range(s) of the MP4"},
    **error_responses(400, 401, 403, 404, 409, 410, 416),
}  # fmt: skip


@dataclass(frozen=True)
class _Api:
    """What every route group needs: the service, the settings, who calls."""

    jobs: JobService
    settings: Settings
    who: Callable[..., Awaitable[str]]  # the caller dependency

    @property
    def max_image(self) -> int:
        return int(self.settings.http_max_image_mb * 1024 * 1024)

    def origin(
        self, caller: str, request: Request, webhook_url: HttpUrl | None, save_to_cloud: bool
    ) -> Origin:
        extra = {"base_url": str(request.base_url)}
        if webhook_url is not None:
            extra["webhook_url"] = str(webhook_url)  # stored with the job: no race with its end
        if save_to_cloud:
            if self.settings.storage_url is None:
                message = "needs object storage: set STORYBOT_STORAGE_URL"
                raise FieldErrors({"save_to_cloud": message})
            extra[SAVE_TO_CLOUD] = "true"
        return Origin(PLATFORM, caller, extra=extra)

    def accepted(self, job: Job, request: Request) -> Accepted:
        what = "story" if job.kind is JobKind.STORY else "video"
        return Accepted(
            job_id=job.id,
            status=job.status,
            message=f"{what} job queued",
            created_at=job.created_at,
            estimated_duration=estimated_seconds(
                job.request, remote=self.jobs.capabilities.remote
            ),
            status_url=f"{request.base_url}api/videos/status/{job.id}",
        )

    async def owned(self, job_id: str, caller: str) -> Job:
        job = await self.jobs.get(JobId(job_id))
        if job.origin.platform != PLATFORM or job.origin.user_id != caller:
            raise JobNotFound(f"no job with id {job_id}")  # another caller's job is invisible
        return job

    async def view(self, job: Job, request: Request, *, position: bool = False) -> JobView:
        where = await self.jobs.queue_position(job.id) if position else None
        webhook = await self.jobs.delivery(job.id, WEBHOOK)
        copies = await self.jobs.copies_in_bucket(job)
        base_url = str(request.base_url)
        draft = await draft_of(self.jobs, job, base_url)
        return job_view(job, base_url, where, webhook, copies, draft)


def create_app(jobs: JobService, settings: Settings) -> FastAPI:
    """The REST API over `jobs`; `settings` give its tokens, size limit and story defaults."""
    api = _Api(jobs, settings, caller_dependency(settings))
    app = FastAPI(
        title="StoryBot API",
        version="1.0",
        summary="Story videos and short video clips, made as background jobs.",
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, max_bytes=math.ceil(api.max_image * 4 / 3) + _BODY_SLACK)
    install_error_handlers(app)
    _generate_routes(app, api)
    _job_routes(app, api)
    _file_route(app, api)
    add_story_routes(app, api)
    _health_route(app, api)
    add_metrics_route(app, jobs, api.who)
    return app


def _decode_image(text: str, max_bytes: int, field: str = "input_image_base64") -> bytes:
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        image = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise FieldErrors({field: "not valid base64"}) from None
    if not image:
        raise FieldErrors({field: "the image is empty"})
    if len(image) > max_bytes:
        what = "input image" if field == "input_image_base64" else "hero photo"
        raise HTTPException(413, f"the {what} is over {max_bytes / 1024 / 1024:.1f} MB")
    return image


def _generate_routes(app: FastAPI, api: _Api) -> None:
    generate_errors = error_responses(400, 401, 403, 413, 422, 429, 503)

    @app.post("/api/videos/generate", status_code=202, tags=["jobs"], responses=generate_errors)
    async def generate_video(
        body: VideoGenerate, request: Request, caller: Annotated[str, Depends(api.who)]
    ) -> Accepted:
        """Start a video job: one to four short clips from a prompt (and a first frame)."""
        image = None
        if body.input_image_base64 is not None:
            image = _decode_image(body.input_image_base64, api.max_image)
        video = VideoOptions(
            aspect=Aspect(body.aspect_ratio), duration=body.duration_seconds,
            negative=body.negative_prompt, people=body.person_generation == "ALLOW_ALL",
            count=body.number_of_videos,
        ).request(body.prompt)  # fmt: skip
        where = api.origin(caller, request, body.webhook_url, body.save_to_cloud)
        return api.accepted(await api.jobs.submit_video(video, where, image=image), request)

    story_errors = error_responses(400, 401, 403, 404, 410, 413, 422, 429, 503)  # + sequel_of

    @app.post("/api/stories/generate", status_code=202, tags=["jobs"], responses=story_errors)
    async def generate_story(
        body: StoryGenerate, request: Request, caller: Annotated[str, Depends(api.who)]
    ) -> Accepted:
        """Start a story job: an illustrated, narrated story video from a theme; with a photo
        whose subject is the hero (`hero_image_base64`), or continuing an earlier story of
        yours (`sequel_of`: 404 for another caller's job, 410 once its cast is no longer kept)."""
        if body.theme is None and body.sequel_of is None:
            raise FieldErrors({"theme": "say what the story is about (or give sequel_of)"})
        if body.sequel_of is not None and body.hero_image_base64 is not None:
            raise FieldErrors({"hero_image_base64": "a sequel keeps the hero it continues"})
        options = StoryOptions(
            scenes=body.scenes, aspect=body.aspect_ratio, style=body.style, voice=body.voice,
            language=body.language, captions=body.captions, animate=body.animate,
            preview=body.preview, voices=body.voices,
        )  # fmt: skip
        story = options.request(body.theme or SEQUEL_THEME, api.settings)
        where = api.origin(caller, request, body.webhook_url, body.save_to_cloud)
        if body.sequel_of is not None:
            job = await api.jobs.submit_sequel(story, where, of=JobId(body.sequel_of))
            return api.accepted(job, request)
        hero = None
        if body.hero_image_base64 is not None:
            hero = _decode_image(body.hero_image_base64, api.max_image, "hero_image_base64")
        return api.accepted(await api.jobs.submit_story(story, where, hero=hero), request)


def _job_routes(app: FastAPI, api: _Api) -> None:
    @app.get(
        "/api/videos/status/{job_id}", tags=["jobs"], responses=error_responses(401, 403, 404)
    )
    async def status(
        job_id: JobIdPath, request: Request, caller: Annotated[str, Depends(api.who)]
    ) -> JobView:
        """A job's status and progress (story and video jobs alike)."""
        return await api.view(await api.owned(job_id, caller), request, position=True)

    @app.get(
        "/api/videos/result/{job_id}", tags=["jobs"], responses=error_responses(401, 403, 404, 409)
    )
    async def result(
        job_id: JobIdPath, request: Request, caller: Annotated[str, Depends(api.who)]
    ) -> JobView:
        """A completed job with its videos and how they were made; a preview story waiting
        for approval, with its storyboard."""
        job = await api.owned(job_id, caller)
        if job.status not in (JobStatus.COMPLETED, JobStatus.AWAITING_APPROVAL):
            reason = f": {job.error}" if job.error else ""
            raise HTTPException(409, f"the job is {job.status.value}{reason}")
        return await api.view(job, request)

    @app.delete("/api/videos/{job_id}", tags=["jobs"], responses=error_responses(401, 403, 404))
    async def cancel(
        job_id: JobIdPath, request: Request, caller: Annotated[str, Depends(api.who)]
    ) -> JobView:
        """Cancel a queued or running job; delete a finished one's files (its videos in the
        bucket included)."""
        job = await api.owned(job_id, caller)
        if job.status.finished:
            await api.jobs.discard_files(job.id)
            return await api.view(await api.jobs.get(job.id), request)
        return await api.view(await api.jobs.cancel(job.id), request)


def _file_route(app: FastAPI, api: _Api) -> None:
    @app.get(
        "/api/videos/file/{job_id}/{index}", tags=["jobs"], response_class=Mp4File,
        responses=_MP4_RESPONSES,
    )  # fmt: skip
    async def file(
        job_id: JobIdPath,
        index: Annotated[int, PathParam(ge=0, le=MAX_VIDEOS - 1)],
        caller: Annotated[str, Depends(api.who)],
        range_: Annotated[
            str | None,
            Header(alias="Range", pattern=_BYTE_RANGES, description="bytes=0-1023, bytes=-500"),
        ] = None,  # served by Mp4File; declared for the document and checked here
    ) -> Mp4File:
        """One MP4 of a completed job (0 for a story); `Range` requests give 206."""
        job = await api.owned(job_id, caller)
        if job.status is not JobStatus.COMPLETED:
            raise HTTPException(409, f"the job is {job.status.value}")
        if job.files_removed:
            raise HTTPException(410, "the job's files have expired")
        names = job.result.video_files if job.result else ()
        if index >= len(names):
            raise HTTPException(404, f"the job has {len(names)} video(s)")
        try:  # with object storage: a local copy, downloaded once and reused while in demand
            path = await api.jobs.file(job, names[index])
        except ArtifactMissing:
            raise HTTPException(410, "the job's files have expired") from None
        return Mp4File(
            path, media_type="video/mp4", filename=download_name(job, index),
            content_disposition_type="inline",
        )  # fmt: skip


def _health_route(app: FastAPI, api: _Api) -> None:
    settings, capabilities = api.settings, api.jobs.capabilities

    @app.get("/health", tags=["service"])
    async def health() -> Health:
        """What works with the current configuration; no token needed."""
        credentials = settings.active_provider is ProviderChoice.OFFLINE or bool(
            settings.google_key or settings.use_vertexai
        )
        videos = credentials and capabilities.can_make_videos
        features = ["stories"] if credentials else []
        if videos:
            features += ["animated_stories", "videos", "image_to_video"]
        if settings.storage_url is not None:
            features.append("save_to_cloud")
        return Health(
            status="healthy",
            backend=capabilities.backend,
            story_generation_available=credentials,
            video_generation_available=videos,
            features=[*features, "webhooks", "range_requests"],
            queue_depth=await api.jobs.queue_depth(),
            max_concurrent_jobs=settings.max_concurrent_jobs,
            auth="bearer" if settings.api_tokens else "loopback",
            default_webhook=settings.webhook_url is not None,
            max_image_mb=settings.http_max_image_mb,
        )
