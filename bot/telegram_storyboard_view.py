"""How a storyboard looks on Telegram: the pictures' captions, the text and buttons of the
storyboard message, the callback data of its buttons (`sb:<action>:<job>[:<scene>]`, at most 64
bytes, naming all a press needs after a restart) and the ids remembered with the job."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core.models import Job, JobId
from core.storyboard import BoardScene, Storyboard

CALLBACK_PATTERN = r"^sb:"
REDRAW, EDIT, RENDER, CANCEL = "r", "e", "go", "x"
_PRESS = re.compile(r"sb:(r|e|go|x):(\w{1,40})(?::(\d{1,2}))?")
_REDRAW_REPLY = re.compile(r"\s*(\d{1,2})\s*[:.)]\s*(.*\S)\s*", re.DOTALL)

# What the storyboard's delivery remembers with the job (`job.origin.extra`).
PHOTOS_KEY = "board_photos"  # the message ids of the scenes' pictures, scene 1 first
DRAWS_KEY = "board_draws"  # each scene's `draws` as its picture shows it
BUTTONS_KEY = "board_message_id"  # the message with the buttons
_EDIT_KEY = "board_edit_{}"  # a "send the new line" prompt's message id → its scene

READY = "🖼️ Your storyboard is ready: check the scenes below before the video is made."
RENDERING = "▶️ Making the video from this storyboard…"
EXPIRED = (
    "⌛ This storyboard waited too long and was cancelled; no video was made. "
    "Send /story to start again."
)
CANCELLED = "🚫 Storyboard cancelled; no video was made."
NOT_YOURS = "Only the person who asked for this story can use these buttons."
GONE = "That story is gone."
REPLY_HOW = (
    "⚠️ To redraw a picture with a wish, reply to the storyboard with the scene number and "
    "the wish, like this: 2: with a red hat"
)


@dataclass(frozen=True, slots=True)
class Press:
    """A storyboard button pressed: what to do, to which job, for which scene."""

    action: str
    job_id: JobId
    scene: int | None = None


def callback(action: str, job_id: str, scene: int | None = None) -> str:
    """A button's callback data (≤ 64 bytes: job ids are short)."""
    return f"sb:{action}:{job_id}" + (f":{scene}" if scene is not None else "")


def read_press(data: str) -> Press | None:
    """The press a button's callback data names; None for data of no storyboard button."""
    match = _PRESS.fullmatch(data)
    if match is None:
        return None
    action, job_id, scene = match.groups()
    if (scene is None) != (action in (RENDER, CANCEL)):
        return None
    return Press(action, JobId(job_id), int(scene) if scene else None)


def read_redraw_reply(text: str) -> tuple[int, str] | None:
    """`2: with a red hat` → (2, "with a red hat"); None for other texts."""
    match = _REDRAW_REPLY.fullmatch(text)
    return (int(match.group(1)), match.group(2)) if match else None


def caption(scene: BoardScene) -> str:
    """A scene picture's caption: its number and line (within Telegram's 1024)."""
    return f"{scene.index}. {scene.script}"[:1024]


def board_text(job: Job, board: Storyboard) -> str:
    """The storyboard message: what the buttons do, and how to redraw with a wish."""
    count = len(board.scenes)
    scenes = "one scene" if count == 1 else f"{count} scenes"
    return (
        f"🖼️ Your storyboard for “{job.subject[:80]}”: {scenes}, nothing narrated yet.\n"
        "🎲 Redraw draws a picture again; ✏️ Edit changes a scene's line. To redraw with a "
        "wish, reply to this message like this: 2: with a red hat\n"
        "▶️ Render makes the video as you see it here."
    )


def keyboard(job_id: str, board: Storyboard, redraws: int) -> InlineKeyboardMarkup:
    """Per scene "🎲 Redraw N" (with the redraws left once some are used) and "✏️ Edit N";
    then "▶️ Render" and "✖ Cancel"."""
    rows = [
        [
            InlineKeyboardButton(
                _redraw_label(scene, redraws), callback_data=callback(REDRAW, job_id, scene.index)
            ),
            InlineKeyboardButton(
                f"✏️ Edit {scene.index}", callback_data=callback(EDIT, job_id, scene.index)
            ),
        ]
        for scene in board.scenes
    ]
    last = [
        InlineKeyboardButton("▶️ Render", callback_data=callback(RENDER, job_id)),
        InlineKeyboardButton("✖ Cancel", callback_data=callback(CANCEL, job_id)),
    ]
    return InlineKeyboardMarkup([*rows, last])


def _redraw_label(scene: BoardScene, redraws: int) -> str:
    label = f"🎲 Redraw {scene.index}"
    if scene.redraws_left >= redraws:
        return label
    return (
        f"{label} (none left)"
        if scene.redraws_left <= 0
        else f"{label} ({scene.redraws_left} left)"
    )


def redrawing(scene: int, hint: str | None) -> str:
    """The storyboard message while scene `scene` is drawn again."""
    return f"🎲 Drawing scene {scene} again" + (f": {hint[:200]}…" if hint else "…")


def edit_prompt(scene: BoardScene) -> str:
    """The force_reply prompt for scene `scene`'s new line."""
    return (
        f"✏️ Send the new line for scene {scene.index} as a reply to this message.\n"
        f"Now: “{scene.script}”"
    )


def edit_key(prompt_id: int) -> str:
    """The key remembering which scene the prompt `prompt_id` asks a line for."""
    return _EDIT_KEY.format(prompt_id)


def message_ids(job: Job, key: str) -> list[int]:
    """Message ids (or counts) remembered under `key` as a comma-separated list."""
    text = job.origin.extra.get(key, "")
    return [int(part) for part in text.split(",") if part.strip().isdigit()]


def joined(values: list[int]) -> str:
    """The form `message_ids` reads."""
    return ",".join(str(value) for value in values)
