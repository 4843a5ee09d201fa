"""Test doubles that honour the provider Protocols: fakes with state, not mocks."""

from __future__ import annotations

import asyncio
import io
import math
import struct
from collections.abc import Collection

from PIL import Image

from core.errors import ContentRejected, ProviderUnavailable
from core.models import Aspect, Scene, Speech, Story, StoryRequest, Style, Voice
from core.progress import ProgressEvent
from core.providers import Illustrator, Narrator, Providers, StoryWriter

PALETTE = [
    (220, 60, 60), (60, 160, 60), (60, 90, 220), (230, 200, 40), (160, 60, 200),
    (40, 190, 190), (240, 140, 40), (120, 120, 120), (250, 250, 250), (20, 20, 20),
]  # fmt: skip


class FakeStoryWriter:
    """Writes `scene i of N` stories instantly; records requests."""

    name = "fake"

    def __init__(self) -> None:
        self.requests: list[StoryRequest] = []
        self.softened: list[str] = []

    def check_language(self, language: str) -> None:
        """Every language is fine."""

    async def write(self, request: StoryRequest) -> Story:
        """A story whose scene i narrates `Scene number i.`"""
        self.requests.append(request)
        scenes = [
            Scene(
                image_prompt=f"picture {i + 1}",
                narration=f"Scene number {i + 1}.",
                character_description="A red square.",
            )
            for i in range(request.scenes)
        ]
        return Story(
            title="Fake", theme=request.theme, style=request.style,
            language=request.language, scenes=scenes,
        )  # fmt: skip

    async def soften(self, scene: Scene) -> Scene:
        """Mark the prompt as softened, keeping the scene number last."""
        self.softened.append(scene.image_prompt)
        number = scene.image_prompt.rsplit(" ", 1)[-1]
        return scene.model_copy(update={"image_prompt": f"gentle picture {number}"})


class FakeIllustrator:
    """A flat PNG coloured by the scene's number; records prompts; refuses `blocked` prompts."""

    name = "fake"

    def __init__(
        self,
        *,
        fail_on: int | None = None,
        blocked: Collection[str] = (),
        size: tuple[int, int] = (64, 36),
        gate: asyncio.Event | None = None,
    ) -> None:
        self.prompts: list[str] = []
        self.references: list[bytes | None] = []
        self.fail_on = fail_on
        self.blocked = blocked  # prompts always refused as unsafe
        self.size = size
        self.gate = gate  # when set, every call waits for it to open

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        """A solid picture in PALETTE[scene number - 1]."""
        self.prompts.append(scene.image_prompt)
        if self.gate is not None:
            await self.gate.wait()
        self.references.append(reference)
        if scene.image_prompt in self.blocked or len(self.prompts) == self.fail_on:
            raise ContentRejected("the picture was blocked")
        index = int(scene.image_prompt.rsplit(" ", 1)[-1]) - 1
        buffer = io.BytesIO()
        Image.new("RGB", self.size, PALETTE[index % len(PALETTE)]).save(buffer, "PNG")
        return buffer.getvalue()


class FakeNarrator:
    """A tone per call, of a fixed duration; can fail always or on the first N calls."""

    name = "fake"

    def __init__(self, *, seconds: float = 1.0, fail: bool = False, fail_first: int = 0) -> None:
        self.seconds = seconds
        self.fail = fail
        self.fail_first = fail_first  # calls that fail (transiently) before the rest succeed
        self.texts: list[str] = []

    def voices(self) -> list[Voice]:
        """One voice."""
        return [Voice("tone", "en")]

    def check_voice(self, voice: str | None, language: str) -> None:
        """Any voice is fine."""

    async def speak(self, text: str, *, voice: str | None, language: str) -> Speech:
        """A sine tone."""
        self.texts.append(text)
        if self.fail or len(self.texts) <= self.fail_first:
            raise ProviderUnavailable("the narrator is down")
        rate = 24_000
        freq = 200 + 40 * len(self.texts)
        samples = (
            int(8000 * math.sin(2 * math.pi * freq * n / rate))
            for n in range(int(self.seconds * rate))
        )
        return Speech(b"".join(struct.pack("<h", s) for s in samples), rate)


class RecordingSink:
    """Collects every event in order."""

    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    async def __call__(self, event: ProgressEvent, /) -> None:
        """Record the event."""
        self.events.append(event)


def fake_providers(
    writer: StoryWriter | None = None,
    illustrator: Illustrator | None = None,
    narrator: Narrator | None = None,
) -> Providers:
    """A Providers bundle of fakes (any of which can be replaced)."""
    return Providers(
        writer or FakeStoryWriter(), illustrator or FakeIllustrator(), narrator or FakeNarrator(),
        label="fake",
    )  # fmt: skip
