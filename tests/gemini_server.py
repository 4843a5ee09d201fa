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
documented set, sampling parameters for 3.8 TTS, or `speech_metadata` for an older TTS model
answer 400 INVALID_ARGUMENT. 3.8 TTS speaks its whole text and answers WAV; older TTS speaks
what follows the last blank line and answers raw PCM. `models.list` gives each model's
real methods (`bidiGenerateContent` alone for Live).

Video (Veo operations and video interactions): the clip is a real H.264 + AAC MP4 made by the
bundled ffmpeg (`render_mp4`): `durationSeconds` / `duration` long (default 8), 24 fps, at
`VIDEO_SIZES[aspect]` times `image_scale`, a slow zoom on the request's image (else on a
`render_png` of the prompt), a tone as audio (none when `generateAudio` is false); clips are
cached. Each operation is a `VideoOperation` in `fake.operations` (by operation name or
interaction id; it outlives clients and `reset`). It finishes once both
`video_latency_s` seconds have passed since its start and more than `polls_until_done` polls
came (both snapshotted into the operation at its start; defaults 0 and 0: the first poll sees
it done). A non-background video interaction answers done at once, after `video_latency_s`.

Prompt contracts of the "story" kind:

* Scene count: the prompt (contents or system instruction) says `exactly N scenes`
  (N in digits or one..ten, see `SCENE_COUNT_RE`); without it `DEFAULT_SCENES` scenes come back.
  The story is about Whiskers the cat and Buster the dog; one sentence of narration per scene and
  the same `character_description` on every scene. The JSON follows the requested schema
  (`title`, `scenes[].image_prompt/narration/character_description`; other fields get fillers).
* Rephrase: when the schema's only property is `image_prompt` (or, without a schema, the prompt
  contains `REPHRASE_MARKER`), the answer is `{"image_prompt": "<softened text>"}` where the text
  is what follows `REPHRASE_MARKER` (or the whole prompt), made gentler.

Faults: `script(kind, *faults)` queues one-shot faults per kind; `Persistent(fault)` stays at the
head of its queue. `HttpError` answers the call of its kind at once (on "video"/"interaction":
the start; on "poll"/"interaction_poll": one poll). `latency[kind]` delays successful (HTTP 200)
answers. `PromptBlocked`, `ResponseBlocked`, `Malformed`, `NoImage` shape generateContent
answers; `RaiFiltered` shapes an Imagen answer. On "video" and "interaction" these apply when
the operation finishes: `OperationError` (Veo: `"error": {"code", "message"}`; interaction:
status "failed", a `model_output` step with `error` and top-level `errors`), `VideoFiltered`
(Veo: no videos, `raiMediaFilteredCount`/`Reasons`; interaction: status "incomplete" with
`errors` code "SAFETY", no video; shape unverified) and `NeverDone` (never finishes).

Standalone: `python -m tests.gemini_server --port 8765 [--latency-story 3 --latency-image 6
--latency-tts 3 --latency-video 20]` prints its base URL and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import io
import json
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import traceback
import uuid
import wave
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeAlias, get_args

import imageio_ffmpeg
import numpy as np
from aiohttp import web
from PIL import Image, ImageDraw, ImageFont, ImageOps

from tests.gemini_catalog import (
    DEFAULT_MODELS,
    FakeModel,
    check_generate,
    check_predict,
    infer,
)

Kind = Literal[
    "story", "image", "tts", "text", "list",
    "imagen", "video", "poll", "interaction", "interaction_poll",
]  # fmt: skip
KINDS: tuple[Kind, ...] = get_args(Kind)
DEFAULT_SCENES = 3
_NUMBER_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
SCENE_COUNT_RE = re.compile(rf"exactly\s+(\d+|{'|'.join(_NUMBER_WORDS)})\s+scenes?", re.I)
REPHRASE_MARKER = "Rewrite this image prompt"
CHARACTERS = (
    "Whiskers is a small orange tabby cat with green eyes and a blue collar; "
    "Buster is a big friendly brown dog with floppy ears and a red scarf."
)
_BEATS = (
    "Whiskers the cat and Buster the dog wake up on a sunny morning.",
    "They find a mysterious map under the garden bench.",
    "Buster sniffs the trail while Whiskers reads the map.",
    "They cross a wobbly bridge over a sparkling stream.",
    "A grey cloud rolls in, so they share a big yellow umbrella.",
    "Whiskers climbs a tall tree to look for the way home.",
    "Buster digs up a little box full of shiny buttons.",
    "They give the buttons to their friends in the village.",
    "Everyone shares a picnic to celebrate the happy day.",
    "Whiskers and Buster curl up together, sleepy and content.",
)
_SOFTER = {
    "scary": "silly", "monster": "friendly creature", "fight": "play", "blood": "paint",
    "weapon": "toy", "sword": "stick", "gun": "toy", "dark": "twilight", "angry": "grumpy",
}  # fmt: skip
# Output sizes of the real Gemini image models per aspect ratio.
IMAGE_SIZES = {
    "1:1": (1024, 1024), "16:9": (1344, 768), "9:16": (768, 1344), "4:3": (1184, 864),
    "3:4": (864, 1184), "3:2": (1248, 832), "2:3": (832, 1248), "4:5": (896, 1152),
    "5:4": (1152, 896), "21:9": (1536, 672),
}  # fmt: skip
# Output sizes of Imagen 3/4 per aspect ratio.
IMAGEN_SIZES = {
    "1:1": (1024, 1024), "9:16": (768, 1408), "16:9": (1408, 768), "3:4": (896, 1280),
    "4:3": (1280, 896),
}  # fmt: skip
# Fake clip sizes (the real 720p is 1280x720), before `image_scale`.
VIDEO_SIZES = {"16:9": (320, 180), "9:16": (180, 320), "1:1": (240, 240)}
VIDEO_FPS = 24
DEFAULT_VIDEO_SECONDS = 8.0
VEO_RESPONSE_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
TTS_RATE = 24_000
TTS_MIME = f"audio/L16;codec=pcm;rate={TTS_RATE}"
_RPC = "type.googleapis.com/google.rpc"
_DEV_MODEL = r"/(v1beta|v1)/(?:models|tunedModels)/([^/:]+):(\w+)"
_VERTEX = (
    r"/(v1beta1|v1)/(?:projects/([^/]+)/locations/([^/]+)/)?"
    r"publishers/google/models(?:/([^/:]+))?(?::(\w+))?/?"
)
_INTERACTIONS = r"/(v1beta|v1)/interactions(?:/([^/:]+))?/?"
_VERTEX_KINDS: dict[str, Kind] = {
    "predict": "imagen", "predictLongRunning": "video", "fetchPredictOperation": "poll",
}  # fmt: skip
_VERTEX_METHODS = {
    "generateContent": "PredictionService.GenerateContent", "predict": "PredictionService.Predict",
    "predictLongRunning": "PredictionService.PredictLongRunning",
    "fetchPredictOperation": "PredictionService.FetchPredictOperation",
}  # fmt: skip
# google.rpc.Code numbers → names, for operation errors.
_CODES = {
    1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
    7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 13: "INTERNAL",
    14: "UNAVAILABLE",
}  # fmt: skip


def _get(obj: Any, camel: str, default: Any = None) -> Any:
    """`obj[camel]` or `obj[snake_case(camel)]`: the SDK mixes both spellings."""
    if not isinstance(obj, dict):
        return default
    if camel in obj:
        return obj[camel]
    return obj.get(re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower(), default)


# ---------------------------------------------------------------- faults


@dataclass(frozen=True)
class HttpError:
    """A non-200 answer with the real `{"error": {...}}` body."""

    status: int
    status_text: str
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.status,
            "message": self.message,
            "status": self.status_text,
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}

    @classmethod
    def bad_key(cls, service: str = "generativelanguage.googleapis.com") -> HttpError:
        """The wrong API key (Vertex express mode: `service="aiplatform.googleapis.com"`)."""
        message = "API key not valid. Please pass a valid API key."
        return cls(400, "INVALID_ARGUMENT", message, [
            {"@type": f"{_RPC}.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com", "metadata": {"service": service}},
            {"@type": f"{_RPC}.LocalizedMessage", "locale": "en-US",
             "message": message},
        ])  # fmt: skip

    @classmethod
    def unauthenticated(
        cls, *, missing: bool = False, method: str = "PredictionService.GenerateContent"
    ) -> HttpError:
        """Vertex AI without (`missing`) or with a wrong OAuth bearer token."""
        start = (
            "Request is missing required authentication credential."
            if missing
            else "Request had invalid authentication credentials."
        )
        message = (
            f"{start} Expected OAuth 2 access token, login cookie or other valid authentication "
            "credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
        )
        reason = "CREDENTIALS_MISSING" if missing else "ACCESS_TOKEN_TYPE_UNSUPPORTED"
        return cls(401, "UNAUTHENTICATED", message, [
            {"@type": f"{_RPC}.ErrorInfo", "reason": reason, "domain": "googleapis.com",
             "metadata": {"service": "aiplatform.googleapis.com",
                          "method": f"google.cloud.aiplatform.v1beta1.{method}"}},
        ])  # fmt: skip

    @classmethod
    def invalid_argument(cls, message: str = "Request contains an invalid argument.") -> HttpError:
        return cls(400, "INVALID_ARGUMENT", message)

    @classmethod
    def not_found(
        cls, model: str = "gemini-0-nope", version: str = "v1beta", method: str = "generateContent"
    ) -> HttpError:
        return cls(
            404,
            "NOT_FOUND",
            f"models/{model} is not found for API version {version}, "
            f"or is not supported for {method}. Call ListModels to see the list "
            "of available models and their supported methods.",
        )

    @classmethod
    def publisher_not_found(cls, model: str, scope: str = "") -> HttpError:
        """Vertex AI's 404 for an unknown model; `scope` is `projects/{p}/locations/{l}/`."""
        return cls(
            404,
            "NOT_FOUND",
            f"Publisher model `{scope}publishers/google/models/{model}` was not found or your "
            "project does not have access to it. Please ensure you are using a valid model "
            "version. For more information, see: "
            "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions",
        )

    @classmethod
    def no_video(cls, model: str) -> HttpError:
        """A video request to a model that cannot make video (wording unverified)."""
        return cls.invalid_argument(f"Model {model} does not support video output.")

    @classmethod
    def quota(cls, retry_delay: str = "2s", model: str = "gemini-2.5-flash") -> HttpError:
        violation = {"quotaMetric": "generativelanguage.googleapis.com/generate_content_"
                     "free_tier_requests", "quotaValue": "10",
                     "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                     "quotaDimensions": {"location": "global", "model": model}}  # fmt: skip
        quota_failure = {"@type": f"{_RPC}.QuotaFailure", "violations": [violation]}
        retry_info = {"@type": f"{_RPC}.RetryInfo", "retryDelay": retry_delay}
        message = (
            "You exceeded your current quota, please check your plan and billing details. For "
            "more information on this error, head to: "
            "https://ai.google.dev/gemini-api/docs/rate-limits."
        )
        return cls(429, "RESOURCE_EXHAUSTED", message, [quota_failure, retry_info])

    @classmethod
    def internal(cls) -> HttpError:
        return cls(
            500,
            "INTERNAL",
            "An internal error has occurred. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting",
        )

    @classmethod
    def overloaded(cls) -> HttpError:
        return cls(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")


@dataclass(frozen=True)
class PromptBlocked:
    """HTTP 200 with `promptFeedback.blockReason` and no candidates."""

    reason: str = "PROHIBITED_CONTENT"


@dataclass(frozen=True)
class ResponseBlocked:
    """HTTP 200 with one candidate that has a `finishReason` and safety ratings but no content."""

    finish_reason: str = "SAFETY"  # also IMAGE_SAFETY, PROHIBITED_CONTENT, RECITATION, ...
    category: str = "HARM_CATEGORY_DANGEROUS_CONTENT"


@dataclass(frozen=True)
class Malformed:
    """HTTP 200 whose only part is this text (for story calls: broken or off-schema JSON)."""

    text: str = '{"title": "Whiskers and Buster", "scenes": [{"narration": '


@dataclass(frozen=True)
class NoImage:
    """HTTP 200, finishReason STOP, a text part only (the image model declined to draw)."""

    text: str = "I can't create that image, but here is a description of the scene instead."


@dataclass(frozen=True)
class Delay:
    """A normal success after `seconds` of extra latency."""

    seconds: float


@dataclass(frozen=True)
class Hang:
    """No answer until `seconds` pass or the server closes (then 503): for client timeouts."""

    seconds: float = 3600.0


@dataclass(frozen=True)
class RaiFiltered:
    """Imagen: `count` samples (None: all) filtered by Responsible AI.

    With `includeRaiReason` the answer carries one `{"raiFilteredReason": reason}` prediction
    after the images that passed; without it the filtered ones are just missing, and when none
    is left the body is `{}` (the SDK's `generated_images` is then None).
    """

    reason: str = (
        "The prompt could not be submitted. This prompt contains sensitive words that violate "
        "Google's Responsible AI practices. Try rephrasing the prompt. If you think this was an "
        "error, send feedback. Support codes: 17301594"
    )
    count: int | None = None


@dataclass(frozen=True)
class OperationError:
    """A video operation that finishes with `error` (Veo) or status "failed" (interaction)."""

    code: int = 3  # google.rpc.Code INVALID_ARGUMENT
    message: str = (
        "Veo could not generate videos because the input image violates Vertex AI's usage "
        "guidelines. If you think this was an error, send feedback. Support codes: 15236754"
    )


@dataclass(frozen=True)
class VideoFiltered:
    """A video operation that finishes with `count` samples filtered (none left by default)."""

    count: int = 1
    reasons: tuple[str, ...] | list[str] = (
        "Veo could not generate videos because the prompt or input image violates Vertex AI's "
        "usage guidelines. Support codes: 58061214",
    )


@dataclass(frozen=True)
class NeverDone:
    """A video operation that stays running forever (for client-side deadlines)."""


@dataclass(frozen=True)
class Persistent:
    """`fault` on every call of its kind from now on (until `FakeGemini.reset`)."""

    fault: Fault


Fault: TypeAlias = (
    HttpError
    | PromptBlocked
    | ResponseBlocked
    | Malformed
    | NoImage
    | Delay
    | Hang
    | Persistent
    | RaiFiltered
    | OperationError
    | VideoFiltered
    | NeverDone
)


# ---------------------------------------------------------------- recorded requests


def _b64decode(data: str) -> bytes:
    """Standard or URL-safe base64, padded or not."""
    data = data.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(data + "=" * (-len(data) % 4))


def _content_items(value: Any) -> list[dict[str, Any]]:
    """Interactions `input` flattened to content items: a string, items, or turns of items."""
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    if isinstance(value, list):
        return [item for v in value for item in _content_items(v)]
    if isinstance(value, dict):
        return _content_items(value["content"]) if "content" in value else [value]
    return []


@dataclass
class RecordedRequest:
    """One request as the fake saw it; `status` is the HTTP status it answered.

    `vertex` is true for Vertex AI paths; `project`/`location` are set on `projects/...` paths;
    `verb` is the `:verb` of a model path (`generateContent`, `predict`, ...); `operation` is
    the operation name (kind "poll") or interaction id (kind "interaction_poll") asked for.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    kind: Kind | None
    model: str | None
    time: float
    status: int = 0
    vertex: bool = False
    project: str | None = None
    location: str | None = None
    verb: str | None = None
    operation: str | None = None

    @property
    def generation_config(self) -> dict[str, Any]:
        return _get(self.body, "generationConfig") or {}

    @property
    def instance(self) -> dict[str, Any]:
        """The first of `instances` (Imagen and Veo requests), else `{}`."""
        instances = _get(self.body, "instances")
        first = instances[0] if isinstance(instances, list) and instances else None
        return first if isinstance(first, dict) else {}

    @property
    def parameters(self) -> dict[str, Any]:
        """`parameters` of an Imagen or Veo request (`sampleCount`, `aspectRatio`, ...)."""
        params = _get(self.body, "parameters")
        return params if isinstance(params, dict) else {}

    @property
    def response_format(self) -> dict[str, Any]:
        """The video entry of an interaction's `response_format`, else its first entry."""
        value = _get(self.body, "responseFormat")
        formats = [f for f in (value if isinstance(value, list) else [value]) if f]
        video = [f for f in formats if isinstance(f, dict) and f.get("type") == "video"]
        first = (video or formats or [{}])[0]
        return first if isinstance(first, dict) else {}

    @property
    def wants_video(self) -> bool:
        """An interaction asking for video output."""
        modalities = _get(self.body, "responseModalities") or []
        return self.response_format.get("type") == "video" or "video" in {
            str(m).lower() for m in modalities
        }

    @property
    def prompt(self) -> str:
        """The prompt of any kind: Imagen/Veo `instances[0].prompt`, the text items of an
        interaction's `input`, else the text of `contents` (like `text`)."""
        if self.kind in ("imagen", "video"):
            return str(self.instance.get("prompt") or "")
        if self.kind == "interaction":
            items = _content_items(_get(self.body, "input"))
            return "\n".join(str(i.get("text")) for i in items if i.get("type") == "text")
        return self.text

    @property
    def input_images(self) -> list[bytes]:
        """Decoded source pictures: Veo's `instances[0].image`, an interaction's image items."""
        if self.kind == "video":
            data = _get(self.instance.get("image"), "bytesBase64Encoded")
            return [_b64decode(data)] if isinstance(data, str) else []
        if self.kind == "interaction":
            items = _content_items(_get(self.body, "input"))
            return [
                _b64decode(i["data"])
                for i in items
                if i.get("type") == "image" and isinstance(i.get("data"), str)
            ]
        return self.inline_images

    def _parts(self, key: str = "contents") -> list[dict[str, Any]]:
        value = _get(self.body, key)
        contents = value if isinstance(value, list) else [value] if value else []
        return [p for c in contents for p in (_get(c, "parts") or []) if isinstance(p, dict)]

    @property
    def text(self) -> str:
        """The text parts of `contents`, joined by newlines."""
        return "\n".join(p["text"] for p in self._parts() if isinstance(p.get("text"), str))

    @property
    def system_text(self) -> str:
        return "\n".join(p["text"] for p in self._parts("systemInstruction") if "text" in p)

    @property
    def inline_images(self) -> list[bytes]:
        """Decoded inline image parts (reference pictures); the SDK sends URL-safe base64."""
        blobs = [_get(p, "inlineData") for p in self._parts()]
        return [
            base64.urlsafe_b64decode(b["data"] + "=" * (-len(b["data"]) % 4))
            for b in blobs
            if b and str(_get(b, "mimeType", "")).startswith("image/")
        ]

    @property
    def aspect_ratio(self) -> str | None:
        """`imageConfig.aspectRatio`, Imagen/Veo `parameters.aspectRatio`, or an interaction's
        `response_format.aspect_ratio`."""
        ratio: str | None = (
            _get(_get(self.generation_config, "imageConfig"), "aspectRatio")
            or _get(self.parameters, "aspectRatio")
            or _get(self.response_format, "aspectRatio")
        )
        return ratio

    @property
    def voice(self) -> str | None:
        """The voice of a TTS request: `voiceConfig.voice` or the prebuilt voice name."""
        voice = _get(_get(self.generation_config, "speechConfig"), "voiceConfig")
        name: str | None = _get(voice, "voice") or _get(
            _get(voice, "prebuiltVoiceConfig"), "voiceName"
        )
        return name

    @property
    def speech_styles(self) -> list[str]:
        """The `speech_metadata.style` of each part of a TTS request."""
        return [
            str(_get(_get(p, "speechMetadata"), "style"))
            for p in self._parts()
            if _get(_get(p, "speechMetadata"), "style")
        ]

    @property
    def schema(self) -> dict[str, Any] | None:
        config = self.generation_config
        schema: dict[str, Any] | None = _get(config, "responseJsonSchema") or _get(
            config, "responseSchema"
        )
        return schema

    @property
    def is_rephrase(self) -> bool:
        props = (self.schema or {}).get("properties")
        if isinstance(props, dict):
            return set(props) == {"image_prompt"}
        return self.kind == "story" and REPHRASE_MARKER.lower() in self.text.lower()


def _route(record: RecordedRequest) -> None:
    """Fill in `record.kind`, `model`, `vertex`, `project`, `location`, `verb`, `operation`."""
    method, path, body = record.method, record.path, record.body
    if m := re.fullmatch(_VERTEX, path):
        record.vertex = True
        _, record.project, record.location, record.model, record.verb = m.groups()
        if record.verb is None:
            record.kind = "list" if method == "GET" else None
        elif method != "POST" or body is None:
            pass
        elif record.verb == "generateContent":
            record.kind = _classify(body)
        elif record.verb in _VERTEX_KINDS:
            record.kind = _VERTEX_KINDS[record.verb]
            if record.kind == "poll":
                record.operation = str(_get(body, "operationName") or "")
    elif m := re.fullmatch(_DEV_MODEL, path):
        record.model, record.verb = m.group(2), m.group(3)
        if record.verb == "generateContent" and method == "POST" and body is not None:
            record.kind = _classify(body)
    elif m := re.fullmatch(r"/(v1beta|v1)/models(?:/([^/:]+))?/?", path):
        if method == "GET":
            record.kind, record.model = "list", m.group(2)
    elif m := re.fullmatch(_INTERACTIONS, path):
        if method == "POST" and m.group(2) is None and body is not None:
            record.kind, model = "interaction", _get(body, "model")
            record.model = str(model).removeprefix("models/") if model else None
        elif method == "GET" and m.group(2) is not None:
            record.kind, record.operation = "interaction_poll", m.group(2)
    elif path.startswith(("/v1beta1/", "/v1/projects/", "/v1/publishers/")):
        record.vertex = True


def _classify(body: dict[str, Any]) -> Kind:
    config = _get(body, "generationConfig") or {}
    modalities = {str(m).upper() for m in _get(config, "responseModalities") or []}
    if "IMAGE" in modalities:
        return "image"
    if "AUDIO" in modalities:
        return "tts"
    if str(_get(config, "responseMimeType", "")).startswith("application/json"):
        return "story"
    return "text"


# ---------------------------------------------------------------- content generators


def scene_count(prompt: str) -> int:
    """N from `exactly N scenes` in `prompt`, else `DEFAULT_SCENES`."""
    match = SCENE_COUNT_RE.search(prompt)
    if not match:
        return DEFAULT_SCENES
    word = match.group(1).lower()
    return int(word) if word.isdigit() else _NUMBER_WORDS.index(word) + 1


def story_dict(scenes: int) -> dict[str, Any]:
    beats = [_BEATS[i % len(_BEATS)] for i in range(scenes)]
    return {
        "title": "Whiskers and Buster's Big Day",
        "scenes": [
            {
                "image_prompt": f"Scene {i + 1} of {scenes}: {beat.rstrip('.')}. {CHARACTERS}",
                "narration": beat,
                "character_description": CHARACTERS,
            }
            for i, beat in enumerate(beats)
        ],
    }


def soften(prompt: str) -> str:
    """The text after `REPHRASE_MARKER` (or all of it), with gentler words."""
    head, marker, tail = prompt.partition(REPHRASE_MARKER)
    text = " ".join((tail if marker else head).lstrip(" :\n").strip().strip("\"'").split())
    for word, softer in _SOFTER.items():
        text = re.sub(rf"\b{word}\b", softer, text, flags=re.I)
    return f"A gentle, friendly picture for children: {text}"[:780]


def _conform(value: Any, schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """`value` reshaped to `schema` (OpenAPI or JSON Schema); missing leaves get fillers."""
    if "$ref" in schema:
        schema = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
    for key in ("anyOf", "oneOf"):
        options = [s for s in schema.get(key, []) if str(s.get("type", "")).lower() != "null"]
        if options:
            schema = options[0]
    kind = schema.get("type", "")
    kind = next((t for t in kind if t != "null"), "") if isinstance(kind, list) else kind
    kind = str(kind).lower()
    if kind == "object" or "properties" in schema:
        src = value if isinstance(value, dict) else {}
        props = schema.get("properties") or {}
        return {k: _conform(src.get(k), s, defs) for k, s in props.items()} if props else src
    if kind == "array":
        items = value if isinstance(value, list) else [None]
        return [_conform(v, schema.get("items") or {}, defs) for v in items]
    if value is not None:
        return value
    if schema.get("enum"):
        return schema["enum"][0]
    return {"integer": 1, "number": 1.0, "boolean": True, "null": None}.get(kind, "text")


def render_png(
    prompt: str, size: tuple[int, int], reference: bytes | None = None, variant: int = 0
) -> bytes:
    """A PNG whose colour and caption follow `prompt`; `reference` is pasted as a thumbnail.

    `variant` > 0 changes the colour (the other samples of one Imagen call)."""
    digest = hashlib.sha256((f"{prompt}#{variant}" if variant else prompt).encode()).digest()
    colour = (60 + digest[0] % 160, 60 + digest[1] % 160, 60 + digest[2] % 160)
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    w, h = size
    band = (255 - colour[0], 255 - colour[1], 255 - colour[2])
    draw.rectangle((0, h * 2 // 3, w, h), fill=band)
    draw.ellipse((w // 8, h // 6, w // 8 + w // 4, h // 6 + w // 4), fill=(240, 150, 40))  # cat
    draw.rectangle((w // 2, h // 4, w // 2 + w // 4, h // 4 + w // 5), fill=(120, 80, 40))  # dog
    font = ImageFont.load_default(size=max(10, h // 28))
    lines = textwrap.wrap(prompt, width=max(12, w // max(6, h // 50)))[:6]
    draw.multiline_text((8, h * 2 // 3 + 8), "\n".join(lines), fill=colour, font=font)
    if reference:
        with contextlib.suppress(OSError), Image.open(io.BytesIO(reference)) as ref:
            thumb = ref.convert("RGB")
            thumb.thumbnail((w // 5, h // 5))
            image.paste(thumb, (w - thumb.width - 4, 4))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def speech_pcm(text: str, rate: int = TTS_RATE) -> bytes:
    """Raw s16le mono PCM: per word a voiced, syllable-modulated tone, then a short silence."""
    words = re.findall(r"\w+", text) or ["hm"]
    gap = np.zeros(int(0.06 * rate))
    chunks = [np.zeros(int(0.1 * rate))]
    for word in words:
        seed = int.from_bytes(hashlib.sha256(word.lower().encode()).digest()[:4], "big")
        f0 = 110.0 + seed % 140
        duration = 0.16 + 0.02 * min(len(word), 7)
        t = np.arange(int(duration * rate)) / rate
        syllables = max(1, min(4, len(re.findall(r"[aeiouy]+", word.lower()))))
        envelope = np.sin(np.pi * t / duration) * (
            0.55 + 0.45 * np.abs(np.sin(np.pi * syllables * t / duration))
        )
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in (1, 2, 3))
        chunks += [0.3 * envelope * tone / 1.84, gap]
    chunks.append(np.zeros(int(0.1 * rate)))
    return (np.concatenate(chunks) * 32767).astype("<i2").tobytes()


_MP4_CACHE: dict[tuple[str, str, float, tuple[int, int], bool], bytes] = {}
_MP4_LOCK = threading.Lock()


def _ffmpeg() -> str:
    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def render_mp4(
    prompt: str,
    size: tuple[int, int],
    duration_s: float = DEFAULT_VIDEO_SECONDS,
    image: bytes | None = None,
    audio: bool = True,
) -> bytes:
    """A real H.264/AAC MP4 (blocking; cached): a slow zoom on `image` (cover-fitted, so the
    first frame is the whole picture) or on a `render_png` of `prompt`, with a tone whose pitch
    follows `prompt`. `size` must be even."""
    key = (hashlib.sha256(image or b"").hexdigest(), prompt, duration_s, size, audio)
    with _MP4_LOCK:
        if key in _MP4_CACHE:
            return _MP4_CACHE[key]
    w, h = size
    frame: Image.Image | None = None
    if image:
        with contextlib.suppress(OSError), Image.open(io.BytesIO(image)) as picture:
            frame = ImageOps.fit(picture.convert("RGB"), (2 * w, 2 * h))
    if frame is None:
        frame = Image.open(io.BytesIO(render_png(prompt, (2 * w, 2 * h)))).convert("RGB")
    frames = max(1, round(duration_s * VIDEO_FPS))
    pitch = 220 + int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:2], "big") % 440
    with tempfile.TemporaryDirectory(prefix="fake-veo-") as tmp:
        first, out = Path(tmp) / "first.png", Path(tmp) / "clip.mp4"
        frame.save(first)
        zoom = (
            f"zoompan=z='1+0.1*on/{frames}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'"
            f":d={frames}:s={w}x{h}:fps={VIDEO_FPS},format=yuv420p"
        )
        cmd = [_ffmpeg(), "-y", "-hide_banner", "-loglevel", "error", "-i", str(first)]
        if audio:
            sine = f"sine=frequency={pitch}:sample_rate=48000:duration={duration_s}"
            cmd += ["-f", "lavfi", "-i", sine]
        cmd += ["-filter_complex", f"[0:v]{zoom}[v]", "-map", "[v]"]
        cmd += ["-map", "1:a", "-c:a", "aac", "-b:a", "64k"] if audio else []
        cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage"]
        cmd += ["-t", f"{duration_s}", "-movflags", "+faststart", str(out)]
        done = subprocess.run(cmd, capture_output=True, check=False, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"ffmpeg failed: {done.stderr.decode(errors='replace')[-500:]}")
        clip = out.read_bytes()
    with _MP4_LOCK:
        _MP4_CACHE[key] = clip
    return clip


# ---------------------------------------------------------------- video operations


@dataclass
class VideoOperation:
    """One Veo operation (`api="veo"`, keyed by its name) or video interaction (`api=
    "interactions"`, keyed by its id), as started; the fake keeps it across clients.

    `prompt`, `image` (the decoded first-frame picture) and `parameters` (Veo `parameters`, or
    the interaction's video `response_format`) are what the start request asked for.
    `latency_s` and `polls_until_done` are the completion rule, snapshotted from the fake at
    the start (change them here to change one operation). `fault` is the scripted outcome.
    """

    name: str
    api: Literal["veo", "interactions"]
    model: str
    prompt: str
    image: bytes | None
    parameters: dict[str, Any]
    request: dict[str, Any]
    started: float
    latency_s: float = 0.0
    polls_until_done: int = 0
    fault: Fault | None = None
    vertex: bool = False
    background: bool = True
    polls: int = 0
    done_at: float | None = None
    result: dict[str, Any] | None = None  # the final answer once finished

    @property
    def done(self) -> bool:
        return self.done_at is not None

    @property
    def operation_id(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def aspect_ratio(self) -> str:
        ratio = _get(self.parameters, "aspectRatio")
        return str(ratio) if ratio else "16:9"

    @property
    def duration_s(self) -> float:
        """`durationSeconds` (Veo) or `duration` like "8s" (interactions), default 8."""
        value = _get(self.parameters, "durationSeconds", _get(self.parameters, "duration"))
        match = re.match(r"\s*(\d+(?:\.\d+)?)", str(value)) if value is not None else None
        return min(60.0, max(0.5, float(match.group(1)))) if match else DEFAULT_VIDEO_SECONDS

    @property
    def sample_count(self) -> int:
        return max(1, int(_get(self.parameters, "sampleCount") or 1))

    @property
    def audio(self) -> bool:
        return _get(self.parameters, "generateAudio") is not False

    def finishes_now(self, now: float) -> bool:
        """Whether the operation is (or now becomes) finished."""
        ready = now - self.started >= self.latency_s and self.polls > self.polls_until_done
        if self.done_at is None and ready and not isinstance(self.fault, NeverDone):
            self.done_at = now
        return self.done_at is not None


# ---------------------------------------------------------------- the server


class FakeGemini:
    """The server: `async with FakeGemini() as fake:`, then point a client at `fake.base_url`."""

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
        self.api_key = api_key  # None: any non-empty key is accepted
        self.bearer_token = bearer_token  # Vertex OAuth token; None: any non-empty token
        self.specs: dict[str, FakeModel] = {}  # models the naming rules cannot read
        self.models = list(DEFAULT_MODELS if models is None else models)  # type: ignore[arg-type]
        self.video_models = video_models  # None: every model whose outputs include video
        self.host, self.port = host, port
        self.latency: dict[str, float] = dict.fromkeys(KINDS, 0.0) | (latency or {})
        self.image_scale = image_scale  # e.g. 0.25 for fast tests; the aspect ratio is kept
        self.strict_models = strict_models
        self.log = log
        # Completion rule of new video operations (see `VideoOperation`).
        self.video_latency_s = video_latency_s
        self.polls_until_done = polls_until_done
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []  # the fake's own exceptions; `stop` fails the test on any
        self.operations: dict[str, VideoOperation] = {}
        self.gcs: dict[str, bytes] = {}  # Veo clips written to `storageUri`, by gs:// URI
        self._queues: dict[str, deque[Fault]] = {k: deque() for k in KINDS}
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

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

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._closing.clear()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Shut down; raises if a handler of the fake itself failed, so that a broken fake
        (answering 500s the product would retry) cannot pass a test."""
        self._closing.set()  # wakes up sleeping and hanging handlers
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.errors:
            raise AssertionError("the fake Gemini server failed:\n" + "\n".join(self.errors))

    async def __aenter__(self) -> FakeGemini:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- plumbing

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

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
        _route(record)
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
            if self.log is not None:
                self.log(record)

    def _auth_error(self, request: web.Request, record: RecordedRequest) -> HttpError | None:
        bearer = request.headers.get("Authorization", "")
        if record.vertex and (record.project is not None or bearer):
            token = bearer[len("Bearer ") :].strip() if bearer.startswith("Bearer ") else ""
            if token and self.bearer_token in (None, token):
                return None
            method = _VERTEX_METHODS.get(record.verb or "", "ModelGardenService.GetPublisherModel")
            return HttpError.unauthenticated(missing=not token, method=method)
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key or (self.api_key is not None and key != self.api_key):
            service = "aiplatform.googleapis.com" if record.vertex else None
            return HttpError.bad_key(service) if service else HttpError.bad_key()
        return None

    def _not_found(self, record: RecordedRequest) -> HttpError:
        if record.vertex:
            scope = f"projects/{record.project}/locations/{record.location}/"
            return HttpError.publisher_not_found(
                record.model or "", scope if record.project else ""
            )
        version = record.path.split("/")[1]
        method = "createInteraction" if record.kind == "interaction" else "generateContent"
        return HttpError.not_found(record.model or "", version, method)

    def _invalid(self, record: RecordedRequest) -> HttpError | None:
        """Requests the real API refuses before doing anything (checked before faults)."""
        if record.kind == "interaction" and not record.model:
            return HttpError.invalid_argument("Either model or agent must be set.")
        wants_video = record.kind == "video" or (
            record.kind == "interaction" and record.wants_video
        )
        if wants_video and not self._makes_video(record):
            return HttpError.no_video(record.model or "")
        spec = self.spec(record.model or "")
        why: str | None = None
        if record.kind in ("story", "image", "tts", "text") and record.body is not None:
            why = check_generate(spec, record.kind, record.body, _get)
        elif record.kind in ("imagen", "video"):
            why = check_predict(spec, record.kind, record.parameters, record.prompt)
        if why is not None:
            return HttpError.invalid_argument(why)
        if record.kind == "poll" and record.operation not in self.operations:
            return HttpError(404, "NOT_FOUND", f"Operation {record.operation} not found.")
        if record.kind == "interaction_poll" and record.operation not in self.operations:
            return HttpError(404, "NOT_FOUND", f"Interaction {record.operation} not found.")
        return None

    async def _answer(self, request: web.Request, record: RecordedRequest) -> web.Response:
        if (denied := self._auth_error(request, record)) is not None:
            return _error(denied)
        version = record.path.split("/")[1]
        if record.kind is None:
            if record.verb == "generateContent" and request.method == "POST":
                return _error(HttpError.invalid_argument("Invalid JSON payload received."))
            if record.verb and record.model and not record.vertex and request.method == "POST":
                return _error(HttpError.not_found(record.model, version, record.verb))
            return _error(
                HttpError(404, "NOT_FOUND", f"Method not found: {request.method} {record.path}")
            )
        known = record.model is None or record.model in self.models
        if not known and (self.strict_models or record.kind == "list"):
            return _error(self._not_found(record))
        if (invalid := self._invalid(record)) is not None:
            return _error(invalid)
        fault = self._next_fault(record.kind)
        if isinstance(fault, HttpError):
            return _error(fault)
        if isinstance(fault, Hang):
            await self._sleep(fault.seconds)
            return _error(HttpError.overloaded())
        extra = fault.seconds if isinstance(fault, Delay) else 0.0
        await self._sleep(self.latency.get(record.kind, 0.0) + extra)
        if record.kind == "list":
            if record.vertex:
                return web.json_response(self._vertex_list(request, record.model))
            return web.json_response(self._list(request, record.model))
        if record.kind == "imagen":
            return web.json_response(await self._imagen(record, fault))
        if record.kind == "video":
            return web.json_response(self._start_video(record, fault))
        if record.kind == "poll":
            return web.json_response(await self._poll_video(record))
        if record.kind == "interaction":
            return web.json_response(await self._create_interaction(record, fault))
        if record.kind == "interaction_poll":
            return web.json_response(await self._poll_interaction(record))
        return web.json_response(await self._generate(record, fault))

    def _makes_video(self, record: RecordedRequest) -> bool:
        model = record.model or ""
        if self.video_models is not None:
            return model in self.video_models
        wanted = "veo" if record.kind == "video" else "interactions"
        return wanted in self.spec(model).outputs

    def _model_info(self, model: str) -> dict[str, Any]:
        return {"name": f"models/{model}", "baseModelId": model, "version": "001",
                "displayName": model.replace("-", " ").title(), "description": f"Fake {model}",
                "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536,
                "supportedGenerationMethods": list(self.spec(model).methods)}  # fmt: skip

    def _list(self, request: web.Request, model: str | None) -> dict[str, Any]:
        if model is not None:
            return self._model_info(model)
        size = int(request.query.get("pageSize") or 50)
        start = int(request.query.get("pageToken") or 0)
        page = self.models[start : start + size]
        more = start + size < len(self.models)
        return {
            "models": [self._model_info(m) for m in page],
            "nextPageToken": str(start + size) if more else "",
        }

    def _vertex_model_info(self, model: str) -> dict[str, Any]:
        return {"name": f"publishers/google/models/{model}", "versionId": "001",
                "openSourceCategory": "PROPRIETARY", "launchStage": "GA",
                "publisherModelTemplate": "projects/{user-project}/locations/{location}/"
                f"publishers/google/models/{model}@001"}  # fmt: skip

    def _vertex_list(self, request: web.Request, model: str | None) -> dict[str, Any]:
        if model is not None:
            return self._vertex_model_info(model)
        size = int(request.query.get("pageSize") or 50)
        start = int(request.query.get("pageToken") or 0)
        page = self.models[start : start + size]
        more = start + size < len(self.models)
        return {
            "publisherModels": [self._vertex_model_info(m) for m in page],
            "nextPageToken": str(start + size) if more else "",
        }

    def _scaled(self, size: tuple[int, int], step: int = 8) -> tuple[int, int]:
        w, h = size
        scale = self.image_scale
        return (max(16, round(w * scale / step) * step), max(16, round(h * scale / step) * step))

    async def _imagen(self, record: RecordedRequest, fault: Fault | None) -> dict[str, Any]:
        params = record.parameters
        count = min(8, max(1, int(_get(params, "sampleCount") or 4)))
        size = self._scaled(IMAGEN_SIZES.get(record.aspect_ratio or "1:1", IMAGEN_SIZES["1:1"]))
        mime = str(_get(_get(params, "outputOptions"), "mimeType") or "image/png")
        filtered = 0
        if isinstance(fault, RaiFiltered):
            filtered = count if fault.count is None else min(count, fault.count)
        predictions: list[dict[str, Any]] = []
        for i in range(count - filtered):
            image = await asyncio.to_thread(render_png, record.prompt, size, None, i)
            if mime == "image/jpeg":
                image = await asyncio.to_thread(_to_jpeg, image)
            predictions.append(
                {"mimeType": mime, "bytesBase64Encoded": base64.b64encode(image).decode()}
            )
        if isinstance(fault, RaiFiltered) and _get(params, "includeRaiReason"):
            predictions.append({"raiFilteredReason": fault.reason})
        return {"predictions": predictions} if predictions else {}

    # -- video operations (Veo on Vertex, video interactions)

    def _new_operation(
        self, record: RecordedRequest, name: str, fault: Fault | None
    ) -> VideoOperation:
        images = record.input_images
        kind = record.kind
        operation = VideoOperation(
            name=name,
            api="veo" if kind == "video" else "interactions",
            model=record.model or "",
            prompt=record.prompt,
            image=images[0] if images else None,
            parameters=record.parameters if kind == "video" else record.response_format,
            request=record.body or {},
            started=time.monotonic(),
            latency_s=self.video_latency_s,
            polls_until_done=self.polls_until_done,
            fault=fault if isinstance(fault, OperationError | VideoFiltered | NeverDone) else None,
            vertex=record.vertex,
            background=bool(_get(record.body, "background", kind == "video")),
        )
        self.operations[name] = operation
        return operation

    def _start_video(self, record: RecordedRequest, fault: Fault | None) -> dict[str, Any]:
        scope = f"projects/{record.project}/locations/{record.location}/" if record.project else ""
        name = f"{scope}publishers/google/models/{record.model}/operations/{uuid.uuid4()}"
        self._new_operation(record, name, fault)
        return {"name": name}

    async def _clip(self, operation: VideoOperation) -> bytes:
        w, h = VIDEO_SIZES.get(operation.aspect_ratio, VIDEO_SIZES["16:9"])
        size = self._scaled((w, h), step=2)
        return await asyncio.to_thread(
            render_mp4,
            operation.prompt,
            size,
            operation.duration_s,
            operation.image,
            operation.audio,
        )

    async def _poll_video(self, record: RecordedRequest) -> dict[str, Any]:
        operation = self.operations[record.operation or ""]
        operation.polls += 1
        if not operation.finishes_now(time.monotonic()):
            return {"name": operation.name}
        if operation.result is None:
            operation.result = await self._veo_result(operation)
        return operation.result

    async def _veo_result(self, operation: VideoOperation) -> dict[str, Any]:
        head: dict[str, Any] = {"name": operation.name, "done": True}
        fault = operation.fault
        if isinstance(fault, OperationError):
            return head | {"error": {"code": fault.code, "message": fault.message}}
        count = operation.sample_count
        filtered = min(count, fault.count) if isinstance(fault, VideoFiltered) else 0
        response: dict[str, Any] = {"@type": VEO_RESPONSE_TYPE}
        if count > filtered:
            clip = await self._clip(operation)
            storage = _get(operation.parameters, "storageUri")
            videos = []
            for i in range(count - filtered):
                if storage:
                    uri = f"{str(storage).rstrip('/')}/{operation.operation_id}/sample_{i}.mp4"
                    self.gcs[uri] = clip
                    videos.append({"gcsUri": uri, "mimeType": "video/mp4"})
                else:
                    encoded = base64.b64encode(clip).decode()
                    videos.append({"bytesBase64Encoded": encoded, "mimeType": "video/mp4"})
            response["videos"] = videos
        response["raiMediaFilteredCount"] = filtered
        if isinstance(fault, VideoFiltered):
            response["raiMediaFilteredReasons"] = list(fault.reasons)
        return head | {"response": response}

    def _interaction_head(self, operation: VideoOperation, status: str) -> dict[str, Any]:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "id": operation.name,
            "object": "interaction",
            "status": status,
            "model": operation.model,
            "created": stamp,
            "updated": stamp,
        }

    async def _create_interaction(
        self, record: RecordedRequest, fault: Fault | None
    ) -> dict[str, Any]:
        name = f"v1_{secrets.token_urlsafe(18)}"
        operation = self._new_operation(record, name, fault)
        if not record.wants_video:  # text: done at once
            operation.done_at = time.monotonic()
            text = f"This is a fake Gemini reply to: {record.prompt[:200]}"
            content = [{"type": "text", "text": text}]
            operation.result = self._interaction_head(operation, "completed") | {
                "steps": [{"type": "model_output", "content": content}],
                "usage": {"total_output_tokens": len(text.split())},
            }
            return operation.result
        if operation.background:
            return self._interaction_head(operation, "in_progress")
        if not isinstance(operation.fault, NeverDone):  # foreground: wait, then answer
            await self._sleep(operation.latency_s)
            operation.done_at = time.monotonic()
        return await self._interaction_state(operation)

    async def _poll_interaction(self, record: RecordedRequest) -> dict[str, Any]:
        operation = self.operations[record.operation or ""]
        operation.polls += 1
        operation.finishes_now(time.monotonic())
        return await self._interaction_state(operation)

    async def _interaction_state(self, operation: VideoOperation) -> dict[str, Any]:
        if not operation.done:
            return self._interaction_head(operation, "in_progress")
        if operation.result is not None:
            return operation.result
        fault = operation.fault
        if isinstance(fault, OperationError):
            status = {"code": fault.code, "message": fault.message}
            result = self._interaction_head(operation, "failed") | {
                "steps": [{"type": "model_output", "error": status}],
                "errors": [{"code": _CODES.get(fault.code, str(fault.code)),
                            "message": fault.message}],
            }  # fmt: skip
        elif isinstance(fault, VideoFiltered):
            reasons = " ".join(fault.reasons)
            result = self._interaction_head(operation, "incomplete") | {
                "errors": [{"code": "SAFETY", "message": reasons}]
            }
        else:
            clip = await self._clip(operation)
            video = {"type": "video", "mime_type": "video/mp4",
                     "data": base64.b64encode(clip).decode()}  # fmt: skip
            result = self._interaction_head(operation, "completed") | {
                "steps": [{"type": "model_output", "content": [video]}],
                "usage": {"total_output_tokens": round(operation.duration_s * 7240)},
            }
        operation.result = result
        return result

    async def _generate(self, record: RecordedRequest, fault: Fault | None) -> dict[str, Any]:
        model, prompt = record.model or "", record.text
        usage: dict[str, Any] = {
            "promptTokenCount": len((record.system_text + " " + prompt).split()) + 4
        }
        head = {"modelVersion": model, "responseId": secrets.token_urlsafe(12)}
        if isinstance(fault, PromptBlocked):
            return {
                "promptFeedback": {"blockReason": fault.reason},
                "usageMetadata": usage | {"totalTokenCount": usage["promptTokenCount"]},
                **head,
            }
        if isinstance(fault, ResponseBlocked):
            rating = {"category": fault.category, "probability": "HIGH", "blocked": True}
            return {
                "candidates": [
                    {"finishReason": fault.finish_reason, "index": 0, "safetyRatings": [rating]}
                ],
                "usageMetadata": usage,
                **head,
            }
        parts: list[dict[str, Any]]
        out_tokens, modality = 0, "TEXT"
        if isinstance(fault, Malformed | NoImage):
            parts = [{"text": fault.text}]
        elif record.kind == "image":
            size = self._scaled(IMAGE_SIZES.get(record.aspect_ratio or "1:1", IMAGE_SIZES["1:1"]))
            refs = record.inline_images
            png = await asyncio.to_thread(render_png, prompt, size, refs[0] if refs else None)
            parts = [
                {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()}}
            ]
            modalities = {
                str(m).upper() for m in _get(record.generation_config, "responseModalities") or []
            }
            if "TEXT" in modalities:
                parts.insert(0, {"text": "Here it is."})
            out_tokens, modality = 1290, "IMAGE"
        elif record.kind == "tts":
            # 3.8 TTS reads its text verbatim and answers WAV; earlier models speak the line
            # after an instruction (after the last blank line) and answer raw PCM.
            structured = self.spec(model).structured_tts
            spoken = prompt if structured else prompt.rsplit("\n\n", 1)[-1]
            pcm = await asyncio.to_thread(speech_pcm, spoken)
            data, mime = (_wav(pcm), "audio/wav") if structured else (pcm, TTS_MIME)
            parts = [{"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}}]
            out_tokens, modality = len(pcm) // (2 * TTS_RATE) * 25 + 1, "AUDIO"
        elif record.kind == "story":
            parts = [{"text": json.dumps(self._story_json(record), ensure_ascii=False)}]
        else:
            parts = [{"text": f"This is a fake Gemini reply to: {prompt[:200]}"}]
        if not out_tokens:
            out_tokens = sum(len(str(p.get("text", "")).split()) for p in parts)
        usage |= {
            "candidatesTokenCount": out_tokens,
            "totalTokenCount": usage["promptTokenCount"] + out_tokens,
            "candidatesTokensDetails": [{"modality": modality, "tokenCount": out_tokens}],
        }
        candidate = {
            "content": {"role": "model", "parts": parts},
            "finishReason": "STOP",
            "index": 0,
        }
        return {"candidates": [candidate], "usageMetadata": usage, **head}

    def _story_json(self, record: RecordedRequest) -> Any:
        schema = record.schema
        if record.is_rephrase:
            value: dict[str, Any] = {"image_prompt": soften(record.text)}
        else:
            value = story_dict(scene_count(record.system_text + "\n" + record.text))
        if not schema:
            return value
        defs = schema.get("$defs") or schema.get("definitions") or {}
        return _conform(value, schema, defs)


def _error(fault: HttpError) -> web.Response:
    return web.json_response(fault.body(), status=fault.status)


def _wav(pcm: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(TTS_RATE)
        wav.writeframes(pcm)
    return out.getvalue()


def _to_jpeg(png: bytes) -> bytes:
    out = io.BytesIO()
    with Image.open(io.BytesIO(png)) as image:
        image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


# ---------------------------------------------------------------- command line


def _log_line(record: RecordedRequest) -> None:
    extra = f" voice={record.voice}" if record.kind == "tts" else ""
    if record.kind in ("image", "imagen", "video", "interaction"):
        extra += f" aspect={record.aspect_ratio}"
    extra += f" operation={record.operation}" if record.operation else ""
    sys.stderr.write(f"{record.method} {record.path} kind={record.kind}{extra}\n")


async def _serve(args: argparse.Namespace) -> None:
    kinds = ("story", "image", "tts", "text")
    latency = dict(zip(kinds, (args.latency_story, args.latency_image, args.latency_tts,
                               args.latency_story), strict=True))  # fmt: skip
    fake = FakeGemini(api_key=args.api_key, host=args.host, port=args.port, latency=latency,
                      image_scale=args.image_scale, strict_models=not args.any_model,
                      log=_log_line, bearer_token=args.bearer_token,
                      video_latency_s=args.latency_video)  # fmt: skip
    async with fake:
        sys.stdout.write(f"{fake.base_url}\n")
        sys.stdout.write(
            f"# GEMINI_API_KEY={args.api_key or 'test'} "
            f"GEMINI_BASE_URL={fake.base_url} storybot story 'a cat and a dog'\n"
        )
        sys.stdout.flush()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):  # also when started in the background
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
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
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
