"""Requests as the fake Gemini sees them: the routes and kinds it knows, and `RecordedRequest`.

Every request is recorded with its kind ("story", "image", "tts", "text", "list", "imagen",
"video", "poll", "interaction", "interaction_poll", or None for one the fake refuses), read from
its path and body as the SDK sends them (camelCase or snake_case keys: see `get_key`).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

from tests.gemini_speakers import speaker_voices, transcript
from tests.gemini_story import REPHRASE_MARKER

Kind = Literal[
    "story", "image", "tts", "text", "list",
    "imagen", "video", "poll", "interaction", "interaction_poll",
]  # fmt: skip
KINDS: tuple[Kind, ...] = get_args(Kind)
_DEV_MODEL = r"/(v1beta|v1)/(?:models|tunedModels)/([^/:]+):(\w+)"
_VERTEX = (
    r"/(v1beta1|v1)/(?:projects/([^/]+)/locations/([^/]+)/)?"
    r"publishers/google/models(?:/([^/:]+))?(?::(\w+))?/?"
)
_INTERACTIONS = r"/(v1beta|v1)/interactions(?:/([^/:]+))?/?"
_VERTEX_KINDS: dict[str, Kind] = {
    "predict": "imagen", "predictLongRunning": "video", "fetchPredictOperation": "poll",
}  # fmt: skip
VERTEX_METHODS = {  # `:verb` → the method named in a 401
    "generateContent": "PredictionService.GenerateContent", "predict": "PredictionService.Predict",
    "predictLongRunning": "PredictionService.PredictLongRunning",
    "fetchPredictOperation": "PredictionService.FetchPredictOperation",
}  # fmt: skip
# google.rpc.Code numbers → names, for operation errors.


def get_key(obj: Any, camel: str, default: Any = None) -> Any:
    """`obj[camel]` or `obj[snake_case(camel)]`: the SDK mixes both spellings."""
    if not isinstance(obj, dict):
        return default
    if camel in obj:
        return obj[camel]
    return obj.get(re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower(), default)


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
        return get_key(self.body, "generationConfig") or {}

    @property
    def instance(self) -> dict[str, Any]:
        """The first of `instances` (Imagen and Veo requests), else `{}`."""
        instances = get_key(self.body, "instances")
        first = instances[0] if isinstance(instances, list) and instances else None
        return first if isinstance(first, dict) else {}

    @property
    def parameters(self) -> dict[str, Any]:
        """`parameters` of an Imagen or Veo request (`sampleCount`, `aspectRatio`, ...)."""
        params = get_key(self.body, "parameters")
        return params if isinstance(params, dict) else {}

    @property
    def response_format(self) -> dict[str, Any]:
        """The video entry of an interaction's `response_format`, else its first entry."""
        value = get_key(self.body, "responseFormat")
        formats = [f for f in (value if isinstance(value, list) else [value]) if f]
        video = [f for f in formats if isinstance(f, dict) and f.get("type") == "video"]
        first = (video or formats or [{}])[0]
        return first if isinstance(first, dict) else {}

    @property
    def wants_video(self) -> bool:
        """An interaction asking for video output."""
        modalities = get_key(self.body, "responseModalities") or []
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
            items = _content_items(get_key(self.body, "input"))
            return "\n".join(str(i.get("text")) for i in items if i.get("type") == "text")
        return self.text

    @property
    def input_images(self) -> list[bytes]:
        """Decoded source pictures: Veo's `instances[0].image`, an interaction's image items."""
        if self.kind == "video":
            data = get_key(self.instance.get("image"), "bytesBase64Encoded")
            return [_b64decode(data)] if isinstance(data, str) else []
        if self.kind == "interaction":
            items = _content_items(get_key(self.body, "input"))
            return [
                _b64decode(i["data"])
                for i in items
                if i.get("type") == "image" and isinstance(i.get("data"), str)
            ]
        return self.inline_images

    def _parts(self, key: str = "contents") -> list[dict[str, Any]]:
        value = get_key(self.body, key)
        contents = value if isinstance(value, list) else [value] if value else []
        return [p for c in contents for p in (get_key(c, "parts") or []) if isinstance(p, dict)]

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
        blobs = [get_key(p, "inlineData") for p in self._parts()]
        return [
            base64.urlsafe_b64decode(b["data"] + "=" * (-len(b["data"]) % 4))
            for b in blobs
            if b and str(get_key(b, "mimeType", "")).startswith("image/")
        ]

    @property
    def aspect_ratio(self) -> str | None:
        """`imageConfig.aspectRatio`, Imagen/Veo `parameters.aspectRatio`, or an interaction's
        `response_format.aspect_ratio`."""
        ratio: str | None = (
            get_key(get_key(self.generation_config, "imageConfig"), "aspectRatio")
            or get_key(self.parameters, "aspectRatio")
            or get_key(self.response_format, "aspectRatio")
        )
        return ratio

    @property
    def voice(self) -> str | None:
        """The voice of a TTS request: `voiceConfig.voice` or the prebuilt voice name."""
        voice = get_key(get_key(self.generation_config, "speechConfig"), "voiceConfig")
        name: str | None = get_key(voice, "voice") or get_key(
            get_key(voice, "prebuiltVoiceConfig"), "voiceName"
        )
        return name

    @property
    def speaker_voices(self) -> dict[str, str | None]:
        """A multi-speaker TTS request's speakers and their voices (`{}`: a single voice)."""
        speech = get_key(self.generation_config, "speechConfig")
        return dict(speaker_voices(speech, True, get_key))

    @property
    def part_speakers(self) -> list[str | None]:
        """The `speech_metadata.speaker` of each part of a TTS request (None where unset)."""
        return [get_key(get_key(p, "speechMetadata"), "speaker") for p in self._parts()]

    @property
    def transcript_speakers(self) -> list[str]:
        """The names before each line of an earlier model's transcript (after a blank line)."""
        return [line.partition(":")[0].strip() for line in transcript(self._parts())]

    @property
    def speech_styles(self) -> list[str]:
        """The `speech_metadata.style` of each part of a TTS request."""
        return [
            str(get_key(get_key(p, "speechMetadata"), "style"))
            for p in self._parts()
            if get_key(get_key(p, "speechMetadata"), "style")
        ]

    @property
    def schema(self) -> dict[str, Any] | None:
        config = self.generation_config
        schema: dict[str, Any] | None = get_key(config, "responseJsonSchema") or get_key(
            config, "responseSchema"
        )
        return schema

    @property
    def is_rephrase(self) -> bool:
        props = (self.schema or {}).get("properties")
        if isinstance(props, dict):
            return set(props) == {"image_prompt"}
        return self.kind == "story" and REPHRASE_MARKER.lower() in self.text.lower()


def route(record: RecordedRequest) -> None:
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
            record.kind = classify(body)
        elif record.verb in _VERTEX_KINDS:
            record.kind = _VERTEX_KINDS[record.verb]
            if record.kind == "poll":
                record.operation = str(get_key(body, "operationName") or "")
    elif m := re.fullmatch(_DEV_MODEL, path):
        record.model, record.verb = m.group(2), m.group(3)
        if record.verb == "generateContent" and method == "POST" and body is not None:
            record.kind = classify(body)
    elif m := re.fullmatch(r"/(v1beta|v1)/models(?:/([^/:]+))?/?", path):
        if method == "GET":
            record.kind, record.model = "list", m.group(2)
    elif m := re.fullmatch(_INTERACTIONS, path):
        if method == "POST" and m.group(2) is None and body is not None:
            record.kind, model = "interaction", get_key(body, "model")
            record.model = str(model).removeprefix("models/") if model else None
        elif method == "GET" and m.group(2) is not None:
            record.kind, record.operation = "interaction_poll", m.group(2)
    elif path.startswith(("/v1beta1/", "/v1/projects/", "/v1/publishers/")):
        record.vertex = True


def classify(body: dict[str, Any]) -> Kind:
    config = get_key(body, "generationConfig") or {}
    modalities = {str(m).upper() for m in get_key(config, "responseModalities") or []}
    if "IMAGE" in modalities:
        return "image"
    if "AUDIO" in modalities:
        return "tts"
    if str(get_key(config, "responseMimeType", "")).startswith("application/json"):
        return "story"
    return "text"
