"""The HTTP API's shapes of a story's storyboard and lines (scenes, edits, redraws), and the
views of a preview job in them: its storyboard while it waits, its story as finally used."""

# No `from __future__ import annotations`: FastAPI and pydantic read these annotations at run time.

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from core.errors import NotAwaitingApproval
from core.models import Job, JobKind, JobStatus, Line, StoryRequest, StoryVideo
from core.service import JobService
from core.storyboard import MAX_LINES, BoardScene, Storyboard

_NARRATOR = "narrator"  # the speaker of the lines no character says (`core.voicing.NARRATOR`)

# ---------------------------------------------------------------------------------- shapes


class LineView(BaseModel):
    """One line of a cast's scene and who says it."""

    speaker: str = Field(description='"narrator", or the name of a character of the story')
    text: str


class VoicedLineView(LineView):
    """One line of a cast's scene, who says it and in which voice."""

    voice: str | None = Field(description="the speaker's voice, the same in every scene")


def _empty(lines: Sequence[object]) -> bool:
    return not lines


class SceneView(BaseModel):
    """One scene of a storyboard; `index` starts at 1."""

    index: int
    narration: str = Field(
        description="the line the narrator will say (as edited); for a cast, the words of "
        "its lines"
    )
    lines: list[LineView] = Field(
        default_factory=list, exclude_if=_empty,
        description='a story told by a cast (`"voices": "cast"`): the scene\'s lines in order, '
        "each with its speaker (absent for a story with one narrator)",
    )  # fmt: skip
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
    lines: list[VoicedLineView] = Field(
        default_factory=list, exclude_if=_empty,
        description='a story told by a cast (`"voices": "cast"`): the scene\'s lines in order, '
        "each with its speaker and voice (absent for a story with one narrator)",
    )  # fmt: skip


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


class LineEdit(BaseModel):
    """One line of a cast's scene, as edited."""

    model_config = ConfigDict(extra="forbid")

    speaker: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description='"narrator", or a character of the story (letter case aside)'
    )
    text: str = Field(
        max_length=2000,
        description="1 to 400 characters once runs of spaces are folded; fit for children",
    )


def _exactly_one_field(schema: dict[str, Any]) -> None:
    """The document says what the validator checks: exactly one of the fields."""
    schema["oneOf"] = [{"required": [name]} for name in schema["properties"]]
    for field in schema["properties"].values():
        field.pop("default", None)  # a field not given is not used: no default


class SceneEdit(BaseModel):
    """`PATCH /api/stories/{job_id}/scenes/{n}`: the scene's new line (`narration`), or, for a
    story told by a cast, its new lines (`lines`): exactly one of them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one_field)

    narration: str = Field(
        "", max_length=2000,
        description="1 to 400 characters once runs of spaces are folded; fit for children "
        "(for a cast's scene: rows of `Speaker: text`, a row without a speaker the narrator's)",
    )  # fmt: skip
    lines: list[LineEdit] = Field(
        default_factory=list, min_length=1, max_length=MAX_LINES,
        description="a cast's scene only: its lines in order, each by the narrator or a "
        "character of the story",
    )  # fmt: skip

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if len(self.model_fields_set & {"narration", "lines"}) != 1:
            raise PydanticCustomError("one_of", "give either narration or lines (exactly one)")
        return self

    @property
    def of_lines(self) -> bool:
        """Whether the edit gives the scene's lines (else its narration)."""
        return "lines" in self.model_fields_set

    def core_lines(self) -> list[Line]:
        """The lines as the core takes them; their speakers and words are the core's to check
        (`jobs.storyboards.edit_lines`), so that a refusal is the core's one message."""
        return [Line.model_construct(speaker=e.speaker, text=e.text) for e in self.lines]


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
    lines = [LineView(speaker=_speaker(line), text=line.text) for line in scene.lines]
    return SceneView(
        index=scene.index, narration=scene.narration, image_prompt=scene.image_prompt,
        picture_url=picture_url(base_url, job, scene.index), redraws_left=scene.redraws_left,
        draws=scene.draws, lines=lines,
    )  # fmt: skip


def _speaker(line: Line) -> str:
    """The line's speaker as the API names it: "narrator" always written so."""
    return _NARRATOR if line.by_narrator else line.speaker


def voiced(lines: Sequence[Line], voices: Mapping[str, str]) -> list[VoicedLineView]:
    """A cast's lines with each speaker's voice from `voices` (`Story.voices`: letter case
    aside; None for a speaker it lacks)."""
    folded = {name.casefold(): voice for name, voice in voices.items()}
    return [
        VoicedLineView(
            speaker=_speaker(ln), text=ln.text, voice=folded.get(_speaker(ln).casefold())
        )
        for ln in lines
    ]


def storyboard_view(base_url: str, job: Job, board: Storyboard) -> StoryboardView:
    """A storyboard as the API shows it."""
    return StoryboardView(scenes=[scene_view(base_url, job, scene) for scene in board.scenes])


def story_view(job: Job) -> StoryView | None:
    """A completed story job's story, as the video tells it."""
    result = job.result if job.status is JobStatus.COMPLETED else None
    if not isinstance(result, StoryVideo):
        return None
    story = result.story
    lines = [
        StoryLine(index=n, narration=scene.narration, lines=voiced(scene.lines, story.voices))
        for n, scene in enumerate(story.scenes, start=1)
    ]
    return StoryView(title=story.title, scenes=lines)


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
    lines = [
        StoryLine(index=s.index, narration=s.narration, lines=voiced(s.lines, board.voices))
        for s in board.scenes
    ]
    story = StoryView(title=board.title or None, scenes=lines)
    waiting = job.status is JobStatus.AWAITING_APPROVAL
    return Draft(story, storyboard_view(base_url, job, board) if waiting else None)
