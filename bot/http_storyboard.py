"""The REST routes of a story's storyboard and lines: a scene's picture, redraw a picture,
change a line, render the video, and a completed story's subtitles. Parse, call the job
service's storyboard desk, answer the job's view; the rules are the core's."""

# No `from __future__ import annotations`: FastAPI reads the route functions' annotations at
# run time, and the routes are closures over the API's context (see `add_story_routes`).

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParam
from starlette.exceptions import HTTPException

from bot.http_guards import FieldErrors, Mp4File, error_responses
from bot.http_shapes import JobIdPath, JobView
from bot.http_story_shapes import RedrawBody, SceneEdit, SceneView, scene_view
from core.errors import ArtifactMissing, InvalidRequest, LimitReached, NotAwaitingApproval
from core.models import Job, JobStatus, StoryRequest, StoryVideo
from core.service import JobService

SceneNumber = Annotated[int, PathParam(description="the scene's number; the first is 1")]

_TAG = "storyboards"
_NOT_WAITING = (
    "the job does not wait for approval (no storyboard, being drawn or rendered, or ended), "
    "or the scene has no redraws left"
)
_NO_SCENE = "no such job for this token, or no such scene"


def _file(media_type: str, what: str) -> dict[str, Any]:
    content = {media_type: {"schema": {"type": "string", "format": "binary"}}}
    return {"content": content, "description": what}


_PICTURE_RESPONSES = {
    200: _file("image/png", "the scene's picture"),
    **error_responses(401, 403, 404, 410, 422, described={
        404: "no such job for this token, no storyboard, or no such scene",
        410: "the storyboard's pictures are no longer kept (rendered, cancelled or expired)",
    }),
}  # fmt: skip
_SUBTITLES_RESPONSES = {
    200: _file("application/x-subrip", "the subtitles (SubRip, UTF-8)"),
    **error_responses(401, 403, 404, 409, 410, described={
        404: "no such job for this token, or a job without subtitles",
    }),
}  # fmt: skip


class StoryApi(Protocol):
    """What these routes need of the API (`bot.http_routes`): the service, who calls, the
    caller's own job, and a job's view."""

    @property
    def jobs(self) -> JobService:
        """The job service."""
        ...

    @property
    def who(self) -> Callable[..., Awaitable[str]]:
        """The caller dependency."""
        ...

    async def owned(self, job_id: str, caller: str) -> Job:
        """The caller's job (`JobNotFound` for anyone else's)."""
        ...

    async def view(self, job: Job, request: Request, *, position: bool = False) -> JobView:
        """The job as the status endpoint shows it."""
        ...


def add_story_routes(app: FastAPI, api: StoryApi) -> None:
    """The storyboard routes and the subtitles download."""
    _picture_route(app, api)
    _action_routes(app, api)
    _subtitles_route(app, api)


async def _preview(api: StoryApi, job_id: str, caller: str) -> Job:
    """The caller's job, if it is a preview story (`NotAwaitingApproval`, a 409, otherwise)."""
    job = await api.owned(job_id, caller)
    if not isinstance(job.request, StoryRequest) or not job.request.preview:
        raise NotAwaitingApproval('that job has no storyboard (ask for one with "preview": true)')
    return job


def _picture_route(app: FastAPI, api: StoryApi) -> None:
    @app.get(
        "/api/stories/{job_id}/scenes/{scene}/picture", tags=[_TAG], response_class=Mp4File,
        responses=_PICTURE_RESPONSES,
    )  # fmt: skip
    async def picture(
        job_id: JobIdPath, scene: SceneNumber, caller: Annotated[str, Depends(api.who)]
    ) -> Mp4File:
        """One scene's picture (PNG) of a storyboard, as it is now."""
        job = await api.owned(job_id, caller)
        try:
            path = await api.jobs.storyboards.picture(job, scene)
        except NotAwaitingApproval:
            raise HTTPException(404, "that job has no storyboard") from None
        except ArtifactMissing:
            raise HTTPException(410, "the storyboard's pictures are no longer kept") from None
        return Mp4File(
            path, media_type="image/png", filename=f"story_{job.id}_scene_{scene:02d}.png",
            content_disposition_type="inline",
        )  # fmt: skip


def _action_routes(app: FastAPI, api: StoryApi) -> None:
    desk = api.jobs.storyboards
    described = {404: _NO_SCENE, 409: _NOT_WAITING}

    @app.post(
        "/api/stories/{job_id}/scenes/{scene}/redraw", status_code=202, tags=[_TAG],
        responses=error_responses(400, 401, 403, 404, 409, 422, 429, described=described),
    )  # fmt: skip
    async def redraw(
        job_id: JobIdPath,
        scene: SceneNumber,
        request: Request,
        caller: Annotated[str, Depends(api.who)],
        body: RedrawBody | None = None,
    ) -> JobView:
        """Draw one scene's picture again, with the same reference picture (and `hint` added
        to its prompt): the job goes back to work (`pending`, `generating`) and returns to
        `awaiting_approval` with only that picture new; a few redraws per scene
        (STORYBOT_PREVIEW_REDRAWS)."""
        job = await _preview(api, job_id, caller)
        try:
            await desk.redraw(job, scene, body.hint if body is not None else None)
        except LimitReached:
            raise
        except InvalidRequest as exc:  # the hint
            raise FieldErrors({"hint": str(exc)}) from None
        return await api.view(await api.jobs.get(job.id), request)

    @app.patch(
        "/api/stories/{job_id}/scenes/{scene}", tags=[_TAG],
        responses=error_responses(400, 401, 403, 404, 409, 422, described=described),
    )  # fmt: skip
    async def edit(
        job_id: JobIdPath,
        scene: SceneNumber,
        body: SceneEdit,
        request: Request,
        caller: Annotated[str, Depends(api.who)],
    ) -> SceneView:
        """Change one scene's line (`narration`): the narrator says it, the subtitles show it;
        or, in a story told by a cast, the scene's lines (`lines`), each said in its speaker's
        voice and shown as `Speaker: text` (an unknown speaker is a 422)."""
        job = await _preview(api, job_id, caller)
        field = "lines" if body.of_lines else "narration"
        try:
            if body.of_lines:
                changed = await desk.edit_lines(job, scene, body.core_lines())
            else:
                changed = await desk.edit(job, scene, body.narration)
        except InvalidRequest as exc:
            raise FieldErrors({field: str(exc)}) from None
        return scene_view(str(request.base_url), job, changed)

    @app.post(
        "/api/stories/{job_id}/render", status_code=202, tags=[_TAG],
        responses=error_responses(401, 403, 404, 409, 429, described={409: _NOT_WAITING}),
    )  # fmt: skip
    async def render(
        job_id: JobIdPath, request: Request, caller: Annotated[str, Depends(api.who)]
    ) -> JobView:
        """Make the video from the storyboard as it is (nothing drawn is drawn again): the job
        runs to `completed` as any story does, its webhook fires then."""
        job = await _preview(api, job_id, caller)
        await desk.render(job)
        return await api.view(await api.jobs.get(job.id), request)


def _subtitles_route(app: FastAPI, api: StoryApi) -> None:
    @app.get(
        "/api/stories/{job_id}/subtitles", tags=["jobs"], response_class=Mp4File,
        responses=_SUBTITLES_RESPONSES,
    )  # fmt: skip
    async def subtitles(job_id: JobIdPath, caller: Annotated[str, Depends(api.who)]) -> Mp4File:
        """A completed story's subtitles (.srt): each scene's line with its times."""
        job = await api.owned(job_id, caller)
        if job.status is not JobStatus.COMPLETED:
            raise HTTPException(409, f"the job is {job.status.value}")
        result = job.result
        if not isinstance(result, StoryVideo) or result.subtitles is None:
            raise HTTPException(404, "the job has no subtitles")
        if job.files_removed:
            raise HTTPException(410, "the job's files have expired")
        try:
            path = await api.jobs.file(job, result.subtitles)
        except ArtifactMissing:
            raise HTTPException(410, "the job's files have expired") from None
        return Mp4File(
            path, media_type="application/x-subrip", filename=f"story_{job.id}.srt",
            content_disposition_type="inline",
        )  # fmt: skip
