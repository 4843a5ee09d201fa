"""Clients and pictures the self-tests of the fake Gemini share."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import numpy as np
from google import genai
from google.genai import types
from google.genai.interactions import Interaction
from google.oauth2.credentials import Credentials
from PIL import Image
from pydantic import BaseModel

from tests.gemini_catalog import DEFAULT_MODELS
from tests.gemini_server import FakeGemini

# The wire shapes of one generation before the current one (raw PCM TTS, Imagen) are kept
# in this fake's catalog beside the defaults, for whoever still has them.
TEXT, IMAGE, TTS = "gemini-2.5-flash", "gemini-2.5-flash-image", "gemini-2.5-flash-preview-tts"
IMAGEN, VEO, OMNI = "imagen-4.0-generate-001", "veo-3.1-generate-001", "gemini-omni-1.1-flash"
CATALOG = [*DEFAULT_MODELS, TEXT, IMAGE, TTS, IMAGEN, VEO]
NO_RETRY = types.HttpRetryOptions(attempts=1)
ROOT = Path(__file__).resolve().parents[3]


class SceneOut(BaseModel):
    image_prompt: str
    narration: str
    character_description: str


class StoryOut(BaseModel):
    title: str
    scenes: list[SceneOut]


class Rephrased(BaseModel):
    image_prompt: str


def make_client(fake: FakeGemini, **http: Any) -> genai.Client:
    options = types.HttpOptions(base_url=fake.base_url, api_version="v1beta", **http)
    return genai.Client(api_key=fake.api_key, http_options=options)


def json_config(schema: type[BaseModel]) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=schema
    )


def parts_of(response: types.GenerateContentResponse) -> list[types.Part]:
    assert response.candidates
    content = response.candidates[0].content
    assert content
    assert content.parts
    return content.parts


def png(colour: tuple[int, int, int], size: tuple[int, int] = (32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def vertex_client(
    fake: FakeGemini, *, token: str = "test", express: bool = False, **http: Any
) -> genai.Client:
    options = types.HttpOptions(base_url=fake.base_url, retry_options=NO_RETRY, **http)
    if express:
        return genai.Client(vertexai=True, api_key=fake.api_key, http_options=options)
    return genai.Client(
        vertexai=True,
        project="p",
        location="us-central1",
        credentials=Credentials(token=token),  # type: ignore[no-untyped-call]
        http_options=options,
    )


def halves(size: tuple[int, int] = (64, 36)) -> bytes:
    """A picture whose left half is red and right half blue."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def first_frame(clip: bytes) -> np.ndarray[Any, Any]:
    with av.open(io.BytesIO(clip), mode="r") as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")


def clip_info(clip: bytes) -> tuple[str, str, float, float, int, int]:
    """Video codec, audio codec, fps, duration (s), width, height of an MP4."""
    with av.open(io.BytesIO(clip), mode="r") as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        return (
            video.codec_context.name, audio.codec_context.name, float(video.average_rate or 0),
            float(container.duration or 0) / av.time_base, video.width, video.height,
        )  # fmt: skip


async def create_interaction(client: genai.client.AsyncClient, **kwargs: Any) -> Interaction:
    created = await client.interactions.create(**kwargs)
    assert isinstance(created, Interaction)
    return created


async def get_interaction(client: genai.client.AsyncClient, name: str | None) -> Interaction:
    got = await client.interactions.get(name or "")
    assert isinstance(got, Interaction)
    return got


def assert_starts_from_halves(clip: bytes) -> None:
    rgb = first_frame(clip).astype(float)
    quarter = rgb.shape[1] // 4
    left, right = rgb[:, :quarter].mean(axis=(0, 1)), rgb[:, -quarter:].mean(axis=(0, 1))
    assert left[0] > 180 > left[2], left  # red
    assert right[2] > 180 > right[0], right  # blue
