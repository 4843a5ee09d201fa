"""Clips from Google's video models, as long-running operations that are polled: Veo through
`generate_videos` on Vertex AI, and a video-capable Gemini model through the Interactions API
on the Developer API (google-genai 3.x starts Veo only on Vertex AI)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import logging
from typing import Any

from google.genai import _interactions, types

from core.errors import (
    ConfigurationError,
    ContentRejected,
    ProviderError,
    ProviderUnavailable,
)
from core.models import Aspect, ClipRequest
from core.progress import ClipPhase
from core.providers import ClipStatus
from core.providers.catalog import Role
from core.providers.gemini import image_mime
from core.providers.google_backend import GeminiBackend, classify_status
from core.providers.retry import Retryable

log = logging.getLogger(__name__)

# Veo makes 16:9 and 9:16 clips; square and 16:10 get landscape clips, centre-cropped later.
_CLIP_ASPECT = {
    Aspect.LANDSCAPE: "16:9", Aspect.PORTRAIT: "9:16", Aspect.SQUARE: "16:9", Aspect.WIDE: "16:9",
}  # fmt: skip


def veo_lengths(model: str) -> tuple[int, ...]:
    """The clip lengths (s) a Veo model accepts: Veo 2 takes 5–8 s, later models 4, 6 or 8."""
    return (5, 6, 7, 8) if model.startswith("veo-2") else (4, 6, 8)


def round_up(wanted_s: float, allowed: tuple[int, ...]) -> int:
    """The shortest allowed length that covers `wanted_s`, else the longest."""
    return next((n for n in allowed if n >= wanted_s), allowed[-1])


class VeoAnimator:
    """Veo through Vertex AI; the videos come back inline (no output bucket is configured)."""

    name = "veo"

    def __init__(self, backend: GeminiBackend, poll_s: float) -> None:
        self.backend, self.poll_s = backend, poll_s

    @property
    def model(self) -> str:
        """The video model in use now."""
        return self.backend.models.current(Role.VIDEO)

    def clip_length(self, wanted_s: float) -> float:
        """Rounded up to the model's lengths (a longer scene slows or holds the clip)."""
        return round_up(wanted_s, veo_lengths(self.model))

    async def start(self, request: ClipRequest) -> str:
        """Start `generate_videos`; returns the operation name to checkpoint."""
        image = (
            types.Image(image_bytes=request.image, mime_type=image_mime(request.image))
            if request.image
            else None
        )

        async def generate(model: str) -> types.GenerateVideosOperation:
            config = types.GenerateVideosConfig(
                number_of_videos=request.count,
                duration_seconds=round_up(request.duration_s, veo_lengths(model)),
                aspect_ratio=_CLIP_ASPECT[request.aspect],
                negative_prompt=request.negative_prompt,
                person_generation="allow_adult" if request.people else "dont_allow",
                # Veo 3 models make sound and ask whether to; Veo 2 has no such parameter.
                generate_audio=None if model.startswith("veo-2") else request.sound,
            )
            source = types.GenerateVideosSource(prompt=request.prompt, image=image)
            return await self.backend.client.aio.models.generate_videos(
                model=model, source=source, config=config
            )

        operation = await self.backend.run(Role.VIDEO, generate)
        if not operation.name:
            raise ProviderError("Veo did not start the clip")
        log.info("Veo operation started: %s", operation.name)
        return operation.name

    async def wait(self, operation: str, request: ClipRequest, status: ClipStatus) -> list[bytes]:
        """Poll every `poll_s` until done (the caller bounds the time)."""
        pending = types.GenerateVideosOperation.model_validate({"name": operation})
        while True:
            current = await self.backend.call(
                self.model, lambda: self.backend.client.aio.operations.get(pending)
            )
            if current.done:
                break
            await status(ClipPhase.GENERATING)
            await asyncio.sleep(self.poll_s)
        await status(ClipPhase.DOWNLOADING)
        if current.error:
            log.info("Veo operation failed: %s", current.error)
            message = str(current.error.get("message") or "unknown error")[:200]
            raise ProviderError(f"Veo could not make the clip: {message}")
        result = current.response or current.result
        videos = [
            v.video.video_bytes
            for v in (result.generated_videos if result else None) or []
            if v.video is not None and v.video.video_bytes
        ]
        if not videos:
            reasons = (result.rai_media_filtered_reasons if result else None) or []
            log.info("Veo returned no clip; filtered: %s", reasons)
            raise ContentRejected("the clip was blocked by Veo's safety filter")
        return videos


_RUNNING = {"queued", "in_progress"}


class InteractionsAnimator:
    """A video-capable Gemini model through the Interactions API (Developer API): the text and
    picture in, a background interaction polled until it ends, the video inline."""

    name = "gemini-video"

    def __init__(self, backend: GeminiBackend, poll_s: float) -> None:
        self.backend, self.poll_s = backend, poll_s

    @property
    def model(self) -> str:
        """The video model in use now."""
        return self.backend.models.current(Role.VIDEO)

    def clip_length(self, wanted_s: float) -> float:
        """The model picks the length; the assembly slows or holds a short clip."""
        return wanted_s

    async def start(self, request: ClipRequest) -> str:
        """Create one background interaction per wanted video; returns their ids, joined by
        commas (one operation name to checkpoint)."""
        content: list[dict[str, Any]] = [{"type": "text", "text": _prompt(request)}]
        if request.image:
            content.append(
                {"type": "image", "data": base64.b64encode(request.image).decode(),
                 "mime_type": image_mime(request.image)}
            )  # fmt: skip
        video_format = {
            "type": "video", "aspect_ratio": _CLIP_ASPECT[request.aspect], "resolution": "720p",
            "delivery": "inline",
        }  # fmt: skip
        ids = []
        for _ in range(request.count):
            interaction = await self.backend.run(
                Role.VIDEO,
                lambda model: self._mapped(
                    model,
                    lambda: self.backend.client.aio.interactions.create(
                        model=model, input=content, background=True, response_format=video_format
                    ),
                ),
            )
            if not interaction.id:
                raise ProviderError("Gemini did not start the clip")
            ids.append(str(interaction.id))
        log.info("video interactions started: %s", ids)
        return ",".join(ids)

    async def wait(self, operation: str, request: ClipRequest, status: ClipStatus) -> list[bytes]:
        """Poll every `poll_s` until every interaction leaves `queued`/`in_progress`; the
        videos of those that completed (an error only if none did)."""
        pending, ended = operation.split(","), []
        while pending:
            for interaction_id in list(pending):
                get = functools.partial(self.backend.client.aio.interactions.get, interaction_id)
                interaction = await self._call(get)
                if interaction.status not in _RUNNING:
                    pending.remove(interaction_id)
                    ended.append(interaction)
            if pending:
                await status(ClipPhase.GENERATING)
                await asyncio.sleep(self.poll_s)
        await status(ClipPhase.DOWNLOADING)
        videos = [_video(interaction) for interaction in ended]
        if any(videos):
            return [video for video in videos if video]
        codes = [str(e.code) for interaction in ended for e in interaction.errors or []]
        statuses = sorted({str(interaction.status) for interaction in ended})
        log.info("video interactions ended %s: %s", statuses, codes)
        if "SAFETY" in codes or "incomplete" in statuses:
            raise ContentRejected("the clip was blocked by Gemini's safety filter")
        raise ProviderError(f"Gemini could not make the clip ({', '.join(statuses)})")

    async def _call(self, request: Any) -> Any:
        """A poll of an interaction, with our retries."""
        model = self.model
        return await self.backend.call(model, lambda: self._mapped(model, request))

    async def _mapped(self, model: str, request: Any) -> Any:
        """An Interactions call: its errors are not `APIError`s, so they are mapped here."""
        try:
            return await request()
        except _interactions.APIStatusError as exc:
            raise _interaction_error(exc.status_code, model, self.backend) from None
        except _interactions.APIConnectionError:  # timeouts included
            raise Retryable(
                ProviderUnavailable("Gemini could not be reached; try again in a minute"),
                None,
                "connection lost",
            ) from None


def _video(interaction: Any) -> bytes | None:
    """The inline video of a completed interaction."""
    video = interaction.output_video
    if interaction.status != "completed" or video is None or not video.data:
        return None
    try:
        return base64.b64decode(video.data)
    except (binascii.Error, ValueError):
        log.warning("interaction %s: unreadable video data", interaction.id)
        return None


def _interaction_error(code: int | None, model: str, backend: GeminiBackend) -> Exception:
    """The shared mapping (any 5xx is transient here), except that a model refusing the
    request cannot make videos."""
    if code is not None and code >= 500:
        code = 503
    error = classify_status(code, None, None, model, backend)
    if type(error) is ProviderError:  # a 404 stays `ModelNotFound`: the model may have retired
        return ConfigurationError(
            f"the model '{model}' cannot make videos here: animation needs Vertex AI "
            "(GOOGLE_GENAI_USE_VERTEXAI=true) or a video-capable model in STORYBOT_VIDEO_MODEL"
        )
    return error


def _prompt(request: ClipRequest) -> str:
    """The Interactions API has no negative prompt field: it goes into the text."""
    avoid = f" Avoid: {request.negative_prompt}." if request.negative_prompt else ""
    people = "" if request.people else " No people."
    return f"{request.prompt}{people}{avoid}"
