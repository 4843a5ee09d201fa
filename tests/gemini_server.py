"""A fake Gemini Developer API (aiohttp, loopback only) that the real google-genai client talks to.

Routes, as the SDK 3.4 sends them (`v1beta` and `v1`, camelCase or snake_case keys):

* `POST /{ver}/models/{model}:generateContent`, classified by `generationConfig`:
  `responseModalities` holding IMAGE → kind "image" (a PNG sized by `imageConfig.aspectRatio`,
  coloured by a hash of the prompt, the prompt drawn on it); AUDIO → kind "tts" (raw PCM s16le
  mono 24 kHz, one syllable-like tone of about 0.3 s per word of the prompt's last paragraph,
  so an instruction before a blank line is not read); `responseMimeType:
  application/json` → kind "story"; anything else → kind "text".
* `GET /{ver}/models` and `GET /{ver}/models/{model}` → kind "list".

Prompt contracts of the "story" kind:

* Scene count: the prompt (contents or system instruction) says `exactly N scenes`
  (N in digits or one..ten, see `SCENE_COUNT_RE`); without it `DEFAULT_SCENES` scenes come back.
  The story is about Whiskers the cat and Buster the dog; one sentence of narration per scene and
  the same `character_description` on every scene. The JSON follows the requested schema
  (`title`, `scenes[].image_prompt/narration/character_description`; other fields get fillers).
* Rephrase: when the schema's only property is `image_prompt` (or, without a schema, the prompt
  contains `REPHRASE_MARKER`), the answer is `{"image_prompt": "<softened text>"}` where the text
  is what follows `REPHRASE_MARKER` (or the whole prompt), made gentler.

A request with the wrong `x-goog-api-key` always gets the real 400 API_KEY_INVALID body; a model
not in `models` gets 404 NOT_FOUND (when `strict_models`). `script(kind, *faults)` queues one-shot
faults per kind; `Persistent(fault)` stays at the head of its queue. `latency[kind]` delays
successful (HTTP 200) answers; `HttpError`s are immediate.

Standalone: `python -m tests.gemini_server --port 8765 [--latency-story 3 --latency-image 6
--latency-tts 3]` prints its base URL and serves until Ctrl-C.
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
import sys
import textwrap
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, TypeAlias, get_args

import numpy as np
from aiohttp import web
from PIL import Image, ImageDraw, ImageFont

Kind = Literal["story", "image", "tts", "text", "list"]
KINDS: tuple[Kind, ...] = get_args(Kind)
DEFAULT_MODELS = ["gemini-2.5-flash", "gemini-2.5-flash-image", "gemini-2.5-flash-preview-tts"]
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
TTS_RATE = 24_000
TTS_MIME = f"audio/L16;codec=pcm;rate={TTS_RATE}"
_RPC = "type.googleapis.com/google.rpc"
_GENERATE = r"/(v1beta|v1)/(?:models|tunedModels)/([^/:]+):generateContent"


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
    def bad_key(cls) -> HttpError:
        message = "API key not valid. Please pass a valid API key."
        return cls(400, "INVALID_ARGUMENT", message, [
            {"@type": f"{_RPC}.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com",
             "metadata": {"service": "generativelanguage.googleapis.com"}},
            {"@type": f"{_RPC}.LocalizedMessage", "locale": "en-US",
             "message": message},
        ])  # fmt: skip

    @classmethod
    def invalid_argument(cls, message: str = "Request contains an invalid argument.") -> HttpError:
        return cls(400, "INVALID_ARGUMENT", message)

    @classmethod
    def not_found(cls, model: str = "gemini-0-nope", version: str = "v1beta") -> HttpError:
        return cls(
            404,
            "NOT_FOUND",
            f"models/{model} is not found for API version {version}, "
            "or is not supported for generateContent. Call ListModels to see the list "
            "of available models and their supported methods.",
        )

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
class Persistent:
    """`fault` on every call of its kind from now on (until `FakeGemini.reset`)."""

    fault: Fault


Fault: TypeAlias = (
    HttpError | PromptBlocked | ResponseBlocked | Malformed | NoImage | Delay | Hang | Persistent
)


# ---------------------------------------------------------------- recorded requests


@dataclass
class RecordedRequest:
    """One request as the fake saw it; `status` is the HTTP status it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    kind: Kind | None
    model: str | None
    time: float
    status: int = 0

    @property
    def generation_config(self) -> dict[str, Any]:
        return _get(self.body, "generationConfig") or {}

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
        ratio: str | None = _get(_get(self.generation_config, "imageConfig"), "aspectRatio")
        return ratio

    @property
    def voice(self) -> str | None:
        """The prebuilt voice name of a TTS request."""
        voice = _get(_get(self.generation_config, "speechConfig"), "voiceConfig")
        name: str | None = _get(_get(voice, "prebuiltVoiceConfig"), "voiceName")
        return name

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


def render_png(prompt: str, size: tuple[int, int], reference: bytes | None = None) -> bytes:
    """A PNG whose colour and caption follow `prompt`; `reference` is pasted as a thumbnail."""
    digest = hashlib.sha256(prompt.encode()).digest()
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


# ---------------------------------------------------------------- the server


class FakeGemini:
    """The server: `async with FakeGemini() as fake:`, then point a client at `fake.base_url`."""

    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        models: list[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: dict[str, float] | None = None,
        image_scale: float = 1.0,
        strict_models: bool = True,
        log: Callable[[RecordedRequest], None] | None = None,
    ) -> None:
        self.api_key = api_key  # None: any non-empty key is accepted
        self.models = list(DEFAULT_MODELS if models is None else models)
        self.host, self.port = host, port
        self.latency: dict[str, float] = dict.fromkeys(KINDS, 0.0) | (latency or {})
        self.image_scale = image_scale  # e.g. 0.25 for fast tests; the aspect ratio is kept
        self.strict_models = strict_models
        self.log = log
        self.requests: list[RecordedRequest] = []
        self._queues: dict[str, deque[Fault]] = {k: deque() for k in KINDS}
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment variables that point StoryBot at this server."""
        return {"GEMINI_API_KEY": self.api_key or "test", "GEMINI_BASE_URL": self.base_url}

    def script(self, kind: Kind, *faults: Fault) -> None:
        """Queue one-shot `faults` for the next calls of `kind`; an empty queue means success."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        self._queues[kind].extend(faults)

    def reset(self) -> None:
        """Forget recorded requests and scripted faults."""
        self.requests.clear()
        for queue in self._queues.values():
            queue.clear()

    def calls(self, kind: Kind) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == kind]

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._closing.clear()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._closing.set()  # wakes up sleeping and hanging handlers
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

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
        path = request.path
        kind: Kind | None = None
        model: str | None = None
        if m := re.fullmatch(_GENERATE, path):
            if request.method == "POST" and body is not None:
                kind, model = _classify(body), m.group(2)
        elif m := re.fullmatch(r"/(v1beta|v1)/models(?:/([^/:]+))?/?", path):
            kind, model = ("list", m.group(2)) if request.method == "GET" else (None, None)
        record = RecordedRequest(
            request.method,
            path,
            {k.lower(): v for k, v in request.headers.items()},
            body,
            kind,
            model,
            time.monotonic(),
        )
        self.requests.append(record)
        try:
            response = await self._answer(request, record)
            record.status = response.status
            return response
        finally:
            if self.log is not None:
                self.log(record)

    async def _answer(self, request: web.Request, record: RecordedRequest) -> web.Response:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key or (self.api_key is not None and key != self.api_key):
            return _error(HttpError.bad_key())
        version = record.path.split("/")[1]
        if record.kind is None:
            if re.fullmatch(_GENERATE, record.path) and request.method == "POST":
                return _error(HttpError.invalid_argument("Invalid JSON payload received."))
            return _error(
                HttpError(404, "NOT_FOUND", f"Method not found: {request.method} {record.path}")
            )
        known = record.model is None or record.model in self.models
        if not known and (self.strict_models or record.kind == "list"):
            return _error(HttpError.not_found(record.model or "", version))
        fault = self._next_fault(record.kind)
        if isinstance(fault, HttpError):
            return _error(fault)
        if isinstance(fault, Hang):
            await self._sleep(fault.seconds)
            return _error(HttpError.overloaded())
        extra = fault.seconds if isinstance(fault, Delay) else 0.0
        await self._sleep(self.latency.get(record.kind, 0.0) + extra)
        if record.kind == "list":
            return web.json_response(self._list(request, record.model))
        return web.json_response(await self._generate(record, fault))

    def _model_info(self, model: str) -> dict[str, Any]:
        return {"name": f"models/{model}", "version": "001",
                "displayName": model.replace("-", " ").title(), "description": f"Fake {model}",
                "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536,
                "supportedGenerationMethods": ["generateContent", "countTokens"]}  # fmt: skip

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
            scale = self.image_scale
            w, h = IMAGE_SIZES.get(record.aspect_ratio or "1:1", IMAGE_SIZES["1:1"])
            size = (max(16, round(w * scale / 8) * 8), max(16, round(h * scale / 8) * 8))
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
            # Like the real model, speak the line, not the instruction before it.
            pcm = await asyncio.to_thread(speech_pcm, prompt.rsplit("\n\n", 1)[-1])
            parts = [
                {"inlineData": {"mimeType": TTS_MIME, "data": base64.b64encode(pcm).decode()}}
            ]
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


# ---------------------------------------------------------------- command line


def _log_line(record: RecordedRequest) -> None:
    extra = f" voice={record.voice}" if record.kind == "tts" else ""
    extra += f" aspect={record.aspect_ratio}" if record.kind == "image" else ""
    sys.stderr.write(f"{record.method} {record.path} kind={record.kind}{extra}\n")


async def _serve(args: argparse.Namespace) -> None:
    kinds = ("story", "image", "tts", "text")
    latency = dict(zip(kinds, (args.latency_story, args.latency_image, args.latency_tts,
                               args.latency_story), strict=True))  # fmt: skip
    fake = FakeGemini(api_key=args.api_key, host=args.host, port=args.port, latency=latency,
                      image_scale=args.image_scale, strict_models=not args.any_model,
                      log=_log_line)  # fmt: skip
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
    parser.add_argument("--image-scale", type=float, default=1.0)
    parser.add_argument("--any-model", action="store_true", help="serve unknown model ids too")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
