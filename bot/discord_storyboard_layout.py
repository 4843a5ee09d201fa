"""How a storyboard looks on Discord, as pure functions: which scenes go in which message, each
message's text and the buttons under the last one, the buttons' custom_ids, and what is
remembered with the job (message ids and the drawings shown) so it all works after a restart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import discord

from core.models import Job, JobId
from core.storyboard import BoardScene, Storyboard

MAX_CONTENT = 2000  # characters of a message's content
MAX_FILES = 10  # attachments per message
_ROW = 5  # buttons per action row (Discord allows 5 rows of 5)
_HEADER = "🖼️ **Storyboard**"
_HINT = "🎲 draws a picture again · ✏️ changes a line · ▶️ Render makes the video"
_ROOM_FOR_FOOTER = 200  # kept free in every message: the last one's footer changes
PREFIX = "sb"  # custom_ids: sb:r:<job>:<n> redraw, sb:e:<job>:<n> edit, sb:l:<job>:<n> the modal
REDRAW, EDIT, LINE, RENDER, CANCEL = "r", "e", "l", "go", "x"
_MESSAGES_KEY, _DRAWS_KEY = "board_messages", "board_draws"


@dataclass(frozen=True, slots=True)
class Press:
    """What a storyboard button (or the line modal) asks for."""

    action: str
    job_id: JobId
    scene: int = 0


def custom_id(action: str, job_id: str, scene: int = 0) -> str:
    """A button's or modal's custom_id naming the job and the action (at most 100 chars)."""
    return f"{PREFIX}:{action}:{job_id}" + (f":{scene}" if scene else "")


def parse(text: str) -> Press | None:
    """The press a custom_id stands for; None for custom_ids that are not the storyboard's."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or parts[0] != PREFIX or not parts[2]:
        return None
    with_scene = parts[1] in (REDRAW, EDIT, LINE)
    if with_scene != (len(parts) == 4) or parts[1] not in (REDRAW, EDIT, LINE, RENDER, CANCEL):
        return None
    if with_scene and not parts[3].isdigit():
        return None
    return Press(parts[1], JobId(parts[2]), int(parts[3]) if with_scene else 0)


@dataclass(frozen=True)
class Layout:
    """The storyboard's messages (id, how many scenes each holds, in order) and the drawing of
    each scene they show (`BoardScene.draws`), as remembered with the job."""

    messages: tuple[tuple[int, int], ...] = ()
    draws: tuple[int, ...] = field(default=())

    @classmethod
    def of(cls, job: Job) -> Layout:
        """What the job remembers (empty before the storyboard was first posted)."""
        extra = job.origin.extra
        try:
            messages = tuple(
                (int(mid), int(count))
                for mid, count in (p.split(":") for p in extra[_MESSAGES_KEY].split(",") if p)
            )
            draws = tuple(int(d) for d in extra.get(_DRAWS_KEY, "").split(",") if d)
        except (KeyError, ValueError):
            return cls()
        return cls(messages, draws)

    @property
    def covers(self) -> int:
        """How many scenes (from the first) the posted messages hold."""
        return sum(count for _, count in self.messages)

    def groups(self) -> list[tuple[int, range]]:
        """Each message id with the scene numbers it holds."""
        found, first = [], 1
        for mid, count in self.messages:
            found.append((mid, range(first, first + count)))
            first += count
        return found

    def posted(self, message_id: int, scenes: Sequence[BoardScene]) -> Layout:
        """With one more message, holding `scenes`."""
        return Layout(
            (*self.messages, (message_id, len(scenes))),
            (*self.draws, *(s.draws for s in scenes)),
        )

    def moved(self, old: int, new: int) -> Layout:
        """With message `old` posted again as `new`."""
        return Layout(tuple((new if m == old else m, c) for m, c in self.messages), self.draws)

    def shown(self, board: Storyboard) -> Layout:
        """With the drawings of `board` shown."""
        return Layout(self.messages, tuple(s.draws for s in board.scenes[: self.covers]))

    def changed(self, board: Storyboard) -> set[int]:
        """The scenes drawn again since they were shown."""
        return {
            s.index for s, shown in zip(board.scenes, self.draws, strict=False) if s.draws != shown
        }

    def extra(self) -> dict[str, str]:
        """What to remember with the job (`JobService.remember`)."""
        return {
            _MESSAGES_KEY: ",".join(f"{mid}:{count}" for mid, count in self.messages),
            _DRAWS_KEY: ",".join(str(d) for d in self.draws),
        }


def line(scene: BoardScene) -> str:
    """A scene's line as the storyboard lists it."""
    return f"**{scene.index}.** {discord.utils.escape_markdown(scene.script)}"


def plan(board: Storyboard, first: int, sizes: Sequence[int], budget: int) -> list[int]:
    """How many scenes, from scene `first`, go in each new message: at most 10 pictures of
    `sizes` bytes, `budget` bytes in all, and the content within Discord's 2000 characters."""
    counts: list[int] = []
    count = total = chars = 0
    for scene, size in zip(board.scenes[first - 1 :], sizes, strict=True):
        length = len(line(scene)) + 1
        if count and (
            count == MAX_FILES
            or total + size > budget
            or chars + length > MAX_CONTENT - _ROOM_FOR_FOOTER - len(_HEADER)
        ):
            counts.append(count)
            count = total = chars = 0
        count, total, chars = count + 1, total + size, chars + length
    if count:
        counts.append(count)
    return counts


def content(board: Storyboard, scenes: range, *, last: bool, footer: str | None = None) -> str:
    """A storyboard message's text: the header (first message), each scene's line, and under
    the last message `footer` (by default what the buttons do). Lines are shortened if edits
    made them too long for one message."""
    top = [_HEADER] if scenes.start == 1 else []
    bottom = [footer if footer is not None else _HINT] if last else []
    lines = [line(board.scene(n)) for n in scenes]
    room = MAX_CONTENT - sum(len(t) + 1 for t in (*top, *bottom)) - len(lines)
    if sum(len(t) for t in lines) > room:
        each = room // len(lines)
        lines = [t if len(t) <= each else t[: each - 1] + "…" for t in lines]
    return "\n".join([*top, *lines, *bottom])


def buttons(job_id: str, board: Storyboard) -> discord.ui.View:
    """🎲 Redraw N and ✏️ Edit N for every scene (five to a row), then ▶️ Render and ✖ Cancel:
    at most 5 rows for up to 10 scenes. A scene with no redraw left has its button disabled."""
    view = discord.ui.View(timeout=None)
    rows = -(-len(board.scenes) // _ROW)
    for scene in board.scenes:
        left = scene.redraws_left
        view.add_item(
            discord.ui.Button(
                label=f"🎲 Redraw {scene.index} ({left} left)" if left else
                f"🎲 Redraw {scene.index} (none left)",
                custom_id=custom_id(REDRAW, job_id, scene.index),
                disabled=left <= 0, row=(scene.index - 1) // _ROW,
            )
        )  # fmt: skip
    for scene in board.scenes:
        view.add_item(
            discord.ui.Button(
                label=f"✏️ Edit {scene.index}", custom_id=custom_id(EDIT, job_id, scene.index),
                row=rows + (scene.index - 1) // _ROW,
            )
        )  # fmt: skip
    for label, action, style in (
        ("▶️ Render", RENDER, discord.ButtonStyle.success),
        ("✖ Cancel", CANCEL, discord.ButtonStyle.danger),
    ):
        view.add_item(
            discord.ui.Button(
                label=label, custom_id=custom_id(action, job_id), style=style, row=2 * rows
            )
        )
    return view


def picture_name(scene: int) -> str:
    """The attachment name of scene `scene`'s picture."""
    return f"scene-{scene:02d}.jpg"
