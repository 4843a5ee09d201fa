"""Providers that count their calls and errors (`core.metrics`): each wraps one provider and
passes everything through, so the pipeline is measured without knowing it."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from core.cast import Hero
from core.metrics import Metrics
from core.models import Aspect, ClipRequest, Scene, Speech, Story, StoryRequest, Style, Voice
from core.providers import (
    Animator,
    CastNarrator,
    ClipStatus,
    HeroDesigner,
    Illustrator,
    Narrator,
    Providers,
    StoryWriter,
)
from core.voicing import VoicedLine


def metered(providers: Providers, metrics: Metrics) -> Providers:
    """The same providers, each call counted under its role (story, image, tts, video)."""
    animator, designer, painter, cast = (
        providers.animator,
        providers.designer,
        providers.cast_illustrator,
        providers.cast_narrator,
    )
    return dataclasses.replace(
        providers,
        writer=MeteredWriter(providers.writer, metrics),
        illustrator=MeteredIllustrator(providers.illustrator, metrics),
        narrator=MeteredNarrator(providers.narrator, metrics),
        animator=MeteredAnimator(animator, metrics) if animator is not None else None,
        designer=MeteredDesigner(designer, metrics) if designer is not None else None,
        cast_illustrator=MeteredIllustrator(painter, metrics) if painter is not None else None,
        cast_narrator=MeteredCast(cast, metrics) if cast is not None else None,
    )


class MeteredWriter:
    """A story writer whose `write` and `soften` calls are counted (role `story`)."""

    def __init__(self, inner: StoryWriter, metrics: Metrics) -> None:
        self.inner, self.name, self._metrics = inner, inner.name, metrics

    @property
    def languages(self) -> tuple[str, ...] | None:
        """The inner writer's languages."""
        return self.inner.languages

    def check_language(self, language: str) -> None:
        """The inner writer's check (not a call to the back end)."""
        self.inner.check_language(language)

    async def write(self, request: StoryRequest, hero: Hero | None = None) -> Story:
        """The inner writer's story."""
        with self._metrics.provider_call("story"):
            return await self.inner.write(request, hero)

    async def soften(self, scene: Scene) -> Scene:
        """The inner writer's softened scene."""
        with self._metrics.provider_call("story"):
            return await self.inner.soften(scene)


class MeteredDesigner:
    """A hero designer whose calls are counted (roles `vision` and `image`)."""

    def __init__(self, inner: HeroDesigner, metrics: Metrics) -> None:
        self.inner, self.name, self._metrics = inner, inner.name, metrics

    async def describe(self, photo: bytes, *, theme: str, language: str) -> Hero:
        """The inner designer's hero."""
        with self._metrics.provider_call("vision"):
            return await self.inner.describe(photo, theme=theme, language=language)

    async def character_sheet(self, photo: bytes, hero: Hero, *, style: Style) -> bytes:
        """The inner designer's character sheet."""
        with self._metrics.provider_call("image"):
            return await self.inner.character_sheet(photo, hero, style=style)


class MeteredIllustrator:
    """An illustrator whose `draw` calls are counted (role `image`)."""

    def __init__(self, inner: Illustrator, metrics: Metrics) -> None:
        self.inner, self.name, self._metrics = inner, inner.name, metrics

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        """The inner illustrator's picture."""
        with self._metrics.provider_call("image"):
            return await self.inner.draw(scene, style=style, aspect=aspect, reference=reference)


class MeteredNarrator:
    """A narrator whose `speak` calls are counted (role `tts`)."""

    def __init__(self, inner: Narrator, metrics: Metrics) -> None:
        self.inner, self.name, self._metrics = inner, inner.name, metrics

    def voices(self) -> list[Voice]:
        """The inner narrator's voices."""
        return self.inner.voices()

    def check_voice(self, voice: str | None, language: str) -> None:
        """The inner narrator's check (not a call to the back end)."""
        self.inner.check_voice(voice, language)

    async def speak(self, text: str, *, voice: str | None, language: str) -> Speech:
        """The inner narrator's speech."""
        with self._metrics.provider_call("tts"):
            return await self.inner.speak(text, voice=voice, language=language)


class MeteredCast:
    """A cast narrator whose `speak_lines` calls are counted (role `tts`)."""

    def __init__(self, inner: CastNarrator, metrics: Metrics) -> None:
        self.inner, self.name, self._metrics = inner, inner.name, metrics
        self.max_speakers = inner.max_speakers

    def cast_voices(self) -> list[Voice]:
        """The inner narrator's cast voices."""
        return self.inner.cast_voices()

    def check_voice(self, voice: str | None, language: str) -> None:
        """The inner narrator's check (not a call to the back end)."""
        self.inner.check_voice(voice, language)

    def pick_voice(self, speaker: int, language: str, taken: Collection[str]) -> str:
        """The inner narrator's pick (not a call to the back end)."""
        return self.inner.pick_voice(speaker, language, taken)

    async def speak_lines(self, lines: Sequence[VoicedLine], *, language: str) -> list[Speech]:
        """The inner narrator's lines."""
        with self._metrics.provider_call("tts"):
            return await self.inner.speak_lines(lines, language=language)


class MeteredAnimator:
    """An animator whose `start` and `wait` calls are counted (role `video`)."""

    def __init__(self, inner: Animator, metrics: Metrics) -> None:
        self.inner, self.name, self._metrics = inner, inner.name, metrics

    @property
    def model(self) -> str:
        """The inner animator's model now."""
        return self.inner.model

    def clip_length(self, wanted_s: float) -> float:
        """The inner animator's clip length."""
        return self.inner.clip_length(wanted_s)

    async def start(self, request: ClipRequest) -> str:
        """The inner animator's operation."""
        with self._metrics.provider_call("video"):
            return await self.inner.start(request)

    async def wait(self, operation: str, request: ClipRequest, status: ClipStatus) -> list[bytes]:
        """The inner animator's clips."""
        with self._metrics.provider_call("video"):
            return await self.inner.wait(operation, request, status)
