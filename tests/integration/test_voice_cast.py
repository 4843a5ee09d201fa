"""Cast mode in the core (fake providers that record their calls): a voice per speaker, the
same in every scene; one narration call per scene while the narrator can voice all of its
speakers at once, one per line beyond; a cue per line in the `.srt`; a story whose lines
cannot be cast is told by one narrator, with a note; storyboard edits take a cast's lines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.casting import NARRATOR_FALLBACK
from core.errors import InvalidRequest
from core.models import Story, StoryRequest
from core.progress import AwaitingApproval
from core.voicing import Line, VoiceMode
from tests.fakes import FakeNarrator, FakeStoryWriter, fake_providers
from tests.service_helpers import collect, cue_texts, made, user

if TYPE_CHECKING:
    from core.cast import Hero
    from tests.conftest import OpenStoryBot

CAST = StoryRequest(theme="a fox and an owl", scenes=3, voices=VoiceMode.CAST)


async def test_a_cast_story_gets_a_voice_per_speaker(
    storybot: OpenStoryBot, clean_env: Path
) -> None:
    """Three speakers, each with one voice in every scene; scenes with two speakers are one
    narration call, the scene with three is one call per line; a cue per line; a sequel
    (asked for without `voices`) is told by the same cast in the same voices."""
    narrator = FakeNarrator(seconds=0.2)
    async with storybot(fake_providers(narrator=narrator)) as bot:
        job = await bot.service.submit_story(CAST, user(1))
        result = await made(bot.service, job)
        cues = await cue_texts(bot.service, job, result)
        calls = list(narrator.cast_calls)
        plain = StoryRequest(theme="what happens next", scenes=1)
        sequel = await made(bot.service, await bot.service.submit_sequel(plain, user(1)))
    voices = result.story.voices
    assert sequel.story.voices == {"narrator": voices["narrator"], "Fox": voices["Fox"],
                                   "Owl": voices["Owl"]}  # fmt: skip
    assert set(voices) == {"narrator", "Fox", "Owl"}
    assert len(set(voices.values())) == 3
    assert [len(call) for call in calls if len(call) > 1] == [2, 2]  # scenes 1 and 2
    assert sorted(line.text for call in calls if len(call) == 1 for line in call) == [
        "Hello 3!", "Hoo!", "Scene number 3."
    ]  # fmt: skip
    for call in calls:
        for line in call:
            assert line.voice == voices[line.speaker]
    assert cues == [
        "Scene number 1.", "Fox: Hello 1!", "Scene number 2.", "Fox: Hello 2!",
        "Scene number 3.", "Fox: Hello 3!", "Owl: Hoo!",
    ]  # fmt: skip
    assert sum(line.text == "Hello 1!" for call in calls for line in call) == 1  # said once
    assert result.story.scenes[0].narration == "Scene number 1. Hello 1!"


class _Unknown(FakeStoryWriter):
    """Lines by a speaker the cast does not name."""

    async def write(self, request: StoryRequest, hero: Hero | None = None) -> Story:
        story = await super().write(request, hero)
        lines = (Line(speaker="Stranger", text="Boo!"),)
        scenes = [scene.model_copy(update={"lines": lines}) for scene in story.scenes]
        return story.model_copy(update={"scenes": scenes})


async def test_lines_that_cannot_be_cast_are_told_by_one_narrator(
    storybot: OpenStoryBot, clean_env: Path
) -> None:
    """Unknown speakers: one narrator reads the story, and the result says so."""
    narrator = FakeNarrator(seconds=0.2)
    async with storybot(fake_providers(_Unknown(), narrator=narrator)) as bot:
        job = await bot.service.submit_story(CAST, user(1))
        result = await made(bot.service, job)
    assert NARRATOR_FALLBACK in result.notes
    assert narrator.cast_calls == []
    assert result.story.voices == {}
    assert all(not scene.lines for scene in result.story.scenes)


async def test_a_storyboard_edits_a_cast_s_lines(storybot: OpenStoryBot, clean_env: Path) -> None:
    """A cast's scene is edited as `Speaker: text` rows; unknown speakers are refused; the
    render speaks the new lines in the cast's voices."""
    narrator = FakeNarrator(seconds=0.2)
    async with storybot(fake_providers(narrator=narrator)) as bot:
        jobs = bot.service
        request = CAST.model_copy(update={"preview": True, "scenes": 2})
        job = await jobs.submit_story(request, user(1))
        assert isinstance((await collect(jobs, job))[-1], AwaitingApproval)
        board = await jobs.storyboards.get(job)
        assert board.scenes[0].script == "Scene number 1.\nFox: Hello 1!"
        scene = await jobs.storyboards.edit(job, 1, "The night is calm.\nowl: Good night, Fox!")
        assert [line.caption for line in scene.lines] == [
            "The night is calm.", "Owl: Good night, Fox!"
        ]  # fmt: skip
        with pytest.raises(InvalidRequest, match="not in this story"):
            await jobs.storyboards.edit_lines(job, 2, [Line(speaker="Bear", text="Hi")])
        await jobs.storyboards.render(job)
        result = await made(jobs, job)
        cues = await cue_texts(jobs, job, result)
    assert cues[:2] == ["The night is calm.", "Owl: Good night, Fox!"]
    owl = result.story.voices["Owl"]
    assert any(line.voice == owl and line.text == "Good night, Fox!" for call in
               narrator.cast_calls for line in call)  # fmt: skip
