"""`cast` mode on the Gemini back end, with the real google-genai SDK against the fake Gemini:
the writer casts voices from Google's described list and its lines are repaired once; two
speakers share one multi-speaker TTS request (3.8: a part per turn naming its speaker; earlier
models: a `Speaker: line` transcript), whose answer is cut back into lines at its pauses; the
fake refuses what the real service refuses; through the job service, every character keeps
its voice, the `.srt` names the speakers, and narrator mode is unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import numpy as np
import pytest

from core.cast import SequelBrief
from core.casting import NARRATOR_FALLBACK, cast_problem
from core.config import Settings
from core.models import Speech, StoryRequest
from core.providers import Providers, build_providers
from core.providers.gemini import GeminiStoryWriter
from core.providers.gemini_tts import GeminiNarrator
from core.voicing import VoicedLine, VoiceMode
from tests.gemini_catalog import DEFAULT_MODELS
from tests.gemini_media import VOICE_PITCH
from tests.gemini_server import FakeGemini, Persistent, UnknownSpeaker
from tests.service_helpers import cue_texts, made, user

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot

KEY = "AIzaSy-test-cast-key-0123456789"
LEGACY_TTS = "gemini-2.5-flash-preview-tts"
CAST = StoryRequest(theme="a cat and a dog", scenes=3, voices=VoiceMode.CAST)
VOICES = {"narrator": "Sulafat", "Whiskers": "Puck", "Buster": "Algenib"}
LINES = [
    VoicedLine("narrator", "Whiskers wakes up in the sunny garden.", "Sulafat"),
    VoicedLine("Whiskers", "Good morning, Buster! Look at the sun!", "Puck"),
    VoicedLine("narrator", "And so the friends went on together.", "Sulafat"),
]


@pytest.fixture
async def gemini(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeGemini]:
    async with FakeGemini(
        api_key=KEY, image_scale=0.25, models=[*DEFAULT_MODELS, LEGACY_TTS]
    ) as server:
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        monkeypatch.setenv("GEMINI_BASE_URL", server.base_url)
        yield server


@pytest.fixture
async def providers(gemini: FakeGemini) -> AsyncIterator[Providers]:
    built = build_providers(Settings())
    await built.prepare()
    yield built
    await built.aclose()


def pitch(clip: Speech) -> float:
    """The dominant frequency of a clip."""
    samples = np.frombuffer(clip.pcm, dtype="<i2").astype(np.float64)
    return float(np.argmax(np.abs(np.fft.rfft(samples))) * clip.sample_rate / samples.size)


def assert_voices(clips: list[Speech], voices: list[str]) -> None:
    """Each clip holds only its own line, in its voice's pitch."""
    assert [pitch(clip) for clip in clips] == [
        pytest.approx(VOICE_PITCH[voice], abs=4) for voice in voices
    ]


# ------------------------------------------------------------------ the writer


async def test_the_writer_casts_voices_from_the_described_list(
    gemini: FakeGemini, providers: Providers
) -> None:
    """A cast request asks for lines and characters with voices from Google's described list
    (the narrator's excluded); the story has lines, their joined narration and the voices."""
    assert isinstance(providers.writer, GeminiStoryWriter)
    story = await providers.writer.write(CAST)
    (call,) = gemini.calls("story")
    assert "exactly 3 scenes" in call.text
    assert "Puck: upbeat" in call.text
    assert "Sulafat: warm" in call.text
    assert "not Sulafat (the narrator's voice)" in call.text
    assert story.voices == VOICES
    assert cast_problem(story) is None
    scene = story.scenes[1]
    assert [line.speaker for line in scene.lines] == ["narrator", "Whiskers", "Buster"]
    assert scene.narration == " ".join(line.text for line in scene.lines)


async def test_the_narrator_mode_request_is_unchanged(
    gemini: FakeGemini, providers: Providers
) -> None:
    """Narrator mode asks for one narration per scene, with no lines, cast or voice list."""
    story = await providers.writer.write(CAST.model_copy(update={"voices": VoiceMode.NARRATOR}))
    (call,) = gemini.calls("story")
    scene_schema = str(call.schema)
    assert "narration" in scene_schema
    assert "lines" not in scene_schema
    assert "characters" not in scene_schema
    assert "voice" not in call.text.lower()
    assert story.voices == {}
    assert all(not scene.lines for scene in story.scenes)


async def test_an_unknown_speaker_is_repaired_once(
    gemini: FakeGemini, providers: Providers
) -> None:
    """A line by a speaker who is no character is sent back with the reason; the second
    answer is cast."""
    gemini.script("story", UnknownSpeaker("Owl"))
    story = await providers.writer.write(CAST)
    _, second = gemini.calls("story")
    assert "'Owl' speaks but is not a character" in second.text
    assert story.voices == VOICES
    assert cast_problem(story) is None


async def test_unknown_speakers_twice_leave_one_narrator(
    gemini: FakeGemini, providers: Providers
) -> None:
    """After a second uncastable answer the story comes back for one narrator."""
    gemini.script("story", Persistent(UnknownSpeaker()))
    story = await providers.writer.write(CAST)
    assert len(gemini.calls("story")) == 2
    assert story.voices == {}
    assert all(not scene.lines and scene.narration for scene in story.scenes)


async def test_a_sequel_keeps_its_characters_voices(
    gemini: FakeGemini, providers: Providers
) -> None:
    """The writer is told the earlier voices, and they win over its new choice."""
    earlier = {"narrator": "Kore", "Whiskers": "Charon"}
    brief = SequelBrief(
        of="j1", part=2, title="Whiskers and Buster", summary="They found a map.",
        characters="Whiskers the cat; Buster the dog.", voices=earlier,
    )  # fmt: skip
    story = await providers.writer.write(CAST.model_copy(update={"sequel": brief}))
    (call,) = gemini.calls("story")
    assert "keep their voices: Whiskers: Charon." in call.text
    assert "not Kore (the narrator's voice)" in call.text
    assert story.voices == {"narrator": "Kore", "Whiskers": "Charon", "Buster": "Algenib"}


# ------------------------------------------------------------------ the TTS requests


async def test_two_speakers_share_one_structured_request(
    gemini: FakeGemini, providers: Providers
) -> None:
    """3.8: one part per line, each naming its speaker, and the two speakers' voices in the
    multi-speaker config; the answer comes back cut into its three lines."""
    tts = providers.narrator
    assert isinstance(tts, GeminiNarrator)
    assert tts.max_speakers == 2
    clips = await tts.speak_lines(LINES, language="en")
    (call,) = gemini.calls("tts")
    assert call.speaker_voices == {"Narrator": "Sulafat", "Whiskers": "Puck"}
    assert call.part_speakers == ["Narrator", "Whiskers", "Narrator"]
    assert call.voice is None
    assert_voices(clips, ["Sulafat", "Puck", "Sulafat"])


async def test_two_speakers_on_an_earlier_model_are_a_transcript(
    gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before 3.8: one text, `Speaker: line` lines after the instruction, prebuilt voices."""
    monkeypatch.setenv("STORYBOT_TTS_MODEL", LEGACY_TTS)
    built = build_providers(Settings())
    try:
        await built.prepare()
        assert isinstance(built.narrator, GeminiNarrator)
        clips = await built.narrator.speak_lines(LINES, language="en")
    finally:
        await built.aclose()
    (call,) = gemini.calls("tts")
    assert call.model == LEGACY_TTS
    assert call.transcript_speakers == ["Narrator", "Whiskers", "Narrator"]
    assert call.speaker_voices == {"Narrator": "Sulafat", "Whiskers": "Puck"}
    assert call.part_speakers == [None]
    assert_voices(clips, ["Sulafat", "Puck", "Sulafat"])


async def test_one_speaker_s_lines_are_a_single_voice_request(
    gemini: FakeGemini, providers: Providers
) -> None:
    """Lines of one speaker: an ordinary single-voice request, a part per line."""
    assert isinstance(providers.narrator, GeminiNarrator)
    lines = [LINES[0], LINES[2]]
    clips = await providers.narrator.speak_lines(lines, language="en")
    (call,) = gemini.calls("tts")
    assert call.voice == "Sulafat"
    assert call.speaker_voices == {}
    assert call.part_speakers == [None, None]
    assert_voices(clips, ["Sulafat", "Sulafat"])


def speech_body(speech: dict[str, Any], *parts: dict[str, Any]) -> dict[str, Any]:
    config = {"responseModalities": ["AUDIO"], "speechConfig": speech}
    return {"contents": [{"role": "user", "parts": list(parts)}], "generationConfig": config}


def pair(*entries: tuple[str, str]) -> dict[str, Any]:
    configs = [{"speaker": s, "voiceConfig": {"voice": v}} for s, v in entries]
    return {"multiSpeakerVoiceConfig": {"speakerVoiceConfigs": configs}}


def said(speaker: str) -> dict[str, Any]:
    return {"text": "Hello.", "speechMetadata": {"speaker": speaker}}


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        ("gemini-3.8-flash-tts", speech_body(pair(("A", "Kore"), ("B", "Puck"), ("C", "Leda")),
         said("A")), "exactly two speaker_voice_configs"),
        ("gemini-3.8-flash-tts", speech_body(pair(("A", "Kore"), ("B", "Nobody")), said("A")),
         "Voice name Nobody is not supported"),
        ("gemini-3.8-flash-tts", speech_body(pair(("A", "Kore"), ("A", "Puck")), said("A")),
         "speaker A twice"),
        ("gemini-3.8-flash-tts", speech_body(pair(("A", "Kore"), ("B", "Puck")), said("C")),
         "'C' is not one of"),
        ("gemini-3.8-flash-tts", speech_body({"voiceConfig": {"voice": "Kore"}}, said("A")),
         "needs speech_config.multi_speaker_voice_config"),
        ("gemini-3.8-flash-tts", speech_body(
            {"voiceConfig": {"voice": "Kore"}, **pair(("A", "Kore"), ("B", "Puck"))}, said("A")),
         "mutually exclusive"),
        (LEGACY_TTS, speech_body(
            {"multiSpeakerVoiceConfig": {"speakerVoiceConfigs": [
                {"speaker": s, "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}}
                for s in ("A", "B")]}},
            {"text": "Read this.\n\nA: Hi.\nC: Who?"}),
         "does not start with one of"),
    ],
)  # fmt: skip
async def test_the_fake_refuses_what_the_real_service_refuses(
    gemini: FakeGemini, model: str, body: dict[str, Any], message: str
) -> None:
    """Multi-speaker requests outside the documented shape answer 400 INVALID_ARGUMENT."""
    url = f"{gemini.base_url}/v1beta/models/{model}:generateContent"
    async with (
        aiohttp.ClientSession(headers={"x-goog-api-key": KEY}) as session,
        session.post(url, json=body) as reply,
    ):
        status, answer = reply.status, await reply.json()
    assert status == 400
    assert answer["error"]["status"] == "INVALID_ARGUMENT"
    assert message in answer["error"]["message"]


# ------------------------------------------------------------------ through the job service


async def test_a_cast_story_keeps_every_voice_and_narrator_mode_is_unchanged(
    gemini: FakeGemini, storybot: OpenStoryBot, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cast: the two-speaker scene is one multi-speaker request, the three-speaker scene a
    request per line; every request gives each speaker the story's voice; the `.srt` names
    the characters. Narrator mode: one single-voice request per scene, as before."""
    monkeypatch.setenv("STORYBOT_FPS", "12")
    request = CAST.model_copy(update={"scenes": 2})
    async with storybot(build_providers(Settings()), settings=Settings()) as bot:
        job = await bot.service.submit_story(request, user(1))
        result = await made(bot.service, job)
        texts = await cue_texts(bot.service, job, result)
        cast_calls = list(gemini.calls("tts"))
        gemini.reset()
        plain = request.model_copy(update={"voices": VoiceMode.NARRATOR})
        await made(bot.service, await bot.service.submit_story(plain, user(2)))
    assert result.story.voices == VOICES
    multi = [call for call in cast_calls if call.speaker_voices]  # scene 1
    assert [call.speaker_voices for call in multi] == [{"Narrator": "Sulafat", "Whiskers": "Puck"}]
    assert multi[0].part_speakers == ["Narrator", "Whiskers"]
    singles = [call for call in cast_calls if not call.speaker_voices]  # scene 2, a line each
    assert sorted(str(call.voice) for call in singles) == ["Algenib", "Puck", "Sulafat"]
    lines = [line for scene in result.story.scenes for line in scene.lines]
    assert texts == [line.caption for line in lines]
    assert texts[:2] == [lines[0].text, "Whiskers: Good morning, Buster! Look at the sun!"]
    narrated = gemini.calls("tts")
    assert len(narrated) == 2
    assert all(call.voice == "Sulafat" and not call.speaker_voices for call in narrated)
    assert all(call.part_speakers == [None] for call in narrated)


async def test_a_story_uncastable_twice_is_told_by_one_narrator_with_a_note(
    gemini: FakeGemini, storybot: OpenStoryBot, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown speakers in both answers: one narrator, and the result says why."""
    monkeypatch.setenv("STORYBOT_FPS", "12")
    gemini.script("story", Persistent(UnknownSpeaker()))
    request = CAST.model_copy(update={"scenes": 2})
    async with storybot(build_providers(Settings()), settings=Settings()) as bot:
        result = await made(bot.service, await bot.service.submit_story(request, user(1)))
    assert len(gemini.calls("story")) == 2
    assert NARRATOR_FALLBACK in result.notes
    assert result.story.voices == {}
    assert len(gemini.calls("tts")) == 2
    assert all(not call.speaker_voices for call in gemini.calls("tts"))
