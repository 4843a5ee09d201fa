"""What the fake Gemini answers to the calls that succeed at once: generateContent (story, text,
image and speech), Imagen `predict` and the model lists (a mixin of `FakeGemini`).

generateContent is classified by `generationConfig`: `responseModalities` holding IMAGE → kind
"image" (a PNG sized by `imageConfig.aspectRatio`); AUDIO → kind "tts" (3.8 TTS speaks its whole
text and answers WAV; older TTS speaks what follows the last blank line and answers raw PCM; a
request of several turns, i.e. parts, transcript lines or a conversation, is spoken a tone per
turn at its voice's pitch with `TURN_GAP_S` of silence between turns: `turns_pcm`);
`responseMimeType: application/json` → kind "story" (see `tests/gemini_story.py`); anything
else → kind "text".
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakeserver import LoopbackServer
from tests.gemini_catalog import FakeModel
from tests.gemini_faults import (
    Fault,
    Malformed,
    NoImage,
    PromptBlocked,
    RaiFiltered,
    ResponseBlocked,
    UnknownSpeaker,
)
from tests.gemini_media import (
    IMAGE_SIZES,
    IMAGEN_SIZES,
    TTS_MIME,
    TTS_RATE,
    pcm_to_wav,
    png_to_jpeg,
    render_png,
    speech_pcm,
    turns_pcm,
)
from tests.gemini_requests import RecordedRequest, get_key
from tests.gemini_speakers import speech_turns
from tests.gemini_story import hero_json, story_json

Parts = tuple[list[dict[str, Any]], int, str]  # parts, output tokens, output modality


class AnswersMixin(LoopbackServer):
    """Builds the bodies of `FakeGemini`'s immediate answers."""

    models: list[str]
    image_scale: float
    spec: Callable[[str], FakeModel]  # `FakeGemini.spec`

    def _model_info(self, model: str) -> dict[str, Any]:
        return {"name": f"models/{model}", "baseModelId": model, "version": "001",
                "displayName": model.replace("-", " ").title(), "description": f"Fake {model}",
                "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536,
                "supportedGenerationMethods": list(self.spec(model).methods)}  # fmt: skip

    def _list(self, request: web.Request, model: str | None) -> dict[str, Any]:
        if model is not None:
            return self._model_info(model)
        return self._page(request, "models", self._model_info)

    def _page(
        self, request: web.Request, key: str, info: Callable[[str], dict[str, Any]]
    ) -> dict[str, Any]:
        """One page of the model list (`pageSize`, default 50; `pageToken`: the offset)."""
        size = int(request.query.get("pageSize") or 50)
        start = int(request.query.get("pageToken") or 0)
        page = self.models[start : start + size]
        more = start + size < len(self.models)
        return {key: [info(m) for m in page], "nextPageToken": str(start + size) if more else ""}

    def _vertex_model_info(self, model: str) -> dict[str, Any]:
        return {"name": f"publishers/google/models/{model}", "versionId": "001",
                "openSourceCategory": "PROPRIETARY", "launchStage": "GA",
                "publisherModelTemplate": "projects/{user-project}/locations/{location}/"
                f"publishers/google/models/{model}@001"}  # fmt: skip

    def _vertex_list(self, request: web.Request, model: str | None) -> dict[str, Any]:
        if model is not None:
            return self._vertex_model_info(model)
        return self._page(request, "publisherModels", self._vertex_model_info)

    def _scaled(self, size: tuple[int, int], step: int = 8) -> tuple[int, int]:
        w, h = size
        scale = self.image_scale
        return (max(16, round(w * scale / step) * step), max(16, round(h * scale / step) * step))

    async def _imagen(self, record: RecordedRequest, fault: Fault | None) -> dict[str, Any]:
        params = record.parameters
        count = min(8, max(1, int(get_key(params, "sampleCount") or 4)))
        size = self._scaled(IMAGEN_SIZES.get(record.aspect_ratio or "1:1", IMAGEN_SIZES["1:1"]))
        mime = str(get_key(get_key(params, "outputOptions"), "mimeType") or "image/png")
        filtered = 0
        if isinstance(fault, RaiFiltered):
            filtered = count if fault.count is None else min(count, fault.count)
        predictions: list[dict[str, Any]] = []
        for i in range(count - filtered):
            image = await asyncio.to_thread(render_png, record.prompt, size, None, i)
            if mime == "image/jpeg":
                image = await asyncio.to_thread(png_to_jpeg, image)
            predictions.append(
                {"mimeType": mime, "bytesBase64Encoded": base64.b64encode(image).decode()}
            )
        if isinstance(fault, RaiFiltered) and get_key(params, "includeRaiReason"):
            predictions.append({"raiFilteredReason": fault.reason})
        return {"predictions": predictions} if predictions else {}

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
        parts, out_tokens, modality = await self._parts(record, fault)
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

    async def _parts(self, record: RecordedRequest, fault: Fault | None) -> Parts:
        """The candidate's parts for the request's kind (output tokens 0: count the words)."""
        prompt = record.text
        if isinstance(fault, Malformed | NoImage):
            return [{"text": fault.text}], 0, "TEXT"
        if record.kind == "image":
            return await self._image_parts(record), 1290, "IMAGE"
        if record.kind == "tts":
            # 3.8 TTS reads its text verbatim and answers WAV; earlier models speak the line
            # after an instruction (after the last blank line) and answer raw PCM.
            # Several turns (a conversation, or several parts): each in its voice's pitch, with
            # a pause between turns (`tests/gemini_speakers.py`).
            structured = self.spec(record.model or "").structured_tts
            turns = speech_turns(record.body or {}, structured, get_key)
            if len(turns) > 1:
                spoken = [(turn.voice, turn.text) for turn in turns]
                pcm = await asyncio.to_thread(turns_pcm, spoken)
            else:
                line = prompt if structured else prompt.rsplit("\n\n", 1)[-1]
                pcm = await asyncio.to_thread(speech_pcm, line)
            data, mime = (pcm_to_wav(pcm), "audio/wav") if structured else (pcm, TTS_MIME)
            parts = [{"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}}]
            return parts, len(pcm) // (2 * TTS_RATE) * 25 + 1, "AUDIO"
        if record.kind == "story":
            answer = self._story_json(record, fault)
            return [{"text": json.dumps(answer, ensure_ascii=False)}], 0, "TEXT"
        return [{"text": f"This is a fake Gemini reply to: {prompt[:200]}"}], 0, "TEXT"

    async def _image_parts(self, record: RecordedRequest) -> list[dict[str, Any]]:
        size = self._scaled(IMAGE_SIZES.get(record.aspect_ratio or "1:1", IMAGE_SIZES["1:1"]))
        refs = record.inline_images
        png = await asyncio.to_thread(render_png, record.text, size, refs[0] if refs else None)
        data = base64.b64encode(png).decode()
        parts: list[dict[str, Any]] = [{"inlineData": {"mimeType": "image/png", "data": data}}]
        modalities = {
            str(m).upper() for m in get_key(record.generation_config, "responseModalities") or []
        }
        if "TEXT" in modalities:
            parts.insert(0, {"text": "Here it is."})
        return parts

    def _story_json(self, record: RecordedRequest, fault: Fault | None) -> Any:
        properties = (record.schema or {}).get("properties") or {}
        if "looks" in properties:  # a photo to describe (the hero of a story)
            return hero_json(record.inline_images)
        unknown = fault.speaker if isinstance(fault, UnknownSpeaker) else None
        return story_json(
            record.text, record.system_text, record.schema, record.is_rephrase, unknown
        )
