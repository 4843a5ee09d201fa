"""The Bot API wire format as the fake Telegram speaks it: the real error descriptions and
limits, the error envelope (`ApiError`), and the records of requests (`Call`) and files."""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden: bot was blocked by the user",
    404: "Not Found", 409: CONFLICT, 413: "Request Entity Too Large",
    500: "Internal Server Error", 502: "Bad Gateway",
}  # fmt: skip
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})  # fmt: skip
DOWNLOAD_LIMIT = 20_000_000  # getFile on the cloud Bot API
PHOTO_SIDES = (90, 320, 800)  # the smaller renditions of a user's photo (longest side, px)
ALBUM_MAX = 10
ALBUM_KINDS = frozenset({"photo", "video", "audio", "document"})
EDIT_MEDIA_KINDS = ("photo", "video", "animation", "audio", "document")
CALLBACK_ANSWER_MAX = 200  # characters of an answerCallbackQuery text
PLACEHOLDER_MAX = 64  # characters of a keyboard's input_field_placeholder


class ApiError(Exception):
    """An error answer: HTTP `status` and the same `error_code`."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        return body | ({"parameters": self.parameters} if self.parameters else {})


def bad_request(description: str) -> ApiError:
    """A 400 `Bad Request: {description}`."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class UploadedFile:
    """One multipart file part as received."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Call:
    """One request: form fields as sent (JSON kept raw), file parts, and what was answered."""

    method: str
    params: dict[str, str]
    files: dict[str, UploadedFile]
    time: float
    http_method: str = "POST"
    status: int = 0  # 0 while being answered, or if the client hung up first
    response: dict[str, Any] | None = None

    def json(self, name: str, default: Any = None) -> Any:
        """The field `name` decoded from JSON (`reply_markup`, `media`, …)."""
        return json.loads(self.params[name]) if name in self.params else default

    def file(self, name: str) -> UploadedFile | None:
        """The part sent as `name`, following `name=attach://<part>` (e.g. `thumbnail`)."""
        value = self.params.get(name, "")
        part = value.removeprefix("attach://") if value.startswith("attach://") else name
        return self.files.get(part)

    def media_files(self) -> list[UploadedFile | None]:
        """The upload behind each item of an album's `media` (None: sent by file_id)."""
        parts = [str(item.get("media", "")) for item in self.json("media", [])]
        return [
            self.files.get(p.removeprefix("attach://")) if p.startswith("attach://") else None
            for p in parts
        ]

    @property
    def result(self) -> Any:
        return (self.response or {}).get("result")

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id", "")
        return int(value) if re.fullmatch(r"-?\d+", value) else None


@dataclass
class StoredFile:
    """A file the fake knows, by `file_id`."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str
    file_name: str | None = None


@dataclass
class ScriptedFault:
    """A scripted error (`status`) or delay for the next call to a method."""

    status: int | None
    description: str
    parameters: dict[str, Any] | None
    delay: float = 0.0
    after: bool = False  # delay the answer after the call took effect (not before)


def utf16_len(text: str) -> int:
    """The length Telegram counts in entities (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """Format, width and height of a picture, or None if it is not one."""
    with contextlib.suppress(Exception), Image.open(io.BytesIO(data)) as image:
        return str(image.format), image.width, image.height
    return None
