"""The HTTP API's JSON shapes (requests, answers, errors) and the views of a job in them."""

# No `from __future__ import annotations`: FastAPI and pydantic read these annotations at run time.

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

from bot.http_story_shapes import Draft, StoryboardView, StoryView, story_view
from core.models import (
    MAX_SCENES,
    MAX_THEME_CHARS,
    MAX_VIDEO_PROMPT_CHARS,
    MAX_VIDEOS,
    VIDEO_SECONDS,
    Aspect,
    DeliveryRecord,
    Job,
    JobKind,
    JobStatus,
    StoryRequest,
    StoryVideo,
    Style,
    VideoRequest,
    VoiceMode,
)
from core.service import StoredCopy

# A job id in a route's path.
JobIdPath = Annotated[str, PathParam(min_length=1, max_length=64)]

# ---------------------------------------------------------------------------------- shapes


# Numbers and switches are strict (`true` is not 1, "4" is not 4); unknown fields are refused.


class VideoGenerate(BaseModel):
    """`POST /api/videos/generate`: the seed's fields."""

    model_config = ConfigDict(extra="forbid")

    prompt: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_VIDEO_PROMPT_CHARS, pattern=r"\S"),
        Field(description="what the video shows"),
    ]
    aspect_ratio: Literal["16:9", "16:10", "9:16"] = "16:9"
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
    save_to_cloud: bool = Field(
        False, strict=True,
        description="keep the video in the bucket past STORYBOT_KEEP_HOURS, until the job is "
        "deleted (needs object storage: STORYBOT_STORAGE_URL)",
    )  # fmt: skip


class StoryGenerate(BaseModel):
    """`POST /api/stories/generate`: a narrated story video; unset fields take the bot's
    defaults (`STORYBOT_SCENES`, `STORYBOT_ASPECT`, …)."""

    model_config = ConfigDict(extra="forbid")

    theme: Annotated[
        str | None,
        StringConstraints(min_length=1, max_length=MAX_THEME_CHARS, pattern=r"\S"),
        Field(description="what the story is about (optional with sequel_of: what happens next)"),
    ] = None
    hero_image_base64: str | None = Field(
        None,
        description="a photo (PNG or JPEG, base64) of a pet, a toy or a drawing: its subject "
        "becomes the hero of every scene; used for this job only, then deleted",
    )
    sequel_of: str | None = Field(
        None, min_length=1, max_length=64,
        description="the job id of an earlier story of yours: this one continues it, with the "
        "same characters, style, aspect, voice and language",
    )  # fmt: skip
    scenes: int | None = Field(None, ge=1, le=MAX_SCENES, strict=True)
    aspect_ratio: Aspect | None = None
    style: Style | None = None
    voice: str | None = Field(None, min_length=1, max_length=100, description="the narrator's")
    voices: VoiceMode | None = Field(
        None, description="narrator: one voice reads the story; cast: the narrator and a voice "
        "for each character (at most 4), kept by its sequels; unset: STORYBOT_VOICES_DEFAULT",
    )  # fmt: skip
    language: str | None = Field(
        None, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$", description="e.g. en, fr, pt-br"
    )
    captions: bool = Field(True, strict=True)
    animate: bool = Field(
        False, strict=True, description="bring each scene to life (slower; limited per day)"
    )
    preview: bool | None = Field(
        None, strict=True,
        description="stop at a storyboard (the story and its pictures) to redraw a picture or "
        "change a line before the video is made (`POST /api/stories/{job_id}/render`); "
        "unset: STORYBOT_PREVIEW_DEFAULT",
    )  # fmt: skip
    webhook_url: HttpUrl | None = Field(
        None,
        description="POSTed to when the job completes or fails, and when its storyboard is "
        "ready (else STORYBOT_WEBHOOK_URL)",
    )
    save_to_cloud: bool = Field(
        False, strict=True,
        description="keep the video in the bucket past STORYBOT_KEEP_HOURS, until the job is "
        "deleted (needs object storage: STORYBOT_STORAGE_URL)",
    )  # fmt: skip


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
    # With object storage only (absent otherwise).
    remote_uri: str | None = Field(
        None, exclude_if=lambda value: value is None, description="s3://bucket/key (gs://…)"
    )
    presigned_url: str | None = Field(
        None, exclude_if=lambda value: value is None,
        description="a time-limited download URL (STORYBOT_PRESIGNED_URL_MINUTES), no token",
    )  # fmt: skip


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
    story: StoryView | None = Field(
        None,
        description="a story job's title and lines as finally used: the storyboard's while it "
        "waits, the video's once completed",
    )
    storyboard: StoryboardView | None = Field(
        None, description="while the status is awaiting_approval (a preview story)"
    )
    subtitles_url: str | None = Field(
        None, description="a completed story's subtitles (.srt, same token)"
    )


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


def job_view(
    job: Job,
    base_url: str,
    queue_position: int | None = None,
    webhook: DeliveryRecord | None = None,
    copies: Sequence[StoredCopy] = (),
    draft: Draft | None = None,
) -> JobView:
    """The JSON view of a job; `base_url` (ending in /) makes its download URLs absolute;
    `copies` are its videos in object storage, in order; `draft` is a preview story's
    storyboard and lines before it completes."""
    outcome = job.outcome if job.status is JobStatus.COMPLETED else None
    videos = []
    if outcome is not None:
        result = outcome.result
        names = result.video_files
        videos = [
            VideoFile(
                index=index,
                filename=download_name(job, index),
                file_url=f"{base_url}api/videos/file/{job.id}/{index}",
                file_size=outcome.file_sizes[index] if index < len(outcome.file_sizes) else 0,
                duration_seconds=result.duration_s,
                aspect_ratio=job.request.aspect.value,
                dimensions=Dimensions(width=result.width, height=result.height),
                created_at=job.completed_at or job.updated_at,
                remote_uri=copies[index].uri if index < len(copies) else None,
                presigned_url=copies[index].presigned_url if index < len(copies) else None,
            )
            for index in range(len(names))
        ]
    return JobView(
        job_id=job.id,
        kind=job.kind,
        status=job.status,
        message=_message(job, queue_position, len(videos)),
        progress=job.percent,
        queue_position=queue_position,
        videos=videos,
        generation_metadata=_generation(job) if outcome is not None else None,
        error=job.error,
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        completed_at=job.completed_at,
        webhook=_webhook(webhook) if webhook is not None else None,
        story=draft.story if draft is not None else story_view(job),
        storyboard=draft.storyboard if draft is not None else None,
        subtitles_url=_subtitles_url(job, base_url),
    )


def _subtitles_url(job: Job, base_url: str) -> str | None:
    result = job.result if job.status is JobStatus.COMPLETED else None
    if not isinstance(result, StoryVideo) or result.subtitles is None:
        return None
    return f"{base_url}api/stories/{job.id}/subtitles"


def _webhook(record: DeliveryRecord) -> WebhookState:
    return WebhookState(
        delivered=record.state.value == "delivered",
        attempts=[
            WebhookAttempt(at=a.at, status=a.status, error=a.error) for a in record.attempts
        ],
    )


def download_name(job: Job, index: int) -> str:
    """The file name a download gets: `video_<job>_0.mp4`, `story_<job>_0.mp4`."""
    return f"{job.kind.value}_{job.id}_{index}.mp4"


def _message(job: Job, position: int | None, videos: int) -> str:
    result = job.result
    match job.status:
        case JobStatus.PENDING:
            return f"queued, position {position}" if position else "queued"
        case JobStatus.COMPLETED if job.files_removed:
            return "done; the files have expired"
        case JobStatus.COMPLETED if isinstance(result, StoryVideo):
            return f"story video ready: {result.story.title}"
        case JobStatus.COMPLETED:
            return f"{videos} video(s) ready"
        case JobStatus.FAILED | JobStatus.CANCELLED:
            return job.status.value
        case JobStatus.AWAITING_APPROVAL:
            return "storyboard ready: redraw a picture, change a line, or render the video"
        case _:
            return job.message or job.status.value


def _generation(job: Job) -> GenerationMetadata:
    outcome, request = job.outcome, job.request
    assert outcome is not None
    result, models, stages = outcome.result, outcome.models, outcome.stage_s
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
            "voices": request.voices.value,
        }  # fmt: skip
        requested, model = 1, models.get("story", "")
    story = result if isinstance(result, StoryVideo) else None
    return GenerationMetadata(
        model_name=model,
        models=models,
        backend=outcome.backend,
        processing_time=processing,
        generation_time=round(sum(stages.values()), 3) if stages else None,
        stage_times=stages,
        prompt_used=story.story.theme if story else job.subject,
        title=story.story.title if story else None,
        num_videos_requested=requested,
        num_videos_generated=len(outcome.file_sizes),
        animated_scenes=story.animated if story else None,
        config_used=config,
        notes=list(result.notes),
    )


def estimated_seconds(request: StoryRequest | VideoRequest, *, remote: bool) -> int:
    """A rough guess of a job's running time once started (not counting the queue)."""
    if isinstance(request, VideoRequest):
        return 90 if remote else 5 * request.count
    seconds = 20 + 10 * request.scenes if remote else 3 + 4 * request.scenes
    if request.animate:
        seconds += 120 if remote else 3 * request.scenes
    return seconds
