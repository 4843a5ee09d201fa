"""The HTTP API's guards: every error answered as JSON, bodies capped before parsing, and file
downloads (MP4s, pictures, subtitles) whose range errors are JSON too."""

import contextlib
import math
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.http_shapes import ErrorBody
from core.errors import (
    CastExpired,
    CoreError,
    InvalidRequest,
    JobNotFound,
    LimitReached,
    NotAwaitingApproval,
    ProviderError,
    StoreUnavailable,
)

# ---------------------------------------------------------------------------------- errors


class FieldErrors(Exception):
    """A 422 found after parsing (a base64 image that does not decode)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid request")
        self.fields = fields


_DESCRIPTIONS = {
    400: "the body is not text that reads as JSON (e.g. not UTF-8), or a malformed Range",
    401: "no token, or not one of STORYBOT_HTTP_TOKENS",
    403: "refused: not a loopback caller (no tokens configured), the allow-list, or a limit of 0",
    404: "no such job for this token",
    409: "the job has no result (yet)",
    410: "the job's files (or, for a sequel, the story's cast) are no longer kept",
    413: "the body (the input image) is too large",
    416: "the range starts beyond the end of the file",
    422: "invalid fields, one message each",
    429: "a per-token limit; retry after Retry-After seconds",
    503: "this back end cannot do that with the current credentials",
}


def error_responses(
    *codes: int, described: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of these error answers of a route; `described` replaces the
    usual description of some."""
    descriptions = {**_DESCRIPTIONS, **(described or {})}
    responses: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorBody, "description": descriptions[code]} for code in codes
    }
    if 429 in responses:
        retry = {"description": "seconds to wait", "schema": {"type": "integer"}}
        responses[429]["headers"] = {"Retry-After": retry}
    return responses


def json_error(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An error answer: `{"error": message}`."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _field_name(location: tuple[int | str, ...]) -> str:
    parts = (
        location[1:]
        if location and location[0] in ("body", "path", "query", "header")
        else location
    )
    return ".".join(str(part) for part in parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Every error is JSON with a message; nothing internal (a traceback, a path) leaks."""

    async def invalid_fields(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, RequestValidationError):
            fields: dict[str, str] = {}
            for error in exc.errors():
                bad_json = error.get("type") == "json_invalid"  # its loc ends in a position
                name = "body" if bad_json else _field_name(tuple(error.get("loc", ())))
                fields[name] = "; ".join(filter(None, (fields.get(name), str(error["msg"]))))
        else:
            assert isinstance(exc, FieldErrors)
            fields = exc.fields
        body = {"error": "invalid request: " + ", ".join(sorted(fields)), "fields": fields}
        return JSONResponse(body, status_code=422)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return json_error(exc.status_code, str(exc.detail), exc.headers)

    async def core_error(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, LimitReached):
            if exc.retry_after_s is None:  # waiting will not help
                return json_error(403, str(exc))
            return json_error(429, str(exc), {"Retry-After": str(math.ceil(exc.retry_after_s))})
        if isinstance(exc, InvalidRequest):
            return json_error(422, str(exc))
        if isinstance(exc, JobNotFound):
            return json_error(404, str(exc))
        if isinstance(exc, CastExpired):
            return json_error(410, str(exc))
        if isinstance(exc, NotAwaitingApproval):  # a storyboard action at the wrong time
            return json_error(409, str(exc))
        if isinstance(exc, ProviderError):  # ConfigurationError among them: these credentials
            return json_error(503, str(exc))
        if isinstance(exc, StoreUnavailable):  # the shared database is away for a moment
            return json_error(503, str(exc), {"Retry-After": "30"})
        return json_error(400, str(exc))

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # The server logs the exception with its traceback (through the redacting handler).
        return json_error(500, "internal error")

    app.add_exception_handler(RequestValidationError, invalid_fields)
    app.add_exception_handler(FieldErrors, invalid_fields)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(CoreError, core_error)
    app.add_exception_handler(Exception, internal_error)


class BodyLimit:
    """Refuses a request body over `max_bytes` with 413 before anything parses it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, or count a chunked body while buffering it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit():
            if int(declared) <= self.max_bytes:
                await self.app(scope, receive, send)
            else:
                await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Read (and drop) a bounded amount of what is still coming, so that a client that sends
        # its whole body before reading gets the answer rather than a reset connection.
        drained = 0
        while drained <= 4 * self.max_bytes:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                break
            drained += len(message.get("body", b""))
        limit = self.max_bytes / 1024 / 1024
        response = json_error(
            413, f"the request body is over {limit:.1f} MB; send a smaller image"
        )
        await response(scope, receive, send)


class Mp4File(FileResponse):
    """A job file's download: an MP4, a picture, subtitles (Starlette serves `Range` requests);
    its range errors answer JSON like every other error, where Starlette would answer plain
    text. The file is opened before the answer starts and held to its end, so housekeeping
    removing it meanwhile cuts nothing short (a file already gone answers 410)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the file, or replace a 4xx Starlette produced with our JSON error."""
        try:
            held = await anyio.open_file(self.path, mode="rb")
        except FileNotFoundError:
            await json_error(410, "the job's files have expired")(scope, receive, send)
            return
        try:
            self._held = held
            self.stat_result = os.fstat(held.wrapped.fileno())
            self.set_stat_headers(self.stat_result)
            await self._answer(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await held.aclose()

    @contextlib.asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        """Starlette's way in to the file: the one held since the answer began."""
        await self._held.seek(0)
        yield self._held

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {}

        async def hold_errors(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            if start.get("status", 200) < 400:
                await send(message)

        await super().__call__(scope, receive, hold_errors)
        status = int(start.get("status", 200))
        if status < 400:
            return
        if status == 416:  # keep Starlette's `Content-Range: bytes */SIZE`
            size = dict(start.get("headers", [])).get(b"content-range", b"").decode()
            headers = {"Content-Range": size} if size else None
            await json_error(416, "the range is outside the file", headers)(scope, receive, send)
        else:
            await json_error(status, "malformed Range header (bytes=START-END)")(
                scope, receive, send
            )
