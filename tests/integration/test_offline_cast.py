"""A cast story with the offline back end, end to end: every speaker's lines sound like that
speaker and unlike the others (median pitch), and the `.srt` names the speakers."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from core import audio
from core.config import Settings
from core.models import Origin, StoryRequest, StoryVideo, VoiceMode
from core.progress import JobSucceeded
from core.providers import build_providers
from tests.pitch import median_pitch_hz, semitones
from tests.service_helpers import collect

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot

_CUE = re.compile(r"(\d+):(\d+):(\d+),(\d+) --> (\d+):(\d+):(\d+),(\d+)\n(.+)")


def cues(srt: str) -> list[tuple[float, float, str]]:
    """(start s, end s, text) of every cue."""
    found = []
    for match in _CUE.finditer(srt):
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups()[:8])
        start = h1 * 3600 + m1 * 60 + s1 + ms1 / 1000
        end = h2 * 3600 + m2 * 60 + s2 + ms2 / 1000
        found.append((start, end, match.group(9).strip()))
    return found


def speaker_of(text: str, characters: set[str]) -> str:
    """`Fox: Hello!` → Fox; a line without a character's name is the narrator's."""
    name, colon, _ = text.partition(":")
    return name if colon and name in characters else "narrator"


async def test_offline_cast_voices_are_told_apart(storybot: OpenStoryBot, clean_env: Path) -> None:
    """Median pitches of any two speakers ≥ 2 semitones apart; each line within 1 semitone of
    its speaker's median; the subtitles prefix the characters' lines with their names."""
    providers = build_providers(Settings(_env_file=None))  # type: ignore[call-arg]
    request = StoryRequest(theme="a fox and an owl", scenes=3, voices=VoiceMode.CAST)
    async with storybot(providers) as bot:
        job = await bot.service.submit_story(request, Origin("cli", "me"), keep_files=True)
        events = await collect(bot.service, job)
        assert isinstance(events[-1], JobSucceeded), events[-1]
        result = events[-1].result
        assert isinstance(result, StoryVideo)
        done = await bot.service.get(job.id)
        assert result.subtitles is not None
        srt = (await bot.service.file(done, result.subtitles)).read_text()
        narration = audio.from_wav((await bot.service.file(done, "narration.wav")).read_bytes())
    characters = {name for name in result.story.voices if name != "narrator"}
    assert characters, result.notes
    timed = cues(srt)
    assert any(text.startswith(tuple(f"{c}: " for c in characters)) for _, _, text in timed)
    rate = narration.sample_rate
    pitches: dict[str, list[float]] = defaultdict(list)
    for start, end, text in timed:
        pcm = narration.pcm[int(start * rate) * 2 : int(end * rate) * 2]
        pitches[speaker_of(text, characters)].append(median_pitch_hz(pcm, rate))
    assert set(pitches) == {"narrator", *characters}
    medians = {speaker: statistics.median(values) for speaker, values in pitches.items()}
    for speaker, values in pitches.items():
        for value in values:
            assert abs(semitones(value, medians[speaker])) <= 1.0, (speaker, values)
    names = sorted(medians)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            apart = abs(semitones(medians[first], medians[second]))
            assert apart >= 2.0, (first, second, medians)
