"""The storyboard of a preview story: its scenes as the user sees them before the video is
made (each line as edited, each picture's redraws), and how the user's changes apply to the
story. Values only; `core.storyboards` keeps them in the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import InvalidRequest, NotAwaitingApproval, SceneNotFound
from core.models import LongText, Scene, ShortText, Story
from core.safety import check_theme
from core.voicing import NARRATOR, Line, joined_text

# The outbox consumers told that a storyboard is ready (or expired): "telegram:storyboard", …
_BOARD_SUFFIX = ":storyboard"
MAX_LINE_CHARS = 400
# Why a storyboard left waiting past STORYBOT_PREVIEW_TTL_H ended (the job's `error`).
EXPIRED = "the storyboard waited too long for approval and was cancelled"
MAX_HINT_CHARS = 300
MAX_LINES = 12  # lines of one scene of a cast


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
    lines: tuple[Line, ...] = ()  # a cast's lines (`cast` mode), narration being their words

    @property
    def script(self) -> str:
        """The scene's words as a user reads and edits them: a cast's lines one per row, each
        `Speaker: text` (the narrator's bare), else the narration."""
        return "\n".join(line.caption for line in self.lines) if self.lines else self.narration


class Storyboard(BaseModel):
    """Every scene of a story waiting for approval, and whether the user asked to render."""

    model_config = ConfigDict(frozen=True)

    version: Literal[1] = 1
    title: str = ""
    scenes: tuple[BoardScene, ...]
    speakers: tuple[str, ...] = ()  # who may speak a line (`cast` mode): narrator, characters
    voices: dict[str, str] = Field(default_factory=dict)  # speaker → voice (`cast` mode)
    approved: bool = False
    ready_at: datetime | None = None  # when it last became ready; its time to live runs from here

    @classmethod
    def of_story(cls, story: Story, redraws: int) -> Storyboard:
        """A new storyboard: the story's scenes, each with `redraws` redraws."""
        scenes = tuple(
            BoardScene(
                index=n, narration=s.narration, image_prompt=s.image_prompt,
                redraws_left=redraws, lines=s.lines,
            )
            for n, s in enumerate(story.scenes, start=1)
        )  # fmt: skip
        speakers = tuple(story.voices)
        return cls(title=story.title, scenes=scenes, speakers=speakers, voices=story.voices)

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
        """Scene `index` with a new line (checked by `check_line`); for a cast's scene, new
        lines written one per row as `Speaker: text` (a row without a known speaker is the
        narrator's)."""
        if self.scene(index).lines:
            return self.edited_lines(index, parse_lines(narration, self.speakers))
        changed = self.scene(index).model_copy(update={"narration": check_line(narration)})
        return self._with(changed)

    def edited_lines(self, index: int, lines: Sequence[Line]) -> Storyboard:
        """A cast's scene with new lines: each checked, by a speaker of the story."""
        scene = self.scene(index)
        if not scene.lines:
            raise InvalidRequest("this story has one narrator: change the scene's narration")
        if not 1 <= len(lines) <= MAX_LINES:
            raise InvalidRequest(f"a scene has 1 to {MAX_LINES} lines")
        known = {name.casefold(): name for name in (*self.speakers, NARRATOR)}
        checked = []
        for line in lines:
            speaker = known.get(line.speaker.strip().casefold())
            if speaker is None:
                names = ", ".join(sorted(set(known.values())))
                raise InvalidRequest(f"'{line.speaker}' is not in this story (speakers: {names})")
            checked.append(Line(speaker=speaker, text=check_line(line.text)))
        narration = joined_text(checked)
        return self._with(
            scene.model_copy(update={"lines": tuple(checked), "narration": narration})
        )

    def ready(self) -> Storyboard:
        """The storyboard as it becomes ready again: its time to live starts now."""
        return self.model_copy(update={"ready_at": datetime.now(UTC)})

    def _with(self, scene: BoardScene) -> Storyboard:
        scenes = list(self.scenes)
        scenes[scene.index - 1] = scene
        return self.model_copy(update={"scenes": tuple(scenes)})


def parse_lines(text: str, speakers: Sequence[str]) -> list[Line]:
    """Rows of `Speaker: text` (a row without one of `speakers` is the narrator's)."""
    known = {name.casefold(): name for name in speakers}
    lines = []
    for row in text.splitlines():
        name, colon, rest = row.partition(":")
        speaker = known.get(name.strip().casefold()) if colon else None
        words = rest if speaker is not None else row
        if words.strip():
            lines.append(Line(speaker=speaker or NARRATOR, text=" ".join(words.split())[:400]))
    return lines


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
    changes = {"narration": board.narration, "image_prompt": prompt, "lines": board.lines}
    return scene.model_copy(update=changes)
