"""A fake Telegram Bot API server (aiohttp, loopback only) that the real python-telegram-bot uses.

Point PTB at it with `.base_url(fake.base_url).base_file_url(fake.base_file_url)`; requests go to
`POST {base_url}{token}/{method}` (GET with a query string works too), downloads to
`GET {base_file_url}{token}/{file_path}`.

Faithful to the real Bot API (as described in the project's telegram-wire.md reference):

* The envelope: `{"ok": true, "result": …}` with HTTP 200, or `{"ok": false, "error_code": N,
  "description": "…", "parameters": {…}}` with HTTP status N; the real descriptions for the errors
  below. Method names are case-insensitive. A wrong token → 401 `Unauthorized` (404 `Not Found`
  when malformed); an unknown method → 404 `Not Found: method not found`.
* Bodies: form-urlencoded, multipart (files and `attach://<part>` references) or JSON.
* `getUpdates` long-polls: it holds up to `timeout` s, answers as soon as an update is queued,
  drops updates below `offset` (a negative offset keeps the last -offset), honours `limit` and
  `allowed_updates`, redelivers unconfirmed updates, and a newer poll ends an older one with 409
  `Conflict`. Closing the server answers pending polls with `[]`.
* Messages: ids grow per chat, `date` is the real time, bot messages have `from` = the bot, the
  fake keeps every message in `messages` so edits behave like Telegram's: identical text and
  markup → 400 "message is not modified…", unknown → "message to edit not found", a user's
  message → "message can't be edited", an edit without `reply_markup` drops the keyboard.
  Sending to a chat the fake never saw → 400 "chat not found"; `blocked` chats → 403.
* Uploads: a file above `max_upload` → 413 `Request Entity Too Large`; a thumbnail is honoured
  only if it is a JPEG of at most 320×320 and 200 kB (else silently dropped, like Telegram);
  files can be re-sent by `file_id` and downloaded through `getFile` (20 MB limit).
* Albums (`sendMediaGroup`): 1–10 items of photo/video/audio/document (documents only with
  documents), each `attach://` part present, checked before anything is sent; the messages share
  a `media_group_id` (a single item is an ordinary message). Errors worded as TDLib's.
* Updates are real Update JSON: a command has `entities[0]` = `bot_command` at offset 0 (UTF-16
  lengths), as does a `/command` caption (`caption_entities`); a user's photo is a PhotoSize list,
  smallest first; a reply carries `reply_to_message` (e.g. that photo); a button press is a
  `callback_query` whose `message` is the current bot message.

Simplified: text formatting (`parse_mode` HTML tags are stripped, Markdown is kept verbatim, no
entities are returned); no flood control of its own (script it with `fail_next`); every injected
update is delivered (no group privacy mode); a user's photo keeps its bytes as its largest size
(Telegram re-encodes it as JPEG); file ids are readable (`video-3`), and wording of errors for
missing parameters is the fake's own.

Standalone: `python -m tests.telegram_server --port 8081 [--command '/story a cat']` prints the
base URLs and serves until Ctrl-C; lines typed on stdin become updates (`/story …` a command,
`press <message_id> <data>` a button press, anything else a text message).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import io
import json
import re
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web
from PIL import Image

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
_DEFAULT_DESCRIPTIONS = {
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
_ALBUM_KINDS = frozenset({"photo", "video", "audio", "document"})


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


def _bad(description: str) -> ApiError:
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
class _Fault:
    status: int | None
    description: str
    parameters: dict[str, Any] | None
    delay: float = 0.0
    after: bool = False  # delay the answer after the call took effect (not before)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _image_size(data: bytes) -> tuple[str, int, int] | None:
    with contextlib.suppress(Exception), Image.open(io.BytesIO(data)) as image:
        return str(image.format), image.width, image.height
    return None


class FakeTelegram:
    """The server: `async with FakeTelegram() as fake:`, then point PTB at `fake.base_url`."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST-token",
        bot_username: str = "story_test_bot",
        bot_name: str = "StoryBot",
        host: str = "127.0.0.1",
        port: int = 0,
        max_upload: int = 50_000_000,
        log: Callable[[Call], None] | None = None,
    ) -> None:
        self.token, self.host, self.port, self.max_upload, self.log = (
            token, host, port, max_upload, log,
        )  # fmt: skip
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1000
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username,
        }  # fmt: skip
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []  # queued, not yet confirmed by an offset
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.blocked: set[int] = set()  # chats that answer 403 to everything the bot sends
        self.files: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (scope, language)
        self.callback_answers: dict[str, dict[str, str]] = {}
        self._open_queries: set[str] = set()
        self._faults: dict[str, deque[_Fault]] = {}
        self.errors: list[str] = []  # the fake's own exceptions; `stop` fails the test on any
        self._counters: dict[str, int] = {}
        self._names = {n[5:].lower(): n[5:] for n in dir(self) if n.startswith("_api_")}
        self._poll_generation = 0
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- life cycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self) -> None:
        app = web.Application(client_max_size=self.max_upload + 16 * 1024**2)
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._closing.clear()
        # a client that hangs up (e.g. PTB cancelling its long poll) cancels its handler
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Shut down; raises if a handler of the fake itself failed, so that a broken fake
        (answering 500s the product would retry) cannot pass a test."""
        self._closing.set()  # pending long polls answer [] at once
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.errors:
            raise AssertionError("the fake Telegram server failed:\n" + "\n".join(self.errors))

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- test API: inspection and scripting

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages still present in `chat_id`, oldest first."""
        found = [m for (c, _), m in self.messages.items() if c == chat_id]
        return sorted((m for m in found if m.get("from") == self.bot_user),
                      key=lambda m: int(m["message_id"]))  # fmt: skip

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 30,  # noqa: ASYNC109 - a deadline for the whole wait, like pytest's
        *,
        new: bool = False,
        answered: bool = True,
    ) -> Call:
        """The first call to `method` matching `predicate`.

        Only calls made after this one if `new`; calls still in flight (e.g. a long poll that
        arrived) also count unless `answered`.
        """
        start = len(self.calls) if new else 0
        deadline = time.monotonic() + timeout
        while True:
            for call in self.calls[start:]:
                same = (call.status or not answered) and call.method.lower() == method.lower()
                if same and (predicate is None or predicate(call)):
                    return call
            if (remaining := deadline - time.monotonic()) <= 0:
                seen = ", ".join(f"{c.method}={c.status}" for c in self.calls[-30:])
                raise AssertionError(f"no matching {method} within {timeout} s; calls: {seen}")
            await self._wait_change(remaining)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Answer the next `times` calls to `method` with this error (429: retry_after 1)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if status == 429
                else _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
            )
        parameters: dict[str, Any] = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        fault = _Fault(status, description, parameters or None)
        self._faults.setdefault(method.lower(), deque()).extend([fault] * times)

    def delay_next(
        self, method: str, seconds: float, *, times: int = 1, after: bool = False
    ) -> None:
        """Answer the next `times` calls to `method` normally, but only after `seconds`.

        Before the call takes effect (default): a client that gives up first leaves nothing
        behind, as when Telegram never got the upload whole. `after`: the message is sent at
        once and only the answer is late, as when Telegram is slow to confirm a large video.
        """
        self._faults.setdefault(method.lower(), deque()).extend(
            [_Fault(None, "", None, seconds, after)] * times
        )

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """The user deletes a message (e.g. the bot's progress message) in their chat."""
        self.messages.pop((chat_id, message_id), None)

    # -- test API: updates the bot receives

    def send_command(self, text: str, **kwargs: Any) -> int:
        """Queue a message whose first word is a command (`/story …` or `/story@bot …`)."""
        if not text.startswith("/"):
            raise ValueError(f"a command starts with '/': {text!r}")
        length = _utf16_len(text.split(maxsplit=1)[0])
        entities = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.send_text(text, entities=entities, **kwargs)

    def send_text(
        self,
        text: str,
        *,
        chat_id: int = 4242,
        user_id: int = 4242,
        chat_type: str = "private",
        language_code: str | None = "en",
        first_name: str = "Alice",
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> int:
        """Queue a text message from a user; returns its message_id."""
        extra: dict[str, Any] = {"text": text} | ({"entities": entities} if entities else {})
        return self._user_message(chat_id, user_id, chat_type, language_code, first_name,
                                  reply_to, extra)  # fmt: skip

    def send_photo(
        self,
        data: bytes,
        *,
        caption: str | None = None,
        chat_id: int = 4242,
        user_id: int = 4242,
        chat_type: str = "private",
        language_code: str | None = "en",
        first_name: str = "Alice",
        reply_to: int | None = None,
    ) -> int:
        """Queue a photo with an optional caption (a `/command` caption gets its bot_command
        entity); each size is downloadable through getFile. Like Telegram, the `photo` list
        holds smaller JPEG renditions (sides 90, 320, 800) first and the largest size last;
        the largest is `data` itself (Telegram would re-encode it)."""
        stored = self._store(UploadedFile("photo.jpg", "image/jpeg", data), "photo")
        sizes = [*self._smaller_sizes(data), self._photo_size(stored)]
        extra = self._captioned({"photo": sizes}, caption)
        return self._user_message(chat_id, user_id, chat_type, language_code, first_name,
                                  reply_to, extra)  # fmt: skip

    def send_document(
        self,
        data: bytes,
        *,
        filename: str,
        mime_type: str | None = None,
        caption: str | None = None,
        chat_id: int = 4242,
        user_id: int = 4242,
        chat_type: str = "private",
        language_code: str | None = "en",
        first_name: str = "Alice",
        reply_to: int | None = None,
    ) -> int:
        """Queue a file sent as a document (e.g. a picture sent "as file", kept byte for byte),
        with an optional caption; downloadable through getFile."""
        if mime_type is None:
            info = _image_size(data)
            mime_type = f"image/{info[0].lower()}" if info else "application/octet-stream"
        stored = self._store(UploadedFile(filename, mime_type, data), "document")
        document = {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_name": filename, "mime_type": mime_type, "file_size": len(data),
        }  # fmt: skip
        extra = self._captioned({"document": document}, caption)
        return self._user_message(chat_id, user_id, chat_type, language_code, first_name,
                                  reply_to, extra)  # fmt: skip

    @staticmethod
    def _captioned(extra: dict[str, Any], caption: str | None) -> dict[str, Any]:
        """`extra` with the caption, and a bot_command entity when it starts with `/`."""
        if not caption:
            return extra
        extra = extra | {"caption": caption}
        if caption.startswith("/"):
            length = _utf16_len(caption.split(maxsplit=1)[0])
            extra["caption_entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return extra

    def press_button(
        self, *, chat_id: int, message_id: int, data: str, user_id: int = 4242
    ) -> str:
        """Queue a callback_query for a button of the bot's message; returns the query id."""
        message = self.messages.get((chat_id, message_id))
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        query_id = str(7_000_000 + self._count("query"))
        user = self.users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "Alice"}
        self._open_queries.add(query_id)
        self._queue_update("callback_query", {
            "id": query_id, "from": user, "chat_instance": f"ci{chat_id}", "data": data,
            "message": json.loads(json.dumps(message)),
        })  # fmt: skip
        return query_id

    def add_chat(
        self, chat_id: int, chat_type: str = "private", *, name: str = "Alice"
    ) -> dict[str, Any]:
        """Make `chat_id` known (as if its user had written to the bot); returns the Chat."""
        if chat_type not in ("private", "group", "supergroup") or (
            (chat_type == "private") != (chat_id > 0)
        ):
            raise ValueError(f"chat {chat_id} cannot be of type {chat_type!r}")
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        chat |= {"first_name": name} if chat_type == "private" else {"title": name}
        self.chats[chat_id] = chat
        return chat

    def edit_user_message(self, chat_id: int, message_id: int, text: str) -> int:
        """Queue an `edited_message` update: the user changed the text of an earlier message."""
        message = dict(self.messages[(chat_id, message_id)])
        message |= {"text": text, "edit_date": int(time.time())}
        if text.startswith("/"):
            length = _utf16_len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        self.messages[(chat_id, message_id)] = message
        return self._queue_update("edited_message", message)

    def _user_message(
        self,
        chat_id: int,
        user_id: int,
        chat_type: str,
        language_code: str | None,
        first_name: str,
        reply_to: int | None,
        extra: dict[str, Any],
    ) -> int:
        chat = self.add_chat(chat_id, chat_type, name=first_name if chat_id > 0 else "Test group")
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        if reply_to is not None:
            if (chat_id, reply_to) not in self.messages:
                raise KeyError(f"no message {reply_to} in chat {chat_id}")
            extra = extra | {"reply_to_message": self._replied(chat_id, reply_to)}
        message = self._new_message(chat, user, extra)
        self._queue_update("message", message)
        return int(message["message_id"])

    def _queue_update(self, key: str, payload: dict[str, Any]) -> int:
        update_id = self._count("update")
        self.updates.append({"update_id": update_id, key: payload})
        self._notify()
        return update_id

    # -- plumbing

    def _count(self, name: str) -> int:
        self._counters[name] = self._counters.get(name, 0) + 1
        return self._counters[name]

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    def _new_message(
        self, chat: dict[str, Any], sender: dict[str, Any], extra: dict[str, Any]
    ) -> dict[str, Any]:
        message_id = self._count(f"chat{chat['id']}")
        message = {"message_id": message_id, "from": sender, "chat": chat,
                   "date": int(time.time())} | extra  # fmt: skip
        self.messages[(int(chat["id"]), message_id)] = message
        return message

    async def _read(self, request: web.Request, call: Call) -> None:
        call.params.update(request.query)
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is None:
                    call.params[part.name] = await part.text()
                else:
                    data = bytes(await part.read(decode=True))
                    content_type = part.headers.get("Content-Type", "application/octet-stream")
                    call.files[part.name] = UploadedFile(part.filename, content_type, data)
        elif request.can_read_body:
            try:
                raw = await request.read()
            except web.HTTPRequestEntityTooLarge as exc:
                raise ApiError(413, "Request Entity Too Large") from exc
            if ctype == "application/json":
                decoded = json.loads(raw or b"{}")
                call.params.update(
                    {k: v if isinstance(v, str) else json.dumps(v) for k, v in decoded.items()}
                )
            else:
                call.params.update(parse_qsl(raw.decode(), keep_blank_values=True))
        if any(len(f.data) > self.max_upload for f in call.files.values()):
            raise ApiError(413, "Request Entity Too Large")

    def _check_token(self, token: str) -> None:
        if token != self.token:
            if re.fullmatch(r"\d+:[\w-]+", token):
                raise ApiError(401, "Unauthorized")
            raise ApiError(404, "Not Found")

    async def _dispatch(self, request: web.Request) -> web.Response:
        sent = request.match_info["method"]
        call = Call(self._names.get(sent.lower(), sent), {}, {}, time.monotonic(), request.method)
        self.calls.append(call)
        try:
            await self._read(request, call)
            self._notify()  # for wait_for(answered=False)
            self._check_token(request.match_info["token"])
            queue = self._faults.get(call.method.lower())
            fault = queue.popleft() if queue else None
            if fault is not None and not fault.after:
                await self._sleep(fault.delay)
                if fault.status is not None:
                    raise ApiError(fault.status, fault.description, fault.parameters)
            handler = getattr(self, f"_api_{call.method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = handler(call)
            if asyncio.iscoroutine(result):
                result = await result
            if fault is not None and fault.after:
                await self._sleep(fault.delay)
            body, status = {"ok": True, "result": result}, 200
        except ApiError as exc:
            body, status = exc.body(), exc.status
        except Exception as exc:  # a bug in the fake: recorded, and the test fails at stop
            self.errors.append(f"{call.method}: {traceback.format_exc()}")
            body, status = ApiError(500, f"Internal Server Error: {exc!r}").body(), 500
        call.status, call.response = status, body
        self._notify()
        if self.log is not None:
            self.log(call)
        return web.json_response(body, status=status)

    async def _download(self, request: web.Request) -> web.Response:
        try:
            self._check_token(request.match_info["token"])
        except ApiError as exc:
            return web.json_response(exc.body(), status=exc.status)
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data, content_type=stored.mime_type)
        return web.json_response(ApiError(404, "Not Found").body(), status=404)

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").body(), status=404)

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    # -- parameter helpers

    @staticmethod
    def _int(call: Call, name: str, default: int | None = None) -> int:
        value = call.params.get(name)
        if value is None or value == "":
            if default is None:
                raise _bad(f"{name} is required")
            return default
        try:
            return int(value)
        except ValueError:
            raise _bad(f'field "{name}" must be of type Integer') from None

    def _chat(self, call: Call) -> dict[str, Any]:
        if not call.params.get("chat_id"):
            raise _bad("chat_id is empty")
        chat = self.chats.get(call.chat_id) if call.chat_id is not None else None
        if chat is None:
            raise _bad("chat not found")
        if chat["id"] in self.blocked:
            raise ApiError(
                403,
                "Forbidden: bot was blocked by the user"
                if chat["type"] == "private"
                else "Forbidden: bot was kicked from the group chat",
            )
        return chat

    def _markup(self, call: Call) -> dict[str, Any] | None:
        markup = call.json("reply_markup")
        if not isinstance(markup, dict) or not markup.get("inline_keyboard"):
            return None  # reply keyboards are not part of the Message object
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
        return markup

    def _text(self, call: Call, name: str, limit: int) -> str | None:
        text = call.params.get(name)
        if text is None:
            return None
        if call.params.get("parse_mode", "").lower() == "html":
            text = html.unescape(re.sub(r"<[^>]*>", "", text))
        if len(text) > limit:
            raise _bad("message is too long" if name == "text" else "message caption is too long")
        return text

    def _replied(self, chat_id: int, message_id: int) -> dict[str, Any]:
        replied = self.messages.get((chat_id, message_id))
        if replied is None:
            raise _bad("message to be replied not found")
        return {k: v for k, v in replied.items() if k != "reply_to_message"}

    def _send(self, call: Call, extra: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(call)
        if (markup := self._markup(call)) is not None:
            extra["reply_markup"] = markup
        reply = call.json("reply_parameters") or {}
        if "reply_to_message_id" in call.params:
            reply = {"message_id": self._int(call, "reply_to_message_id")}
        if "message_id" in reply:
            try:
                extra["reply_to_message"] = self._replied(chat["id"], int(reply["message_id"]))
            except ApiError:
                if not reply.get("allow_sending_without_reply"):
                    raise
        return self._new_message(chat, self.bot_user, extra)

    def _edited(self, call: Call, part: str) -> dict[str, Any] | bool:
        """Shared part of the editMessage* methods: find, compare, apply."""
        if "inline_message_id" in call.params:
            return True
        self._chat(call)
        key = (call.chat_id or 0, self._int(call, "message_id"))
        message = self.messages.get(key)
        if message is None:
            raise _bad("message to edit not found")
        if message.get("from") != self.bot_user:
            raise _bad("message can't be edited")
        new = dict(message)
        if part == "text":
            if "text" not in message:
                raise _bad("there is no text in the message to edit")
            new["text"] = self._text(call, "text", 4096) or ""
            if not new["text"]:
                raise _bad("message text is empty")
        elif part == "caption":
            if "text" in message:
                raise _bad("there is no caption in the message to edit")
            new.pop("caption", None)
            if caption := self._text(call, "caption", 1024):
                new["caption"] = caption
        new.pop("reply_markup", None)
        if (markup := self._markup(call)) is not None:
            new["reply_markup"] = markup
        if new == message:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        new["edit_date"] = int(time.time())
        self.messages[key] = new
        return new

    # -- files

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
            raise _bad(f"there is no {kind} in the request")
        if value.startswith("attach://"):
            upload = call.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise _bad(WRONG_FILE.removeprefix("Bad Request: "))
            return self._store(upload, kind)
        if value in self.files:
            return self.files[value]
        raise _bad(WRONG_FILE.removeprefix("Bad Request: "))

    def _photo_size(self, stored: StoredFile) -> dict[str, Any]:
        _, width, height = _image_size(stored.data) or ("", 0, 0)
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
        info = _image_size(upload.data) if upload is not None else None
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

    # -- Bot API methods (name after `_api_` = the method; dispatch is case-insensitive)

    def _api_getMe(self, call: Call) -> dict[str, Any]:
        return self.bot_user | {"can_join_groups": True, "can_read_all_group_messages": False,
                                "supports_inline_queries": False}  # fmt: skip

    def _api_deleteWebhook(self, call: Call) -> bool:
        if call.params.get("drop_pending_updates") == "true":
            self.updates.clear()
        return True

    def _api_logOut(self, call: Call) -> bool:
        return True

    async def _api_getUpdates(self, call: Call) -> list[dict[str, Any]]:
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older poll still waiting now ends with 409
        offset = self._int(call, "offset", 0)
        if offset < 0:
            del self.updates[: max(0, len(self.updates) + offset)]
        elif offset:
            self.updates[:] = [u for u in self.updates if u["update_id"] >= offset]
        limit = min(max(self._int(call, "limit", 100), 1), 100)
        allowed = call.json("allowed_updates") or []
        try:  # an Integer for Telegram, but PTB sends e.g. "0.5" for a timedelta of 0.5 s
            timeout = float(call.params.get("timeout") or 0)
        except ValueError:
            raise _bad('field "timeout" must be of type Integer') from None
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT)
            if allowed:  # Telegram drops the kinds the bot did not ask for
                self.updates[:] = [u for u in self.updates if set(u) & set(allowed)]
            remaining = deadline - time.monotonic()
            if self.updates or remaining <= 0 or self._closing.is_set():
                return [json.loads(json.dumps(u)) for u in self.updates[:limit]]
            await self._wait_change(remaining)

    def _api_sendMessage(self, call: Call) -> dict[str, Any]:
        text = self._text(call, "text", 4096)
        if not text:
            raise _bad("message text is empty")
        return self._send(call, {"text": text})

    def _api_editMessageText(self, call: Call) -> dict[str, Any] | bool:
        return self._edited(call, "text")

    def _api_editMessageCaption(self, call: Call) -> dict[str, Any] | bool:
        return self._edited(call, "caption")

    def _api_editMessageReplyMarkup(self, call: Call) -> dict[str, Any] | bool:
        return self._edited(call, "reply_markup")

    def _api_deleteMessage(self, call: Call) -> bool:
        self._chat(call)
        if self.messages.pop((call.chat_id or 0, self._int(call, "message_id")), None) is None:
            raise _bad("message to delete not found")
        return True

    def _api_sendChatAction(self, call: Call) -> bool:
        self._chat(call)
        if call.params.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _api_sendVideo(self, call: Call) -> dict[str, Any]:
        return self._send_media(call, "video")

    def _api_sendDocument(self, call: Call) -> dict[str, Any]:
        return self._send_media(call, "document")

    def _api_sendPhoto(self, call: Call) -> dict[str, Any]:
        return self._send_media(call, "photo")

    def _api_sendMediaGroup(self, call: Call) -> list[dict[str, Any]]:
        """An album: each item is a message sharing one `media_group_id` (a single item is an
        ordinary message). Refused as a whole, before anything is sent, like Telegram."""
        if "media" not in call.params:
            raise _bad('parameter "media" is required')
        items = call.json("media")
        if not isinstance(items, list) or not items:
            raise _bad("there are no messages to send")
        if len(items) > ALBUM_MAX:
            raise _bad("too many messages to send as an album")
        kinds = [str(item.get("type", "")) for item in items]
        if unknown := next((k for k in kinds if k not in _ALBUM_KINDS), None):
            raise _bad(f'can\'t parse InputMedia: type "{unknown}" can\'t be used in '
                       "sendMediaGroup")  # fmt: skip
        if "document" in kinds and set(kinds) != {"document"}:
            raise _bad("document can't be mixed with other media types")
        self._chat(call)
        extras = []
        for item, kind in zip(items, kinds, strict=True):
            media = item.get("media")
            if not media or (
                str(media).startswith("attach://")
                and str(media).removeprefix("attach://") not in call.files
            ):
                raise _bad("can't parse InputMedia: media not found")
            extra = self._media(call, kind, item | {kind: media}, "")
            if caption := item.get("caption"):
                if len(str(caption)) > 1024:
                    raise _bad("message caption is too long")
                extra["caption"] = str(caption)
            extras.append(extra)
        album = (
            {"media_group_id": str(9_000_000 + self._count("album"))} if len(extras) > 1 else {}
        )
        return [self._send(call, extra | album) for extra in extras]

    def _api_answerCallbackQuery(self, call: Call) -> bool:
        query_id = call.params.get("callback_query_id", "")
        if query_id not in self._open_queries:
            raise _bad(QUERY_TOO_OLD.removeprefix("Bad Request: "))
        self._open_queries.discard(query_id)
        self.callback_answers[query_id] = dict(call.params)
        return True

    def _commands_key(self, call: Call) -> tuple[str, str]:
        scope = call.json("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), call.params.get("language_code", "")

    def _api_setMyCommands(self, call: Call) -> bool:
        commands = call.json("commands", [])
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
        self.commands[self._commands_key(call)] = commands
        return True

    def _api_getMyCommands(self, call: Call) -> list[dict[str, Any]]:
        return self.commands.get(self._commands_key(call), [])

    def _api_deleteMyCommands(self, call: Call) -> bool:
        self.commands.pop(self._commands_key(call), None)
        return True

    def _api_getFile(self, call: Call) -> dict[str, Any]:
        stored = self.files.get(call.params.get("file_id", ""))
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.data) > DOWNLOAD_LIMIT:
            raise _bad("file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data), "file_path": stored.file_path}  # fmt: skip


# ---------------------------------------------------------------- command line


def _log_line(call: Call) -> None:
    fields = " ".join(f"{k}={v[:60]!r}" for k, v in call.params.items())
    files = " ".join(f"{k}:{len(f.data)}B" for k, f in call.files.items())
    sys.stderr.write(f"{call.status} {call.method} {fields} {files}\n")


def _inject(fake: FakeTelegram, line: str) -> None:
    line = line.strip()
    try:
        if line.startswith("/"):
            fake.send_command(line)
        elif (parts := line.split(maxsplit=2))[:1] == ["press"] and len(parts) == 3:
            fake.press_button(chat_id=4242, message_id=int(parts[1]), data=parts[2])
        elif line:
            fake.send_text(line)
    except (KeyError, ValueError) as exc:
        sys.stderr.write(f"! {exc}\n")


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeTelegram(token=args.token, bot_username=args.username, host=args.host,
                        port=args.port, log=_log_line)  # fmt: skip
    async with fake:
        sys.stdout.write(f"base_url={fake.base_url}\nbase_file_url={fake.base_file_url}\n"
                         f"token={fake.token}\n")  # fmt: skip
        sys.stdout.flush()
        loop = asyncio.get_running_loop()
        for command in args.command:
            _inject(fake, command)

        def read_stdin() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(_inject, fake, line)

        threading.Thread(target=read_stdin, daemon=True).start()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--username", default="story_test_bot")
    parser.add_argument("--command", action="append", default=[], help="inject at start")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
