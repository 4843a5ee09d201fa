"""Video operations of the fake Gemini: Veo on Vertex AI and video interactions.

The clip is a real H.264 + AAC MP4 made by the bundled ffmpeg (`render_mp4`):
`durationSeconds` / `duration` long (default 8), 24 fps, at `VIDEO_SIZES[aspect]` times
`image_scale`, a slow zoom on the request's image (else on a `render_png` of the prompt), a tone
as audio (none when `generateAudio` is false); clips are cached. Each operation is a
`VideoOperation` in `fake.operations` (by operation name or interaction id; it outlives clients
and `reset`). It finishes once both `video_latency_s` seconds have passed since its start and
more than `polls_until_done` polls came (both snapshotted into the operation at its start;
defaults 0 and 0: the first poll sees it done). A non-background video interaction answers
done at once, after `video_latency_s`.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from tests.gemini_answers import AnswersMixin
from tests.gemini_faults import Fault, NeverDone, OperationError, VideoFiltered
from tests.gemini_media import DEFAULT_VIDEO_SECONDS, VIDEO_SIZES, render_mp4
from tests.gemini_requests import RecordedRequest, get_key

VEO_RESPONSE_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
# google.rpc.Code numbers → names, for operation errors.
_CODES = {
    1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
    7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 13: "INTERNAL",
    14: "UNAVAILABLE",
}  # fmt: skip


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
        ratio = get_key(self.parameters, "aspectRatio")
        return str(ratio) if ratio else "16:9"

    @property
    def duration_s(self) -> float:
        """`durationSeconds` (Veo) or `duration` like "8s" (interactions), default 8."""
        value = get_key(self.parameters, "durationSeconds", get_key(self.parameters, "duration"))
        match = re.match(r"\s*(\d+(?:\.\d+)?)", str(value)) if value is not None else None
        return min(60.0, max(0.5, float(match.group(1)))) if match else DEFAULT_VIDEO_SECONDS

    @property
    def sample_count(self) -> int:
        return max(1, int(get_key(self.parameters, "sampleCount") or 1))

    @property
    def audio(self) -> bool:
        return get_key(self.parameters, "generateAudio") is not False

    def finishes_now(self, now: float) -> bool:
        """Whether the operation is (or now becomes) finished."""
        ready = now - self.started >= self.latency_s and self.polls > self.polls_until_done
        if self.done_at is None and ready and not isinstance(self.fault, NeverDone):
            self.done_at = now
        return self.done_at is not None


class VideoMixin(AnswersMixin):
    """Starts, polls and finishes the video operations of `FakeGemini` (its clips are sized
    like its pictures)."""

    operations: dict[str, VideoOperation]
    gcs: dict[str, bytes]
    video_latency_s: float
    polls_until_done: int

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
            background=bool(get_key(record.body, "background", kind == "video")),
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
            storage = get_key(operation.parameters, "storageUri")
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
