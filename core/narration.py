"""Narration of a story's scenes, each checkpointed: one narrator's line, or a cast's lines
(`cast` mode), each speaker in its voice, in one request when the back end can voice every
speaker of the scene at once, else one per line, joined sample-exactly with a short gap."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass

from core import audio
from core.casting import voice_of
from core.errors import ProviderError
from core.models import Scene, Speech, Story, StoryRequest
from core.providers import CastNarrator, Providers
from core.steps import JobFiles, write_atomic
from core.voicing import LINE_GAP_S, SPEAKER_GAP_S, VoicedLine, speakers

LineTimes = tuple[tuple[float, float], ...]  # each line's start and end within its scene, in s


@dataclass(frozen=True, slots=True)
class SceneSpeech:
    """A scene's narration, and where each of its lines is in it (cast mode; else empty)."""

    speech: Speech
    lines: LineTimes = ()


class Narration:
    """Speaks scenes with the providers' narrator (or cast narrator), `slots` calls at once."""

    def __init__(self, providers: Providers, slots: asyncio.Semaphore) -> None:
        self.providers, self._slots = providers, slots

    async def scene(
        self, run: JobFiles, story: Story, request: StoryRequest, index: int
    ) -> SceneSpeech:
        """Scene `index`'s narration, from its checkpoint if it has one."""
        step, stem = f"narration:{index + 1}", f"scene_{index + 1:02d}"
        scene, cast = story.scenes[index], self.providers.cast_narrator
        saved = await run.reuse(step, f"{stem}.wav")
        if saved is not None:
            speech = audio.from_wav(await asyncio.to_thread(saved.read_bytes))
            timing = run.path(f"{stem}.lines.json")
            if not scene.lines or not await asyncio.to_thread(timing.exists):
                return SceneSpeech(speech)
            times = json.loads(await asyncio.to_thread(timing.read_text))
            return SceneSpeech(speech, tuple((float(a), float(b)) for a, b in times))
        if scene.lines and cast is not None:
            spoken = await self._cast(cast, story, scene, request.language)
            # The lines' times first: the narration's checkpoint marks both as done.
            data = json.dumps(spoken.lines).encode()
            await asyncio.to_thread(write_atomic, run.path(f"{stem}.lines.json"), data)
        else:
            async with self._slots:
                speech = await self.providers.narrator.speak(
                    scene.narration, voice=request.voice, language=request.language
                )
            spoken = SceneSpeech(speech)
        await run.save(step, f"{stem}.wav", audio.to_wav(spoken.speech))
        return spoken

    async def _cast(
        self, narrator: CastNarrator, story: Story, scene: Scene, language: str
    ) -> SceneSpeech:
        voiced = [
            VoicedLine(line.speaker, line.text, voice_of(story, line.speaker))
            for line in scene.lines
        ]
        if len(speakers(scene.lines)) <= narrator.max_speakers:  # one request for the scene
            async with self._slots:
                parts = await narrator.speak_lines(voiced, language=language)
        else:  # more voices than one request takes: a request per line
            parts = []
            for line in voiced:
                async with self._slots:
                    parts += await narrator.speak_lines([line], language=language)
        if len(parts) != len(voiced):
            raise ProviderError("the narrator did not speak every line")
        gaps = [
            LINE_GAP_S if before.speaker == after.speaker else SPEAKER_GAP_S
            for before, after in itertools.pairwise(voiced)
        ]
        speech, times = audio.join_lines(parts, gaps)
        return SceneSpeech(speech, tuple(times))
