"""Offline `cast` mode: the story writer gives its characters lines, and eSpeak NG gives every
speaker a voice of its own that a pitch tracker tells apart."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.casting import cast_problem, cast_voices, voice_of
from core.errors import InvalidRequest
from core.models import Speech, Story, StoryRequest
from core.providers.offline.dialogue import TALK
from core.providers.offline.speech import OfflineNarrator
from core.providers.offline.story import OfflineStoryWriter, find_characters
from core.voicing import MAX_CAST_VOICES, NARRATOR, VoicedLine, VoiceMode, joined_text
from tests.pitch import median_pitch_hz, semitones

THEME = "a bear, a rabbit and a duck"  # three characters, all of whom speak in three scenes
RATE = 24_000


async def write(theme: str = THEME, *, language: str = "en", cast: bool = True) -> Story:
    mode = VoiceMode.CAST if cast else VoiceMode.NARRATOR
    request = StoryRequest(theme=theme, scenes=3, language=language, voices=mode)
    return await OfflineStoryWriter().write(request)


async def spoken(story: Story, narrator: OfflineNarrator) -> dict[str, list[Speech]]:
    """Every line of the cast story in its speaker's voice, one call per line (eSpeak speaks
    one speaker per call), grouped by speaker."""
    by_speaker: dict[str, list[Speech]] = {}
    for scene in story.scenes:
        for line in scene.lines:
            voiced = VoicedLine(line.speaker, line.text, voice_of(story, line.speaker))
            [speech] = await narrator.speak_lines([voiced], language=story.language)
            assert speech.sample_rate == RATE
            by_speaker.setdefault(line.speaker, []).append(speech)
    return by_speaker


def joined(speeches: list[Speech]) -> Speech:
    return Speech(b"".join(s.pcm for s in speeches), RATE)


def tone(hz: float, *, seconds: float = 1.0, harmonics: int = 1) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * hz * k * t) / k for k in range(1, harmonics + 1))
    return 0.3 * np.asarray(wave)


def test_pitch_measurer_hears_synthetic_tones() -> None:
    """220 Hz and 262 Hz sines measure as themselves, about 3 semitones apart; a tone rich in
    harmonics measures at its fundamental; silence has no pitch."""
    low, high = median_pitch_hz(tone(220), RATE), median_pitch_hz(tone(262), RATE)
    assert low == pytest.approx(220, abs=1)
    assert high == pytest.approx(262, abs=1)
    assert semitones(low, high) == pytest.approx(3.0, abs=0.1)
    assert median_pitch_hz(tone(110, harmonics=8), RATE) == pytest.approx(110, abs=1)
    pcm = (tone(150) * 32767).astype("<i2").tobytes()
    assert median_pitch_hz(Speech(pcm, RATE)) == pytest.approx(150, abs=1)
    with pytest.raises(ValueError, match="no voiced frames"):
        median_pitch_hz(np.zeros(RATE), RATE)


async def test_cast_story_gives_the_characters_lines() -> None:
    """Each scene opens with the narrator's sentence and the theme's characters speak in most;
    the narration is the lines joined; the cast passes `cast_problem`; same theme, same story."""
    story = await write()
    assert cast_problem(story) is None
    names = {c.name for c in find_characters(THEME)}
    assert set(story.voices) <= names
    assert len(story.voices) <= MAX_CAST_VOICES
    assert all(voice == "" for voice in story.voices.values())  # the narrator picks them
    talking = 0
    for scene in story.scenes:
        assert scene.lines[0].speaker == NARRATOR
        assert scene.narration == joined_text(scene.lines)
        characters = [line for line in scene.lines if not line.by_narrator]
        assert all(line.speaker in story.voices for line in characters)
        assert all(len(line.text) <= 60 and "?" not in line.text for line in characters)
        talking += bool(characters)
    assert talking >= 2
    assert await write() == story


@pytest.mark.parametrize(
    ("language", "hello"), [("fr", "Bonjour"), ("es", "¡Hola"), ("de", "Hallo")]
)
async def test_characters_speak_the_story_language(language: str, hello: str) -> None:
    """French, Spanish and German stories have their characters say hello in that language."""
    story = await write(language=language)
    assert cast_problem(story) is None
    assert story.scenes[0].lines[1].text.startswith(hello)


def test_every_beat_has_lines_in_every_language() -> None:
    """Each of the writer's beats has something for its characters to say in en, fr, es, de."""
    assert len(TALK) == 11
    for said in itertools.chain.from_iterable(TALK.values()):
        assert said.by in {"a", "b"}
        assert all(text.strip() for text in said.texts)


async def test_narrator_mode_stories_are_unchanged() -> None:
    """Without `cast`, the story is today's: one sentence per scene, no lines, no voices; the
    cast story tells the same sentences and shows the same pictures."""
    story = await write("a fox and an owl", cast=False)
    assert [s.narration for s in story.scenes] == [
        "Once upon a time, Ember and Olive met in the cosy garden and soon became friends.",
        "In the snowy valley, Ember and Olive lost their way, but they stayed brave together.",
        "At last, Ember and Olive curled up in the cosy garden under the stars, "
        "the best of friends.",
    ]
    assert story.voices == {}
    assert all(scene.lines == () for scene in story.scenes)
    cast = await write("a fox and an owl")
    assert [s.lines[0].text for s in cast.scenes] == [s.narration for s in story.scenes]
    assert [s.image_prompt for s in cast.scenes] == [s.image_prompt for s in story.scenes]


async def test_every_speaker_has_a_voice_of_its_own_that_is_heard() -> None:
    """After casting, each speaker has a distinct voice, the same in every scene; any two
    speakers' median pitches are ≥ 2 semitones apart and each line is within 1 semitone of its
    speaker's median."""
    narrator = OfflineNarrator()
    story = cast_voices(await write(), narrator, language="en", narrator_voice=None)
    assert story.voices[NARRATOR] == "en-us"
    assert len(set(story.voices.values())) == len(story.voices) == 4
    by_speaker = await spoken(story, narrator)
    assert set(by_speaker) == set(story.voices)
    medians = {speaker: median_pitch_hz(joined(lines)) for speaker, lines in by_speaker.items()}
    for (a, pitch_a), (b, pitch_b) in itertools.combinations(medians.items(), 2):
        assert abs(semitones(pitch_a, pitch_b)) >= 2, (a, b, medians)
    for speaker, lines in by_speaker.items():
        for speech in lines:
            assert abs(semitones(medians[speaker], median_pitch_hz(speech))) <= 1, speaker


@pytest.mark.parametrize("language", ["fr", "de"])
async def test_french_and_german_casts_sound_different(language: str) -> None:
    """The rule gives French and German casts distinct voices too, ≥ 2 semitones apart."""
    narrator = OfflineNarrator()
    story = cast_voices(await write(language=language), narrator, language=language,
                        narrator_voice=None)  # fmt: skip
    assert len(set(story.voices.values())) == len(story.voices) == 4
    text = story.scenes[0].lines[0].text
    medians = []
    for voice in story.voices.values():
        [speech] = await narrator.speak_lines([VoicedLine("x", text, voice)], language=language)
        medians.append(median_pitch_hz(speech))
    for a, b in itertools.combinations(medians, 2):
        assert abs(semitones(a, b)) >= 2, medians


async def test_the_pick_rule_spaces_four_characters_and_the_narrator() -> None:
    """Speaker 0 gets the language's voice, speakers 1-4 variants and pitches of it, all apart
    by ≥ 3 semitones on one sentence; the rule is fixed and avoids taken voices."""
    narrator = OfflineNarrator()
    picks = [narrator.pick_voice(n, "en", ()) for n in range(MAX_CAST_VOICES + 1)]
    assert picks[0] == "en-us"
    assert len(set(picks)) == len(picks)
    assert picks == [narrator.pick_voice(n, "en", ()) for n in range(MAX_CAST_VOICES + 1)]
    lines = [VoicedLine(str(n), "What a lovely day for a walk.", v) for n, v in enumerate(picks)]
    medians = [median_pitch_hz(s) for s in await narrator.speak_lines(lines, language="en")]
    for a, b in itertools.combinations(medians, 2):
        assert abs(semitones(a, b)) >= 3, medians
    taken = set(picks[:3])
    assert narrator.pick_voice(1, "en", taken) not in taken
    assert narrator.pick_voice(0, "en", {"en-us"}) != "en-us"
    for voice in picks:
        narrator.check_voice(voice, "en")


async def test_a_chosen_narrator_voice_is_kept_and_not_given_to_a_character() -> None:
    """`voice=` in cast mode sets the narrator's voice; a character never gets it too."""
    narrator = OfflineNarrator()
    squeaky = narrator.pick_voice(1, "en", ())
    story = cast_voices(await write(), narrator, language="en", narrator_voice=squeaky)
    assert story.voices[NARRATOR] == squeaky
    assert len(set(story.voices.values())) == len(story.voices)


async def test_voice_names_carry_a_pitch_set_for_one_call_only() -> None:
    """`VOICE[+VARIANT][@PITCH]` (0-99) is accepted and raises the pitch; the next call in the
    plain voice sounds as before; `voices()` still lists plain eSpeak voices."""
    narrator = OfflineNarrator()
    for good in ("en-us@0", "en-us@99", "en-us+f3@80", "de+m2@7"):
        narrator.check_voice(good, "en")
    for bad in ("en-us@100", "en-us@-1", "en-us@high", "en-us@", "en-us+nosuch@50"):
        with pytest.raises(InvalidRequest, match="storybot voices"):
            narrator.check_voice(bad, "en")
    text = "The little bear smiles."
    before = await narrator.speak(text, voice="en-us", language="en")
    higher = await narrator.speak(text, voice="en-us@90", language="en")
    after = await narrator.speak(text, voice="en-us", language="en")
    plain = median_pitch_hz(before)
    assert semitones(plain, median_pitch_hz(higher)) >= 3
    assert abs(semitones(plain, median_pitch_hz(after))) < 0.3  # eSpeak varies a hair per call
    assert all("@" not in v.name and "+" not in v.name for v in narrator.voices())


def test_cast_voices_are_described_for_each_story_language() -> None:
    """The offered cast voices: the narrator's and the characters' for en, fr, es and de."""
    offered = OfflineNarrator().cast_voices()
    assert {v.language for v in offered} == {"en", "fr", "es", "de"}
    assert all(v.description for v in offered)
    names = {v.name for v in offered}
    assert {OfflineNarrator().pick_voice(n, "fr", ()) for n in range(5)} <= names
