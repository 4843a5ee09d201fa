"""Test doubles that honour the provider Protocols: fakes with state, not mocks."""

from __future__ import annotations

import asyncio
import io
import math
import re
import struct
from collections.abc import Collection, Sequence

from PIL import Image

from core.cast import Hero
from core.errors import ContentRejected, ProviderUnavailable
from core.models import Aspect, ClipRequest, Scene, Speech, Story, StoryRequest, Style, Voice
from core.progress import ClipPhase, ProgressEvent
from core.providers import Animator, ClipStatus, Illustrator, Narrator, Providers, StoryWriter
from core.providers.offline import OfflineAnimator, OfflineIllustrator
from core.voicing import Line, VoicedLine, VoiceMode

PALETTE = [
    (220, 60, 60), (60, 160, 60), (60, 90, 220), (230, 200, 40), (160, 60, 200),
    (40, 190, 190), (240, 140, 40), (120, 120, 120), (250, 250, 250), (20, 20, 20),
]  # fmt: skip


class FakeStoryWriter:
    """Writes `scene i of N` stories instantly; records requests."""

    name = "fake"
    languages = None  # any language

    def __init__(self) -> None:
        self.requests: list[StoryRequest] = []
        self.softened: list[str] = []

    def check_language(self, language: str) -> None:
        """Every language is fine."""

    async def write(self, request: StoryRequest, hero: Hero | None = None) -> Story:
        """A story whose scene i narrates `Scene number i.`"""
        self.requests.append(request)
        cast = request.voices is VoiceMode.CAST
        scenes = [
            Scene(
                image_prompt=f"picture {i + 1}",
                narration=f"Scene number {i + 1}.",
                character_description="A red square.",
                lines=_fake_lines(i + 1) if cast else (),
            )
            for i in range(request.scenes)
        ]
        return Story(
            title="Fake", theme=request.theme, style=request.style,
            language=request.language, scenes=scenes,
            voices={"Fox": "", "Owl": ""} if cast else {},
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
        index = int(re.findall(r"\d+", scene.image_prompt)[0]) - 1  # "picture 2. a hint"
        buffer = io.BytesIO()
        Image.new("RGB", self.size, PALETTE[index % len(PALETTE)]).save(buffer, "PNG")
        return buffer.getvalue()


def _fake_lines(number: int) -> tuple[Line, ...]:
    """Scene `number`'s lines: the narrator and the Fox; scene 3 has the Owl too."""
    lines = [Line(speaker="narrator", text=f"Scene number {number}."),
             Line(speaker="Fox", text=f"Hello {number}!")]  # fmt: skip
    if number == 3:
        lines.append(Line(speaker="Owl", text="Hoo!"))
    return tuple(lines)


class FakeNarrator:
    """A tone per call, of a fixed duration; can fail always or on the first N calls. As a
    cast narrator: two speakers per call, a tone per line; records each call's lines."""

    name = "fake"
    max_speakers = 2

    def __init__(self, *, seconds: float = 1.0, fail: bool = False, fail_first: int = 0) -> None:
        self.seconds = seconds
        self.fail = fail
        self.fail_first = fail_first  # calls that fail (transiently) before the rest succeed
        self.texts: list[str] = []
        self.cast_calls: list[list[VoicedLine]] = []

    def voices(self) -> list[Voice]:
        """One voice."""
        return [Voice("tone", "en")]

    def check_voice(self, voice: str | None, language: str) -> None:
        """Any voice is fine."""

    def cast_voices(self) -> list[Voice]:
        """Five voices."""
        return [Voice(f"voice{n}", "en") for n in range(5)]

    def pick_voice(self, speaker: int, language: str, taken: Collection[str]) -> str:
        """The first of `voice<speaker>`, `voice<speaker+1>`, … not taken."""
        return next(f"voice{n}" for n in range(speaker, speaker + 6) if f"voice{n}" not in taken)

    async def speak_lines(self, lines: Sequence[VoicedLine], *, language: str) -> list[Speech]:
        """A tone per line."""
        self.cast_calls.append(list(lines))
        return [await self.speak(line.text, voice=line.voice, language=language) for line in lines]

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


class FakeAnimator:
    """Animates with the offline camera move (real MP4s); records the operations it started
    and, with a `gate`, holds every clip until the gate opens."""

    name = "fake"
    model = "fake camera move"

    def __init__(self, *, gate: asyncio.Event | None = None) -> None:
        self.started: list[ClipRequest] = []
        self.gate = gate
        self._offline = OfflineAnimator()

    def clip_length(self, wanted_s: float) -> float:
        """What the offline camera move makes."""
        return self._offline.clip_length(wanted_s)

    async def start(self, request: ClipRequest) -> str:
        """Record the request; a local operation name."""
        self.started.append(request)
        return f"fake/{len(self.started)}"

    async def wait(self, operation: str, request: ClipRequest, status: ClipStatus) -> list[bytes]:
        """The offline clips, once the gate (if any) is open."""
        if self.gate is not None:
            await status(ClipPhase.GENERATING)
            await self.gate.wait()
        return await self._offline.wait(operation, request, status)


class FakeHeroDesigner:
    """Names every photo's hero Pip; its character sheet is a plain PNG. Records the photos."""

    name = "fake"

    def __init__(self) -> None:
        self.photos: list[bytes] = []

    async def describe(self, photo: bytes, *, theme: str, language: str) -> Hero:
        """Pip, the toy in the photo."""
        self.photos.append(photo)
        return Hero(name="Pip", kind="a toy rabbit", looks="pale blue wool, a red nose")

    async def character_sheet(self, photo: bytes, hero: Hero, *, style: Style) -> bytes:
        """A grey square, drawn for the photo."""
        self.photos.append(photo)
        out = io.BytesIO()
        Image.new("RGB", (64, 64), (128, 128, 128)).save(out, "PNG")
        return out.getvalue()


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
    animator: Animator | None = None,
) -> Providers:
    """A Providers bundle of fakes (any of which can be replaced); no animator unless given."""
    narrator = narrator or FakeNarrator()
    return Providers(
        writer or FakeStoryWriter(), illustrator or FakeIllustrator(), narrator,
        animator, FakeHeroDesigner(), label="fake",
        cast_narrator=narrator if isinstance(narrator, FakeNarrator) else None,
    )  # fmt: skip


class SlowIllustrator(OfflineIllustrator):
    """Offline pictures that take a while, so a job spans several progress edits."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        """The offline picture, after `delay` seconds; counts the calls."""
        self.calls += 1
        await asyncio.sleep(self.delay)
        return await super().draw(scene, style=style, aspect=aspect, reference=reference)
