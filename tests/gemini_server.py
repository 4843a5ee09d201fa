"""A fake Gemini API (aiohttp, loopback only) that the real google-genai client talks to.

It speaks the Gemini Developer API, Vertex AI (project and express mode) and the Interactions
API, as the SDK 3.4 sends them (camelCase or snake_case keys). Routes:

Gemini Developer API (`{ver}` is `v1beta` or `v1`; key in `x-goog-api-key`):

* `POST /{ver}/models/{model}:generateContent`, classified by `generationConfig`:
  `responseModalities` holding IMAGE → kind "image" (a PNG sized by `imageConfig.aspectRatio`,
  coloured by a hash of the prompt, the prompt drawn on it); AUDIO → kind "tts" (raw PCM s16le
  mono 24 kHz, one syllable-like tone of about 0.3 s per word of the prompt's last paragraph,
  so an instruction before a blank line is not read); `responseMimeType:
  application/json` → kind "story"; anything else → kind "text".
* `GET /{ver}/models` and `GET /{ver}/models/{model}` → kind "list".
* Any other `POST /{ver}/models/{model}:{verb}` (`predict`, `predictLongRunning`, ...) → 404
  NOT_FOUND "... is not supported for {verb}" (Imagen and Veo are Vertex-only in SDK 3.x).
* `POST /{ver}/interactions` → kind "interaction"; `GET /{ver}/interactions/{id}` → kind
  "interaction_poll" (see "Video" below; always JSON, `?stream=true` is ignored). A request
  for video output (`response_format` `{"type": "video", "aspect_ratio", "duration": "8s",
  ...}` or `response_modalities` holding "video") answers `{"id", "object": "interaction",
  "status": "in_progress", ...}`; any other interaction completes at once with a text step.
  `input` is a string, a list of content items (`{"type": "text", "text"}`, `{"type":
  "image", "data": b64, "mime_type"}`) or, as the SDK sends a list, `[{"type": "user_input",
  "content": [items]}]`; its first image is the first frame of the clip. A model that makes
  no video (see `tests/gemini_catalog.py`, or not in `video_models` when that is set) gets 400
  INVALID_ARGUMENT "... does not support video output" (unverified).

Vertex AI (`{ver}` is `v1beta1` or `v1`; `{scope}` is `projects/{p}/locations/{l}/` in project
mode and empty in express mode):

* `POST /{ver}/{scope}publishers/google/models/{model}:generateContent`: as on the Developer API
  (same kinds, same answers).
* `GET /{ver}/publishers/google/models/{model}` → kind "list", the Vertex shape
  `{"name": "publishers/google/models/{model}", "versionId": "001", ...}`;
  `GET /{ver}/publishers/google/models` → `{"publisherModels": [...], "nextPageToken"}`. (The SDK
  sends both without `projects/...`, even in project mode.)
* `POST .../models/{model}:predict` → kind "imagen": `{"instances": [{"prompt"}], "parameters":
  {"sampleCount" (default 4), "aspectRatio", "includeRaiReason", "outputOptions": {"mimeType"},
  ...}}` → `{"predictions": [{"mimeType", "bytesBase64Encoded"}, ...]}`, one `render_png` per
  sample at Imagen's size for the aspect ratio (`IMAGEN_SIZES`), times `image_scale`.
* `POST .../models/{model}:predictLongRunning` → kind "video" (Veo): `{"instances": [{"prompt",
  "image": {"bytesBase64Encoded", "mimeType"}}], "parameters": {"sampleCount",
  "durationSeconds", "aspectRatio", "generateAudio", "storageUri", ...}}` → `{"name":
  "{scope}publishers/google/models/{model}/operations/{uuid}"}`.
* `POST .../models/{model}:fetchPredictOperation` with `{"operationName": name}` → kind "poll":
  `{"name"}` while running; then `{"name", "done": true, "response": {"@type": VEO_RESPONSE_TYPE,
  "videos": [{"bytesBase64Encoded", "mimeType": "video/mp4"}] * sampleCount,
  "raiMediaFilteredCount": 0}}` (with `storageUri`: `{"gcsUri"}` entries, bytes in `fake.gcs`).

Auth: a Vertex request carrying `Authorization: Bearer <token>`, and every `projects/...` path,
needs `bearer_token` (None: any token) or gets the real 401 UNAUTHENTICATED body; every other
request needs the `x-goog-api-key` `api_key` (None: any key) or gets the real 400
API_KEY_INVALID body. A model not in `models` gets 404 NOT_FOUND (when `strict_models`; on
Vertex the "Publisher model `...` was not found" text). `models` defaults to the first entry of
each of StoryBot's preference lists. Strict as the real service (`tests/gemini_catalog.py`):
an output the model cannot make (pictures from a text model, audio from a non-TTS model, JSON
from an image model), empty `contents`, an aspect ratio, voice or Veo length outside the
documented set, sampling parameters for 3.8 TTS, `speech_metadata` for an older TTS model, or
speakers outside the documented multi-speaker shape (`tests/gemini_speakers.py`: exactly two
speaker voice configs, known voices, every turn by one of them) answer 400 INVALID_ARGUMENT.
3.8 TTS speaks its whole text and answers WAV; older TTS speaks what follows the last blank line
and answers raw PCM; several turns are spoken each at its voice's pitch, with pauses between.

The fake is split by concern: `gemini_requests` (routes, kinds, `RecordedRequest`),
`gemini_faults` (scripted faults, error bodies), `gemini_story` (the prompt contracts of the
"story" kind), `gemini_media` (pictures, speech, clips), `gemini_answers` (generateContent,
Imagen, model lists), `gemini_video` (Veo operations and video interactions), `gemini_catalog`
(what each model can do), `gemini_speakers` (multi-speaker TTS). This module re-exports their
public names.

Standalone: `python -m tests.gemini_server --port 8765 [--latency-story 3 --latency-image 6
--latency-tts 3 --latency-video 20]` prints its base URL and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from tests.fakeserver import AiohttpServer, loopback_parser, standalone
from tests.gemini_catalog import DEFAULT_MODELS, FakeModel, infer
from tests.gemini_checks import ChecksMixin
from tests.gemini_faults import (
    Delay,
    Fault,
    Hang,
    HttpError,
    Malformed,
    NeverDone,
    NoImage,
    OperationError,
    Persistent,
    PromptBlocked,
    RaiFiltered,
    ResponseBlocked,
    UnknownSpeaker,
    VideoFiltered,
)
from tests.gemini_media import (
    DEFAULT_VIDEO_SECONDS,
    IMAGE_SIZES,
    IMAGEN_SIZES,
    TTS_MIME,
    TTS_RATE,
    VIDEO_FPS,
    VIDEO_SIZES,
    render_mp4,
    render_png,
    speech_pcm,
)
from tests.gemini_requests import KINDS, Kind, RecordedRequest, route
from tests.gemini_story import (
    CHARACTERS,
    DEFAULT_SCENES,
    REPHRASE_MARKER,
    SCENE_COUNT_RE,
    scene_count,
    soften,
    story_dict,
)
from tests.gemini_video import VEO_RESPONSE_TYPE, VideoMixin, VideoOperation

__all__ = [
    "CHARACTERS", "DEFAULT_SCENES", "DEFAULT_VIDEO_SECONDS", "IMAGEN_SIZES", "IMAGE_SIZES",
    "KINDS", "REPHRASE_MARKER", "SCENE_COUNT_RE", "TTS_MIME", "TTS_RATE", "VEO_RESPONSE_TYPE",
    "VIDEO_FPS", "VIDEO_SIZES", "Delay", "FakeGemini", "Fault", "Hang", "HttpError", "Kind",
    "Malformed", "NeverDone", "NoImage", "OperationError", "Persistent", "PromptBlocked",
    "RaiFiltered", "RecordedRequest", "ResponseBlocked", "UnknownSpeaker", "VideoFiltered",
    "VideoOperation", "main", "render_mp4", "render_png", "scene_count", "soften", "speech_pcm",
    "story_dict",
]  # fmt: skip


class FakeGemini(ChecksMixin, VideoMixin, AiohttpServer):
    """The server: `async with FakeGemini() as fake:`, then point a client at `fake.base_url`."""

    label = "Gemini server"

    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        models: Sequence[str | FakeModel] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: dict[str, float] | None = None,
        image_scale: float = 1.0,
        strict_models: bool = True,
        log: Callable[[RecordedRequest], None] | None = None,
        bearer_token: str | None = "test",
        video_models: list[str] | None = None,
        video_latency_s: float = 0.0,
        polls_until_done: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key  # None: any non-empty key is accepted
        self.bearer_token = bearer_token  # Vertex OAuth token; None: any non-empty token
        self.specs: dict[str, FakeModel] = {}  # models the naming rules cannot read
        self.models = list(DEFAULT_MODELS if models is None else models)  # type: ignore[arg-type]
        self.video_models = video_models  # None: every model whose outputs include video
        self.latency: dict[str, float] = dict.fromkeys(KINDS, 0.0) | (latency or {})
        self.image_scale = image_scale  # e.g. 0.25 for fast tests; the aspect ratio is kept
        self.strict_models = strict_models
        self.log = log
        # Completion rule of new video operations (see `VideoOperation`).
        self.video_latency_s = video_latency_s
        self.polls_until_done = polls_until_done
        self.requests: list[RecordedRequest] = []
        self.operations: dict[str, VideoOperation] = {}
        self.gcs: dict[str, bytes] = {}  # Veo clips written to `storageUri`, by gs:// URI
        self._queues: dict[str, deque[Fault]] = {k: deque() for k in KINDS}

    @property
    def models(self) -> list[str]:
        """The catalog's model ids; assign ids or `FakeModel`s (kept in `specs`)."""
        return self._models

    @models.setter
    def models(self, entries: Sequence[str | FakeModel]) -> None:
        self._models = []
        for entry in entries:
            if isinstance(entry, FakeModel):
                self.specs[entry.id] = entry
                entry = entry.id
            self._models.append(entry)

    def spec(self, model: str) -> FakeModel:
        """What `model` can do: its `FakeModel`, else read from its id."""
        return self.specs.get(model) or infer(model)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment variables that point StoryBot at this server (Developer API)."""
        return {"GEMINI_API_KEY": self.api_key or "test", "GEMINI_BASE_URL": self.base_url}

    def vertex_env(self, express: bool = False) -> dict[str, str]:
        """Environment variables for Vertex AI: express mode (API key) or project `p` in
        us-central1 (bearer credentials come from the client's own setup)."""
        env = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_BASE_URL": self.base_url}
        if express:
            return env | {"GOOGLE_API_KEY": self.api_key or "test"}
        return env | {"GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_CLOUD_LOCATION": "us-central1"}

    def script(self, kind: Kind, *faults: Fault) -> None:
        """Queue one-shot `faults` for the next calls of `kind`; an empty queue means success."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        self._queues[kind].extend(faults)

    def reset(self) -> None:
        """Forget recorded requests and scripted faults (operations stay pollable)."""
        self.requests.clear()
        for queue in self._queues.values():
            queue.clear()

    def calls(self, kind: Kind) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == kind]

    def operation(self, name: str) -> VideoOperation:
        """The operation named `name` (a Veo operation name or an interaction id)."""
        return self.operations[name]

    # -- plumbing

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    def _next_fault(self, kind: Kind) -> Fault | None:
        queue = self._queues[kind]
        if not queue:
            return None
        head = queue[0]
        if isinstance(head, Persistent):
            return head.fault
        return queue.popleft()

    async def _dispatch(self, request: web.Request) -> web.Response:
        body: dict[str, Any] | None = None
        if request.can_read_body:
            try:
                parsed = json.loads(await request.read() or b"null")
                body = parsed if isinstance(parsed, dict) else None
            except ValueError:
                body = None
        record = RecordedRequest(
            request.method,
            request.path,
            {k.lower(): v for k, v in request.headers.items()},
            body,
            None,
            None,
            time.monotonic(),
        )
        route(record)
        self.requests.append(record)
        try:
            try:
                response = await self._answer(request, record)
            except Exception as exc:  # a bug in the fake: recorded, and the test fails at stop
                self.errors.append(f"{record.method} {record.path}: {traceback.format_exc()}")
                response = _error(HttpError(500, "INTERNAL", f"fake server error: {exc}"))
            record.status = response.status
            return response
        finally:
            self._notify()  # for `wait_until`
            if self.log is not None:
                self.log(record)

    # -- answers

    async def _answer(self, request: web.Request, record: RecordedRequest) -> web.Response:
        if (refused := self._refusal(request, record)) is not None:
            return _error(refused)
        assert record.kind is not None  # `_refusal` answered requests of no kind
        fault = self._next_fault(record.kind)
        if isinstance(fault, HttpError):
            return _error(fault)
        if isinstance(fault, Hang):
            await self._sleep(fault.seconds)
            return _error(HttpError.overloaded())
        extra = fault.seconds if isinstance(fault, Delay) else 0.0
        await self._sleep(self.latency.get(record.kind, 0.0) + extra)
        return web.json_response(await self._body(request, record, fault))

    async def _body(
        self, request: web.Request, record: RecordedRequest, fault: Fault | None
    ) -> dict[str, Any]:
        """The 200 answer of a request of its kind."""
        if record.kind == "list":
            if record.vertex:
                return self._vertex_list(request, record.model)
            return self._list(request, record.model)
        if record.kind == "imagen":
            return await self._imagen(record, fault)
        if record.kind == "video":
            return self._start_video(record, fault)
        if record.kind == "poll":
            return await self._poll_video(record)
        if record.kind == "interaction":
            return await self._create_interaction(record, fault)
        if record.kind == "interaction_poll":
            return await self._poll_interaction(record)
        return await self._generate(record, fault)


def _error(fault: HttpError) -> web.Response:
    return web.json_response(fault.body(), status=fault.status)


# ---------------------------------------------------------------- command line


def _log_line(record: RecordedRequest) -> None:
    extra = f" voice={record.voice}" if record.kind == "tts" else ""
    if record.kind in ("image", "imagen", "video", "interaction"):
        extra += f" aspect={record.aspect_ratio}"
    extra += f" operation={record.operation}" if record.operation else ""
    sys.stderr.write(f"{record.method} {record.path} kind={record.kind}{extra}\n")


def _build(args: argparse.Namespace) -> FakeGemini:
    kinds = ("story", "image", "tts", "text")
    latency = dict(zip(kinds, (args.latency_story, args.latency_image, args.latency_tts,
                               args.latency_story), strict=True))  # fmt: skip
    return FakeGemini(api_key=args.api_key, host=args.host, port=args.port, latency=latency,
                      image_scale=args.image_scale, strict_models=not args.any_model,
                      log=_log_line, bearer_token=args.bearer_token,
                      video_latency_s=args.latency_video)  # fmt: skip


def _banner(fake: FakeGemini) -> str:
    return (
        f"{fake.base_url}\n# GEMINI_API_KEY={fake.api_key or 'test'} "
        f"GEMINI_BASE_URL={fake.base_url} storybot story 'a cat and a dog'\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = loopback_parser(__doc__, 8765)
    parser.add_argument("--api-key", default=None, help="required key (default: accept any)")
    parser.add_argument("--latency-story", type=float, default=0.0)
    parser.add_argument("--latency-image", type=float, default=0.0)
    parser.add_argument("--latency-tts", type=float, default=0.0)
    parser.add_argument(
        "--latency-video", type=float, default=0.0, help="seconds until a video operation is done"
    )
    parser.add_argument(
        "--bearer-token", default=None, help="required Vertex token (default: accept any)"
    )
    parser.add_argument("--image-scale", type=float, default=1.0)
    parser.add_argument("--any-model", action="store_true", help="serve unknown model ids too")
    standalone(parser, argv, _build, _banner)


if __name__ == "__main__":
    main()
