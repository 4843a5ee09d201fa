"""The HTTP API's shapes of a story's storyboard and lines (scenes, edits, redraws), and the
views of a preview job in them: its storyboard while it waits, its story as finally used."""

# No `from __future__ import annotations`: FastAPI and pydantic read these annotations at run time.

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from core.errors import NotAwaitingApproval
from core.models import Job, JobKind, JobStatus, StoryRequest, StoryVideo
from core.service import JobService
from core.storyboard import BoardScene, Storyboard

# ---------------------------------------------------------------------------------- shapes


class SceneView(BaseModel):
    """One scene of a storyboard; `index` starts at 1."""

    index: int
    narration: str = Field(description="the line the narrator will say (as edited)")
    image_prompt: str = Field(description="what the picture was drawn from")
    picture_url: str = Field(description="the scene's PNG (same token)")
    redraws_left: int
    draws: int = Field(description="how often the picture was drawn: a redraw adds one")


class StoryboardView(BaseModel):
    """A story waiting for approval: redraw a picture, change a line, then render."""

    scenes: list[SceneView]


class StoryLine(BaseModel):
    """One scene's line in the story."""

    index: int
    narration: str


class StoryView(BaseModel):
    """A story's title and its lines, as finally used (the storyboard's while it waits)."""

    title: str | None = Field(description="null if no longer known")
    scenes: list[StoryLine]


class RedrawBody(BaseModel):
    """`POST /api/stories/{job_id}/scenes/{n}/redraw`: an optional hint for the new picture."""

    model_config = ConfigDict(extra="forbid")

    hint: str | None = Field(
        None, max_length=2000,
        description="added to the scene's picture prompt (at most 300 characters once runs of "
        "spaces are folded; fit for children)",
    )  # fmt: skip


class NarrationEdit(BaseModel):
    """`PATCH /api/stories/{job_id}/scenes/{n}`: the scene's new line."""

    model_config = ConfigDict(extra="forbid")

    narration: str = Field(
        max_length=2000,
        description="1 to 400 characters once runs of spaces are folded; fit for children",
    )


# ---------------------------------------------------------------------------------- views


@dataclass(frozen=True, slots=True)
class Draft:
    """A preview job before it completes: its story as the storyboard has it, and the
    storyboard itself while it waits for approval."""

    story: StoryView
    storyboard: StoryboardView | None


def picture_url(base_url: str, job: Job, scene: int) -> str:
    """The download URL of a storyboard scene's picture; `base_url` ends in /."""
    return f"{base_url}api/stories/{job.id}/scenes/{scene}/picture"


def scene_view(base_url: str, job: Job, scene: BoardScene) -> SceneView:
    """One storyboard scene as the API shows it."""
    return SceneView(
        index=scene.index, narration=scene.narration, image_prompt=scene.image_prompt,
        picture_url=picture_url(base_url, job, scene.index), redraws_left=scene.redraws_left,
        draws=scene.draws,
    )  # fmt: skip


def storyboard_view(base_url: str, job: Job, board: Storyboard) -> StoryboardView:
    """A storyboard as the API shows it."""
    return StoryboardView(scenes=[scene_view(base_url, job, scene) for scene in board.scenes])


def story_view(job: Job) -> StoryView | None:
    """A completed story job's story, as the video tells it."""
    result = job.result if job.status is JobStatus.COMPLETED else None
    if not isinstance(result, StoryVideo):
        return None
    lines = [
        StoryLine(index=n, narration=scene.narration)
        for n, scene in enumerate(result.story.scenes, start=1)
    ]
    return StoryView(title=result.story.title, scenes=lines)


async def draft_of(jobs: JobService, job: Job, base_url: str) -> Draft | None:
    """A preview job's story and storyboard, from the drawn storyboard until it completes (or
    ends otherwise); None for any other job."""
    if job.kind is not JobKind.STORY or job.status.finished:
        return None
    if not isinstance(job.request, StoryRequest) or not job.request.preview:
        return None
    try:
        board = await jobs.storyboards.get(job)
    except NotAwaitingApproval:  # not drawn yet
        return None
    lines = [StoryLine(index=s.index, narration=s.narration) for s in board.scenes]
    story = StoryView(title=board.title or None, scenes=lines)
    waiting = job.status is JobStatus.AWAITING_APPROVAL
    return Draft(story, storyboard_view(base_url, job, board) if waiting else None)
