"""A fake Gemini Live API (BidiGenerateContent over a TLS websocket, loopback only).

The real google-genai 3.4 client talks to it through `client.aio.live.connect`. The SDK always
dials `wss://`: it swaps the scheme of `http_options.base_url` (`https://` or `http://`, both
work) for `wss`, so the fake speaks TLS with a throwaway CA made by `trustme`. The SDK builds
its websocket SSL context when the `genai.Client` is constructed, from `SSL_CERT_FILE`, so put
`fake.ca_file` there (e.g. `monkeypatch.setenv`) BEFORE constructing the client.

Endpoints, as the SDK 3.4 dials them (version: `v1alpha`, `v1beta`, `v1` or `v1beta1`):

* Developer API: `/ws/google.ai.generativelanguage.{version}.GenerativeService.BidiGenerateContent`
  with the key in the `x-goog-api-key` header (never in the URL).
* Vertex AI: `/ws/google.cloud.aiplatform.{version}.LlmBidiService/BidiGenerateContent` with
  `Authorization: Bearer <token>` (project mode) or `x-goog-api-key` (express mode).
* Anything else is refused at the handshake with HTTP 404 (`websockets.InvalidStatus`).

Protocol (JSON in text or binary frames; camelCase or snake_case keys are accepted - the SDK
3.4 mixes them: `{"setup": {"model", "generationConfig": {"responseModalities", "speechConfig":
{"voice_config": {"prebuilt_voice_config": {"voice_name"}}}}, "systemInstruction"}}`, then
`{"client_content": {"turns", "turnComplete"}}` and `{"realtime_input": {"text"}}`):

1. The first client message is `{"setup": {"model": ..., "generationConfig": ...,
   "systemInstruction": ...}}`. Credentials are checked once it has arrived (closing before it
   would race with the SDK's own send, which it does not translate into `APIError`), then the
   model (when `models` is set), then the answer is `{"setupComplete": {}}`.
2. A turn is `{"clientContent": {"turns": [...], "turnComplete": true}}` (texts of turns sent
   with `turnComplete: false` are kept for the next completed one) or
   `{"realtimeInput": {"text": ...}}` (answered at once). Its text is read aloud: only what
   follows the last blank line, so an instruction can come first; the system instruction is
   recorded but never read.
3. The answer: `speech_pcm(spoken)` (raw s16le mono 24 kHz, see tests/gemini_server.py) in
   several `{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType":
   "audio/pcm;rate=24000", "data": <base64>}}]}}}` messages of `chunk_s` seconds each, then
   `{"serverContent": {"generationComplete": true}}`, then `{"serverContent": {"turnComplete":
   true}, "usageMetadata": {...}}`. `latency_s` passes before the first chunk of each turn.
   Frames go out as binary (`binary_frames=False`: text); the SDK decodes both.

Errors mimic the real service, which closes the websocket with a code and a reason (cut to the
123 bytes a close frame holds); the SDK turns that into `errors.APIError(code, reason)` - the
base class, as the codes are not HTTP 4xx/5xx - raised from `connect()` when it happens before
`setupComplete`, else from `session.receive()`:

* a wrong key: 1007 "API key not valid. Please pass a valid API key."; no key: 1007
  "API Key not found. Please pass a valid API key." (as the Developer API closes);
* a wrong or missing bearer token (Vertex): 1008 "Request had invalid authentication
  credentials. ..." (UNAUTHENTICATED; the real code is inferred, not observed);
* a model not in `models`: 1008 "models/x is not found for API version v1beta, or is not
  supported for bidiGenerateContent. ..." (Vertex: "Publisher Model `...` not found.");
* a first message that is not a setup, or not JSON: 1007 "Request contains an invalid
The wire format, faults and records are in `tests/live_wire.py` (re-exported here).

Standalone: `python -m tests.live_server --port 8766 [--api-key K --latency 0.5]` prints its
base URL and the CA file to trust (SSL_CERT_FILE) and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import shutil
import ssl
import sys
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any

import trustme
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.fakeserver import LoopbackServer, loopback_parser, standalone
from tests.gemini_media import TTS_RATE, speech_pcm
from tests.gemini_requests import get_key
from tests.live_wire import (
    BAD_KEY,
    BAD_TOKEN,
    GEMINI_PATH_RE,
    INVALID_ARGUMENT,
    LIVE_MIME,
    MAX_REASON_BYTES,
    NO_KEY,
    VERTEX_PATH_RE,
    Api,
    CloseWithError,
    Delay,
    Fault,
    LiveSession,
    LiveTurn,
    NeverComplete,
    RefuseSetup,
    cut_reason,
    not_found_reason,
    spoken_part,
    texts_of,
    usage_metadata,
)

__all__ = [
    "BAD_KEY", "BAD_TOKEN", "GEMINI_PATH_RE", "INVALID_ARGUMENT", "LIVE_MIME", "MAX_REASON_BYTES",
    "NO_KEY", "VERTEX_PATH_RE", "Api", "CloseWithError", "Delay", "FakeLive", "Fault",
    "LiveSession", "LiveTurn", "NeverComplete", "RefuseSetup", "main", "not_found_reason",
    "spoken_part",
]  # fmt: skip


class FakeLive(LoopbackServer):
    """The server: `async with FakeLive() as fake:`, then trust `fake.ca_file` and dial it."""

    label = "Live server"

    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        bearer_token: str | None = "test",
        chunk_s: float = 0.2,
        latency_s: float = 0.0,
        models: list[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        binary_frames: bool = True,
        log: bool = False,
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key  # None: any non-empty key is accepted
        self.bearer_token = bearer_token  # None: any non-empty token is accepted
        self.chunk_s = chunk_s
        self.latency_s = latency_s
        self.models = None if models is None else list(models)  # None: any model
        self.binary_frames = binary_frames
        self.log = log
        self.sessions: list[LiveSession] = []
        self._faults: deque[Fault] = deque()
        self._server: Server | None = None
        self._tmp: Path | None = None
        self._ca = trustme.CA()
        self._server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert(host, "localhost").configure_cert(self._server_ssl)

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_file(self) -> str:
        """The CA certificate (PEM) to trust, e.g. as SSL_CERT_FILE; exists once started."""
        if self._tmp is None:
            raise RuntimeError("FakeLive is not started")
        return str(self._tmp / "ca.pem")

    def env(self) -> dict[str, str]:
        """Environment variables that point a Live client at this server."""
        return {"GEMINI_LIVE_BASE_URL": self.base_url, "SSL_CERT_FILE": self.ca_file}

    def script(self, *faults: Fault) -> None:
        """Queue one-shot `faults` for the next sessions, in order; none left means success."""
        self._faults.extend(faults)

    def reset(self) -> None:
        """Forget recorded sessions and scripted faults."""
        self.sessions.clear()
        self._faults.clear()

    async def _open_listener(self) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="fake-live-"))
        self._ca.cert_pem.write_to_path(self.ca_file)
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            ssl=self._server_ssl,
            process_request=self._route,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()  # closes open sessions with 1001
            await self._server.wait_closed()
            self._server = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- plumbing

    def _route(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.partition("?")[0]
        if GEMINI_PATH_RE.fullmatch(path) or VERTEX_PATH_RE.fullmatch(path):
            return None
        return connection.respond(HTTPStatus.NOT_FOUND, f"No such endpoint: {path}\n")

    def _auth_error(self, session: LiveSession) -> tuple[int, str] | None:
        key = session.headers.get("x-goog-api-key")
        authorization = session.headers.get("authorization")
        if session.api == "vertex" and (authorization is not None or key is None):
            token = (authorization or "").removeprefix("Bearer ")
            if authorization == token or not token:  # no "Bearer " prefix, or empty
                return BAD_TOKEN
            return None if self.bearer_token in (None, token) else BAD_TOKEN
        if not key:
            return NO_KEY
        return None if self.api_key in (None, key) else BAD_KEY

    def _model_error(self, session: LiveSession) -> tuple[int, str] | None:
        model = session.model or ""
        if self.models is None or model.rpartition("models/")[2] in self.models:
            return None
        return 1008, not_found_reason(model, session.api, session.version)

    async def _close(
        self, ws: ServerConnection, session: LiveSession, code: int, reason: str
    ) -> None:
        session.close_code, session.close_reason = code, cut_reason(reason)
        self._notify()  # for `wait_until`
        if self.log:
            sys.stderr.write(f"session {len(self.sessions)}: closed {code} {reason}\n")
        await ws.close(code, session.close_reason)

    async def _send(self, ws: ServerConnection, message: dict[str, Any]) -> None:
        data = json.dumps(message)
        await ws.send(data.encode() if self.binary_frames else data)

    async def _recv(self, ws: ServerConnection) -> dict[str, Any] | None:
        raw = await ws.recv()
        try:
            message = json.loads(raw)
        except ValueError:
            return None
        return message if isinstance(message, dict) else None

    # -- a session

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        path, _, query = ws.request.path.partition("?")
        match = GEMINI_PATH_RE.fullmatch(path)
        api: Api = "gemini" if match else "vertex"
        match = match or VERTEX_PATH_RE.fullmatch(path)
        assert match is not None  # _route refused other paths
        headers = {name.lower(): value for name, value in ws.request.headers.raw_items()}
        session = LiveSession(path, query, api, match[1], headers, time.monotonic())
        self.sessions.append(session)
        self._notify()
        try:
            await self._session(ws, session)
        except ConnectionClosed:
            pass
        except Exception:  # a bug in the fake: the product would fall back to TTS and hide it
            self.errors.append(f"{path}: {traceback.format_exc()}")
            raise

    async def _session(self, ws: ServerConnection, session: LiveSession) -> None:
        first = await self._recv(ws)
        error = self._auth_error(session)
        if error is not None:
            await self._close(ws, session, *error)
            return
        session.fault = fault = self._faults.popleft() if self._faults else None
        setup = get_key(first, "setup")
        if not isinstance(setup, dict):
            await self._close(ws, session, *INVALID_ARGUMENT)
            return
        session.setup = setup
        if isinstance(fault, RefuseSetup):
            reason = fault.reason or not_found_reason(
                session.model or "", session.api, session.version
            )
            await self._close(ws, session, fault.code, reason)
            return
        error = self._model_error(session)
        if error is not None:
            await self._close(ws, session, *error)
            return
        if self.log:
            sys.stderr.write(
                f"session {len(self.sessions)}: {session.api} {session.model} "
                f"voice={session.voice}\n"
            )
        await self._send(ws, {"setupComplete": {}})
        pending: list[str] = []
        while True:
            message = await self._recv(ws)
            if message is None:
                await self._close(ws, session, *INVALID_ARGUMENT)
                return
            session.messages.append(message)
            self._notify()
            text = self._turn_text(message, pending)
            if text is None:
                continue
            turn_fault = fault if not session.turns else None
            if not await self._answer(ws, session, text, turn_fault):
                return

    def _turn_text(self, message: dict[str, Any], pending: list[str]) -> str | None:
        """The text of a turn the client completed with `message`, else None."""
        content = get_key(message, "clientContent")
        if isinstance(content, dict):
            pending += texts_of(get_key(content, "turns"))
            if not get_key(content, "turnComplete"):
                return None
            text = "\n".join(pending)
            pending.clear()
            return text
        text = get_key(get_key(message, "realtimeInput"), "text")
        return text if isinstance(text, str) else None

    async def _answer(
        self, ws: ServerConnection, session: LiveSession, text: str, fault: Fault | None
    ) -> bool:
        """Speak one turn; False when the session ended (closed, or silent until closed)."""
        turn = LiveTurn(text=text, spoken=spoken_part(text))
        session.turns.append(turn)
        if isinstance(fault, CloseWithError) and fault.after_chunks <= 0:
            await self._close(ws, session, fault.code, fault.reason)
            return False
        await self._sleep(self.latency_s + (fault.seconds if isinstance(fault, Delay) else 0.0))
        audio = speech_pcm(turn.spoken)
        step = max(2, int(self.chunk_s * TTS_RATE) * 2)
        for start in range(0, len(audio), step):
            if isinstance(fault, NeverComplete) and turn.chunks >= fault.chunks:
                await self._silence(ws, session)
                return False
            if isinstance(fault, CloseWithError) and turn.chunks >= fault.after_chunks:
                await self._close(ws, session, fault.code, fault.reason)
                return False
            chunk = audio[start : start + step]
            data = base64.b64encode(chunk).decode()
            part = {"inlineData": {"mimeType": LIVE_MIME, "data": data}}
            await self._send(ws, {"serverContent": {"modelTurn": {"parts": [part]}}})
            turn.audio += chunk
            turn.chunks += 1
        if isinstance(fault, NeverComplete):
            await self._silence(ws, session)
            return False
        await self._send(ws, {"serverContent": {"generationComplete": True}})
        await self._send(
            ws,
            {
                "serverContent": {"turnComplete": True},
                "usageMetadata": usage_metadata(session, turn),
            },
        )
        turn.completed = True
        self._notify()
        return True

    async def _silence(self, ws: ServerConnection, session: LiveSession) -> None:
        """Say nothing more; record what the client sends until it leaves or the server stops."""
        receiving = asyncio.ensure_future(self._record_rest(ws, session))
        closing = asyncio.ensure_future(self._closing.wait())
        await asyncio.wait([receiving, closing], return_when=asyncio.FIRST_COMPLETED)
        for task in (receiving, closing):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await task

    async def _record_rest(self, ws: ServerConnection, session: LiveSession) -> None:
        while (message := await self._recv(ws)) is not None:
            session.messages.append(message)


# ---------------------------------------------------------------- command line


def _build(args: argparse.Namespace) -> FakeLive:
    return FakeLive(api_key=args.api_key, bearer_token=args.bearer_token, chunk_s=args.chunk,
                    latency_s=args.latency, host=args.host, port=args.port, log=True)  # fmt: skip


def _banner(fake: FakeLive) -> str:
    return (
        f"{fake.base_url}\n{fake.ca_file}\n# SSL_CERT_FILE={fake.ca_file} "
        f"GEMINI_LIVE_BASE_URL={fake.base_url} GEMINI_API_KEY={fake.api_key or 'test'}\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = loopback_parser(__doc__, 8766)
    parser.add_argument("--api-key", default=None, help="required key (default: accept any)")
    parser.add_argument("--bearer-token", default=None, help="required token (default: any)")
    parser.add_argument("--chunk", type=float, default=0.2, help="seconds of audio per message")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before the audio")
    standalone(parser, argv, _build, _banner)


if __name__ == "__main__":
    main()
