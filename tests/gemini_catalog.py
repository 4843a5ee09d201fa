"""What each model of the fake Gemini can do, and the requests the real API refuses.

The fake reads a model id the way Google names models (its own rules, not StoryBot's), or takes
an explicit `FakeModel` for an id those rules cannot read. A request for an output the model
cannot make, a missing required field or a value outside the documented set answers 400
INVALID_ARGUMENT, never a silent default. Facts (December 2026):

* image models take `imageConfig.aspectRatio` from `IMAGE_ASPECTS` (Nano Banana 2 and 2.1: 14
  ratios; Pro, 2 Lite and older models: 10), and no `outputMimeType`;
* TTS models take a prebuilt voice (`VOICES`); 3.8 and later read `parts[].text` verbatim, take
  style in `parts[].speech_metadata`, the voice in `voiceConfig.voice` or
  `prebuiltVoiceConfig.voiceName`, reject `temperature`/`topP`/`topK` and answer WAV; earlier
  ones know no `speech_metadata`, read what follows a blank line and answer raw L16 PCM; two
  speakers go in a multi-speaker config (`tests/gemini_speakers.py`);
* Veo 2 makes 5–8 s clips, later Veo models 4, 6 or 8 s, in 16:9 or 9:16;
* Live models serve only `bidiGenerateContent`; Imagen only `predict`; Veo only
  `predictLongRunning`; `gemini-omni-*` only the Interactions API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core.providers import catalog
from tests.gemini_speakers import check_speakers

Output = str  # "text", "json", "image", "audio", "imagen", "veo", "interactions", "live", "embed"

IMAGE_ASPECTS_WIDE = frozenset(
    {"1:1", "1:4", "1:8", "2:3", "3:2", "3:4", "4:1", "4:3", "4:5", "5:4", "8:1", "9:16",
     "16:9", "21:9"}
)  # fmt: skip
IMAGE_ASPECTS = frozenset(
    {"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"}
)
IMAGEN_ASPECTS = frozenset({"1:1", "9:16", "16:9", "3:4", "4:3"})
VEO_ASPECTS = frozenset({"16:9", "9:16"})
VOICES = frozenset(
    {"Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede", "Callirrhoe",
     "Autonoe", "Enceladus", "Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib",
     "Rasalgethi", "Laomedeia", "Achernar", "Alnilam", "Schedar", "Gacrux", "Pulcherrima",
     "Achird", "Zubenelgenubi", "Vindemiatrix", "Sadachbia", "Sadaltager", "Sulafat"}
)  # fmt: skip
SAMPLING = ("temperature", "topP", "topK", "top_p", "top_k")

# The default catalog: the first entry of each of StoryBot's preference lists.
DEFAULT_MODELS = list(
    dict.fromkeys(
        p[0]
        for p in (
            catalog.PREFERRED_TEXT, catalog.PREFERRED_IMAGE, catalog.PREFERRED_TTS,
            catalog.PREFERRED_LIVE_DEVELOPER, catalog.PREFERRED_LIVE_VERTEX,
            catalog.PREFERRED_VIDEO_VERTEX, catalog.PREFERRED_VIDEO_DEVELOPER,
        )
    )
)  # fmt: skip


@dataclass(frozen=True)
class FakeModel:
    """One model of the fake: its outputs and listed methods, and for TTS its generation."""

    id: str
    outputs: frozenset[Output]
    methods: tuple[str, ...]
    aspects: frozenset[str] = field(default=IMAGE_ASPECTS)
    structured_tts: bool = False  # 3.8+: speech_metadata, verbatim text, WAV out


def _version(model: str) -> tuple[int, ...]:
    match = re.search(r"-(\d+(?:\.\d+)*)", model)
    return tuple(int(n) for n in match.group(1).split(".")) if match else ()


def infer(model: str) -> FakeModel:
    """A model by Google's naming conventions."""
    gen = ("generateContent", "countTokens")
    if model.startswith("imagen-"):
        return FakeModel(model, frozenset({"imagen"}), ("predict",))
    if model.startswith("veo-"):
        return FakeModel(model, frozenset({"veo"}), ("predictLongRunning",))
    if "omni" in model:
        return FakeModel(model, frozenset({"interactions"}), ())
    if "embedding" in model:
        return FakeModel(model, frozenset({"embed"}), ("embedContent", "batchEmbedContents"))
    if "live" in model or "native-audio" in model:
        return FakeModel(model, frozenset({"live"}), ("bidiGenerateContent",))
    if model.endswith("-tts") or "-tts-" in model:
        new = not _version(model) or _version(model) >= (3, 8)
        return FakeModel(model, frozenset({"audio"}), gen, structured_tts=new)
    if "-image" in model or "nano-banana" in model:
        wide = "nano-banana" in model or re.search(r"-3\.\d+-flash-image", model)
        aspects = IMAGE_ASPECTS_WIDE if wide else IMAGE_ASPECTS
        return FakeModel(model, frozenset({"image", "text"}), gen, aspects=aspects)
    return FakeModel(model, frozenset({"text", "json"}), (*gen, "createCachedContent"))


def veo_durations(model: str) -> frozenset[int]:
    """The clip lengths a Veo model takes."""
    return frozenset(range(5, 9)) if model.startswith("veo-2") else frozenset({4, 6, 8})


def _modality_error(spec: FakeModel, wanted: str) -> str:
    accepts = (
        "AUDIO"
        if "audio" in spec.outputs
        else "TEXT, IMAGE"
        if "image" in spec.outputs
        else "TEXT"
    )
    return (
        f"The requested combination of response modalities ({wanted}) is not supported by the "
        f"model. models/{spec.id} accepts the following combination of response modalities: "
        f"* {accepts}"
    )


def check_generate(spec: FakeModel, kind: str, body: dict[str, Any], get: Any) -> str | None:
    """Why the real API would refuse this `generateContent` (None: it would not)."""
    contents = get(body, "contents")
    items = contents if isinstance(contents, list) else [contents] if contents else []
    parts = [p for c in items for p in (get(c, "parts") or []) if isinstance(p, dict)]
    if not parts:
        return "* GenerateContentRequest.contents: contents is not specified"
    config = get(body, "generationConfig") or {}
    if kind == "image":
        if "image" not in spec.outputs:
            return _modality_error(spec, "IMAGE")
        image_config = get(config, "imageConfig") or {}
        if get(image_config, "outputMimeType") is not None:
            return "Unknown name \"outputMimeType\" at 'generation_config.image_config'"
        ratio = get(image_config, "aspectRatio")
        if ratio is not None and ratio not in spec.aspects:
            allowed = ", ".join(f"'{a}'" for a in sorted(spec.aspects))
            return f"aspect_ratio must be one of {allowed}."
        return None
    if kind == "tts":
        return _check_tts(spec, config, parts, get)
    if kind == "story" and "json" not in spec.outputs:
        return f"JSON mode is not enabled for models/{spec.id}"
    if kind == "text" and "text" not in spec.outputs:
        return _modality_error(spec, "TEXT")
    return None


def _check_tts(
    spec: FakeModel, config: dict[str, Any], parts: list[dict[str, Any]], get: Any
) -> str | None:
    if "audio" not in spec.outputs:
        return _modality_error(spec, "AUDIO")
    metadata = [get(p, "speechMetadata") for p in parts if get(p, "speechMetadata") is not None]
    if spec.structured_tts:
        if any(get(config, name) is not None for name in SAMPLING):
            return f"temperature, topP and topK are not supported by models/{spec.id}"
    elif metadata:
        return 'Invalid JSON payload received. Unknown name "speech_metadata"'
    voice_config = get(get(config, "speechConfig"), "voiceConfig") or {}
    voice = get(voice_config, "voice") if spec.structured_tts else None
    voice = voice or get(get(voice_config, "prebuiltVoiceConfig"), "voiceName")
    if voice is not None and voice not in VOICES:
        return f"Voice name {voice} is not supported."
    return check_speakers(spec.structured_tts, config, parts, get, VOICES)


def check_predict(
    spec: FakeModel, kind: str, parameters: dict[str, Any], prompt: str
) -> str | None:
    """Why the real Vertex AI would refuse an Imagen `predict` or a Veo `predictLongRunning`."""
    if not prompt:
        return "Prompt is required."
    ratio = parameters.get("aspectRatio")
    if kind == "imagen":
        if "imagen" not in spec.outputs:
            return f"models/{spec.id} does not support predict."
        if ratio is not None and ratio not in IMAGEN_ASPECTS:
            return f"Aspect ratio {ratio} is not supported."
        return None
    if ratio is not None and ratio not in VEO_ASPECTS:
        return f"Aspect ratio {ratio} is not supported for video generation."
    seconds = parameters.get("durationSeconds")
    if seconds is not None and int(seconds) not in veo_durations(spec.id):
        allowed = ", ".join(str(n) for n in sorted(veo_durations(spec.id)))
        return f"durationSeconds must be one of {allowed} for {spec.id}."
    return None
