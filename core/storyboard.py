"""The storyboard of a preview story: its scenes as the user sees them before the video is
made (each line as edited, each picture's redraws), and how the user's changes apply to the
story. Values only; `core.storyboards` keeps them in the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import InvalidRequest, NotAwaitingApproval, SceneNotFound
from core.models import LongText, Scene, ShortText, Story
from core.safety import check_theme

# The outbox consumers told that a storyboard is ready (or expired): "telegram:storyboard", …
_BOARD_SUFFIX = ":storyboard"
MAX_LINE_CHARS = 400
# Why a storyboard left waiting past STORYBOT_PREVIEW_TTL_H ended (the job's `error`).
EXPIRED = "the storyboard waited too long for approval and was cancelled"
MAX_HINT_CHARS = 300


def board_consumer(consumer: str) -> str:
    """The outbox consumer that shows `consumer`'s storyboards (a platform, the webhook)."""
    return consumer + _BOARD_SUFFIX


def picture_name(scene: int) -> str:
    """The job file holding scene `scene`'s picture (1-based), as the video shows it."""
    return f"scene_{scene:02d}.png"


class BoardScene(BaseModel):
    """One scene on the storyboard; `index` starts at 1."""

    model_config = ConfigDict(frozen=True)

    index: int
    narration: ShortText
    image_prompt: LongText
    redraws_left: int
    draws: int = 1  # how often its picture was drawn: a front end shows what changed
    hint: str | None = None  # the user's words for the last redraw


class Storyboard(BaseModel):
    """Every scene of a story waiting for approval, and whether the user asked to render."""

    model_config = ConfigDict(frozen=True)

    version: Literal[1] = 1
    title: str = ""
    scenes: tuple[BoardScene, ...]
    approved: bool = False
    ready_at: datetime | None = None  # when it last became ready; its time to live runs from here

    @classmethod
    def of_story(cls, story: Story, redraws: int) -> Storyboard:
        """A new storyboard: the story's scenes, each with `redraws` redraws."""
        scenes = tuple(
            BoardScene(
                index=n, narration=s.narration, image_prompt=s.image_prompt, redraws_left=redraws
            )
            for n, s in enumerate(story.scenes, start=1)
        )
        return cls(title=story.title, scenes=scenes)

    def scene(self, index: int) -> BoardScene:
        """Scene `index` (1-based), or `SceneNotFound`."""
        if not 1 <= index <= len(self.scenes):
            raise SceneNotFound(f"the story has scenes 1 to {len(self.scenes)}, not {index}")
        return self.scenes[index - 1]

    def applied(self, story: Story) -> Story:
        """`story` with the lines as edited and each redrawn scene's hint in its prompt."""
        scenes = [
            _with_changes(scene, board)
            for scene, board in zip(story.scenes, self.scenes, strict=True)
        ]
        return story.model_copy(update={"scenes": scenes})

    def redrawn(self, index: int, hint: str | None) -> Storyboard:
        """One redraw of scene `index` used (`NotAwaitingApproval` when none is left)."""
        scene = self.scene(index)
        if scene.redraws_left <= 0:
            raise NotAwaitingApproval(f"scene {index} has no redraws left")
        hint = check_hint(hint)
        changed = scene.model_copy(
            update={"redraws_left": scene.redraws_left - 1, "draws": scene.draws + 1, "hint": hint}
        )
        return self._with(changed)

    def edited(self, index: int, narration: str) -> Storyboard:
        """Scene `index` with a new line (checked by `check_line`)."""
        changed = self.scene(index).model_copy(update={"narration": check_line(narration)})
        return self._with(changed)

    def ready(self) -> Storyboard:
        """The storyboard as it becomes ready again: its time to live starts now."""
        return self.model_copy(update={"ready_at": datetime.now(UTC)})

    def _with(self, scene: BoardScene) -> Storyboard:
        scenes = list(self.scenes)
        scenes[scene.index - 1] = scene
        return self.model_copy(update={"scenes": tuple(scenes)})


def check_line(text: str) -> str:
    """A scene's new line, stripped: 1–400 characters, fit for children (`InvalidRequest`)."""
    line = " ".join(text.split())
    if not line:
        raise InvalidRequest("the new line is empty: write what the narrator should say")
    if len(line) > MAX_LINE_CHARS:
        raise InvalidRequest(
            f"the new line has {len(line)} characters; keep it to {MAX_LINE_CHARS}"
        )
    check_theme(line)
    return line


def check_hint(hint: str | None) -> str | None:
    """A redraw's hint, stripped (None when empty): at most 300 characters, fit for children."""
    text = " ".join((hint or "").split())
    if not text:
        return None
    if len(text) > MAX_HINT_CHARS:
        raise InvalidRequest(f"the hint has {len(text)} characters; keep it to {MAX_HINT_CHARS}")
    check_theme(text)
    return text


def read_board(text: str | None) -> Storyboard | None:
    """The stored storyboard document, if the job has one."""
    if not text:
        return None
    try:
        return Storyboard.model_validate_json(text)
    except ValidationError:  # written by a newer version: no storyboard rather than a crash
        return None


@dataclass(frozen=True, slots=True)
class Drafted:
    """What the pipeline returns for a preview story not yet approved: the story (with the
    storyboard's changes) whose pictures are drawn; narration and the video wait."""

    story: Story


def _with_changes(scene: Scene, board: BoardScene) -> Scene:
    prompt = board.image_prompt
    if board.hint:
        prompt = f"{prompt}. {board.hint}"[:800]
    return scene.model_copy(update={"narration": board.narration, "image_prompt": prompt})
