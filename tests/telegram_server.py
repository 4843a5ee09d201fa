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
  `editMessageMedia` replaces an album item's picture in place (within its album's kind), the
  new media's caption replacing the old; `editMessageCaption` and `editMessageReplyMarkup` edit
  like `editMessageText`.
* Buttons: `callback_data` of 1–64 bytes; `answerCallbackQuery` once per query, its text at most
  200 characters (`show_alert` kept in `callback_answers`); `force_reply` markups checked.
* Updates are real Update JSON: a command has `entities[0]` = `bot_command` at offset 0 (UTF-16
  lengths), as does a `/command` caption (`caption_entities`); a user's photo is a PhotoSize list,
  smallest first; a reply carries `reply_to_message` (e.g. that photo); a button press is a
  `callback_query` whose `message` is the current bot message.

Simplified: text formatting (`parse_mode` HTML tags are stripped, Markdown is kept verbatim, no
entities are returned); no flood control of its own (script it with `fail_next`); every injected
update is delivered (no group privacy mode); a user's photo keeps its bytes as its largest size
(Telegram re-encodes it as JPEG); file ids are readable (`video-3`), and wording of errors for
missing parameters is the fake's own.
The fake is split by concern: `telegram_wire` (descriptions, limits, `ApiError`, `Call`),
`telegram_updates` (what users send), `telegram_messages` (the bot's messages and their
checks), `telegram_files` (uploads, photo sizes, thumbnails), `telegram_methods` (the Bot API
methods). This module re-exports their public names.

Standalone: `python -m tests.telegram_server --port 8081 [--command '/story a cat']` prints the
base URLs and serves until Ctrl-C; lines typed on stdin become updates (`/story …` a command,
`press <message_id> <data>` a button press, anything else a text message).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web

from tests.fakeserver import AiohttpServer, loopback_parser, standalone
from tests.telegram_methods import MethodsMixin
from tests.telegram_updates import UpdatesMixin
from tests.telegram_wire import (
    ALBUM_MAX,
    CHAT_ACTIONS,
    CONFLICT,
    DEFAULT_DESCRIPTIONS,
    DOWNLOAD_LIMIT,
    NOT_MODIFIED,
    PHOTO_SIDES,
    QUERY_TOO_OLD,
    WRONG_FILE,
    ApiError,
    Call,
    ScriptedFault,
    StoredFile,
    UploadedFile,
)

__all__ = [
    "ALBUM_MAX", "CHAT_ACTIONS", "CONFLICT", "DOWNLOAD_LIMIT", "NOT_MODIFIED", "PHOTO_SIDES",
    "QUERY_TOO_OLD", "WRONG_FILE", "ApiError", "Call", "FakeTelegram", "StoredFile",
    "UploadedFile", "main",
]  # fmt: skip


class FakeTelegram(UpdatesMixin, MethodsMixin, AiohttpServer):
    """The server: `async with FakeTelegram() as fake:`, then point PTB at `fake.base_url`."""

    label = "Telegram server"
    # a client that hangs up (e.g. PTB cancelling its long poll) cancels its handler
    _runner_options: ClassVar[dict[str, Any]] = {"handler_cancellation": True}

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
        super().__init__(host=host, port=port)
        self.token, self.max_upload, self.log = token, max_upload, log
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
        self._faults: dict[str, deque[ScriptedFault]] = {}
        self._names = {n[5:].lower(): n[5:] for n in dir(self) if n.startswith("_api_")}
        self._poll_generation = 0
        self.webhook: dict[str, Any] | None = None  # what `setWebhook` set
        self.conflicts = 0  # 409s to `getUpdates`: two consumers at once, or a webhook set

    # -- life cycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_upload + 16 * 1024**2)
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

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

        def find() -> Call | None:
            for call in self.calls[start:]:
                same = (call.status or not answered) and call.method.lower() == method.lower()
                if same and (predicate is None or predicate(call)):
                    return call
            return None

        def failure() -> str:
            seen = ", ".join(f"{c.method}={c.status}" for c in self.calls[-30:])
            return f"no matching {method} within {timeout} s; calls: {seen}"

        return await self._wait_until(find, timeout, failure)

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
                else DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
            )
        parameters: dict[str, Any] = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        fault = ScriptedFault(status, description, parameters or None)
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
            [ScriptedFault(None, "", None, seconds, after)] * times
        )

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """The user deletes a message (e.g. the bot's progress message) in their chat."""
        self.messages.pop((chat_id, message_id), None)

    # -- plumbing

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


def _build(args: argparse.Namespace) -> FakeTelegram:
    return FakeTelegram(token=args.token, bot_username=args.username, host=args.host,
                        port=args.port, log=_log_line)  # fmt: skip


def _banner(fake: FakeTelegram) -> str:
    return f"base_url={fake.base_url}\nbase_file_url={fake.base_file_url}\ntoken={fake.token}\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = loopback_parser(__doc__, 8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--username", default="story_test_bot")
    parser.add_argument("--command", action="append", default=[], help="inject at start")
    standalone(parser, argv, _build, _banner, inject=_inject, lines=lambda args: args.command)


if __name__ == "__main__":
    main()
