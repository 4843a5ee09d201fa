"""Files in the fake Telegram: uploads kept by `file_id`, photo sizes, thumbnails, and the
media fields of a sent message (a mixin of `FakeTelegram`).

A thumbnail is honoured only if it is a JPEG of at most 320×320 and 200 kB (else silently
dropped, like Telegram); files can be re-sent by `file_id` and downloaded through `getFile`.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from PIL import Image

from tests.telegram_messages import MessagesMixin
from tests.telegram_wire import (
    PHOTO_SIDES,
    WRONG_FILE,
    Call,
    StoredFile,
    UploadedFile,
    bad_request,
    image_size,
)


class FilesMixin(MessagesMixin):
    """The file store of `FakeTelegram` (on top of its messages)."""

    files: dict[str, StoredFile]

    def _store(self, upload: UploadedFile, kind: str) -> StoredFile:
        n = self._count("file")
        name = upload.filename or ""
        suffix = name.rpartition(".")[2] if "." in name else ""
        suffix = suffix or {"video": "mp4", "photo": "jpg", "thumbnail": "jpg"}.get(kind, "bin")
        folder = {"photo": "photos", "thumbnail": "thumbnails"}.get(kind, f"{kind}s")
        stored = StoredFile(f"{kind}-{n}", f"u{kind}-{n}", f"{folder}/file_{n}.{suffix}",
                            upload.data, upload.content_type, upload.filename)  # fmt: skip
        self.files[stored.file_id] = stored
        return stored

    def _input_file(self, call: Call, value: str | None, part: str, kind: str) -> StoredFile:
        """A file given as upload part `part`, `attach://<part>` or a known file_id."""
        if part in call.files and value is None:
            return self._store(call.files[part], kind)
        if value is None:
            raise bad_request(f"there is no {kind} in the request")
        if value.startswith("attach://"):
            upload = call.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(WRONG_FILE.removeprefix("Bad Request: "))
            return self._store(upload, kind)
        if value in self.files:
            return self.files[value]
        raise bad_request(WRONG_FILE.removeprefix("Bad Request: "))

    def _photo_size(self, stored: StoredFile) -> dict[str, Any]:
        _, width, height = image_size(stored.data) or ("", 0, 0)
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "width": width, "height": height, "file_size": len(stored.data)}  # fmt: skip

    def _smaller_sizes(self, data: bytes) -> list[dict[str, Any]]:
        """JPEG renditions of a photo for the sides Telegram makes that are below its own."""
        sizes = []
        with contextlib.suppress(Exception), Image.open(io.BytesIO(data)) as image:
            for side in PHOTO_SIDES:
                if side >= max(image.size):
                    break
                small = image.convert("RGB")
                small.thumbnail((side, side))
                out = io.BytesIO()
                small.save(out, "JPEG", quality=80)
                upload = UploadedFile(f"photo_{side}.jpg", "image/jpeg", out.getvalue())
                sizes.append(self._photo_size(self._store(upload, "photo")))
        return sizes

    def _thumbnail(self, call: Call, value: str | None, part: str) -> dict[str, Any] | None:
        """The thumbnail PhotoSize, or None when Telegram would ignore it."""
        if value is None:  # not `attach://…`: maybe a direct part (InputFile without attach)
            upload = call.files.get("thumbnail") if part else None
        else:
            upload = call.files.get(value.removeprefix("attach://"))
        info = image_size(upload.data) if upload is not None else None
        if upload is None or info is None or info[0] != "JPEG" or len(upload.data) > 200_000:
            return None
        if max(info[1], info[2]) > 320:
            return None
        return self._photo_size(self._store(upload, "thumbnail"))

    def _media(self, call: Call, kind: str, spec: dict[str, Any], part: str) -> dict[str, Any]:
        """The Message fields for a video/document/photo described by `spec`."""
        stored = self._input_file(call, spec.get(kind), part, kind)
        if kind == "photo":
            return {"photo": [self._photo_size(stored)]}
        obj: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "mime_type": stored.mime_type,
        }
        if stored.file_name:
            obj["file_name"] = stored.file_name
        if kind == "video":
            for name in ("width", "height", "duration"):
                obj[name] = int(spec.get(name) or 0)
        if thumb := self._thumbnail(call, spec.get("thumbnail"), part):
            obj["thumbnail"] = thumb
        return {kind: obj}

    def _send_media(self, call: Call, kind: str) -> dict[str, Any]:
        extra = self._media(call, kind, call.params, kind)
        if caption := self._text(call, "caption", 1024):
            extra["caption"] = caption
        return self._send(call, extra)
