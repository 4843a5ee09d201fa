"""Casting a story's voices (`cast` mode): whether a written story's lines can be spoken by a
cast, and which voice each speaker gets — the writer's choice where the back end has that
voice and no other speaker took it, a sequel's earlier choice first, a fixed rule otherwise."""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import InvalidRequest
from core.models import Story
from core.providers import CastNarrator
from core.voicing import MAX_CAST_VOICES, NARRATOR, Line, joined_text, speakers

# Told to users when a cast story could not be voiced and one narrator read it instead.
NARRATOR_FALLBACK = (
    "The story's lines could not be given to a cast of voices, so one narrator reads it."
)


def cast_problem(story: Story) -> str | None:
    """Why the story's lines cannot be spoken by a cast (for the writer's one repair), or None:
    every scene has lines, none empty, every speaker is the narrator or one of at most
    `MAX_CAST_VOICES` characters named in `story.voices`."""
    characters = {name.casefold() for name in story.voices if name.casefold() != NARRATOR}
    if len(characters) > MAX_CAST_VOICES:
        return f"at most {MAX_CAST_VOICES} characters may speak, not {len(characters)}"
    for number, scene in enumerate(story.scenes, start=1):
        if not scene.lines:
            return f"scene {number} has no lines"
        for line in scene.lines:
            if not line.text.strip():
                return f"scene {number} has an empty line"
            if not line.by_narrator and line.speaker.casefold() not in characters:
                return f"scene {number}: '{line.speaker}' speaks but is not a character"
    return None


def narrated(story: Story) -> Story:
    """The story for one narrator: each scene's lines joined into its narration."""
    scenes = [
        scene.model_copy(update={"narration": joined_text(scene.lines), "lines": ()})
        if scene.lines
        else scene
        for scene in story.scenes
    ]
    return story.model_copy(update={"scenes": scenes, "voices": {}})


def cast_voices(
    story: Story,
    narrator: CastNarrator,
    *,
    language: str,
    narrator_voice: str | None,
    kept: Mapping[str, str] | None = None,
) -> Story:
    """The story with a distinct voice for the narrator (`narrator_voice` if given) and every
    speaking character: `kept` (a sequel's earlier cast) first, then the writer's suggestion
    in `story.voices` if the back end has it, else `narrator.pick_voice`."""
    # The speakers in order of their first line, then the characters who have none yet (a
    # storyboard edit may give them one).
    spoken = speakers(line for scene in story.scenes for line in scene.lines)
    declared = [name for name in story.voices if name.casefold() != NARRATOR]
    names = [NARRATOR, *speakers(Line(speaker=name, text="-") for name in (*spoken, *declared))]
    names = list(dict.fromkeys(names))
    # The user's narrator voice first, then a sequel's earlier cast, then the writer's picks.
    suggested = {name: voice for name, voice in story.voices.items() if voice}
    mine = {NARRATOR: narrator_voice} if narrator_voice else {}
    wanted = {
        name.casefold(): voice for name, voice in {**suggested, **(kept or {}), **mine}.items()
    }
    chosen: dict[str, str] = {}
    for number, name in enumerate(names):
        voice = wanted.get(name.casefold(), "")
        if not voice or voice in chosen.values() or not _known(narrator, voice, language):
            voice = narrator.pick_voice(number, language, set(chosen.values()))
        chosen[name] = voice
    scenes = [
        scene.model_copy(update={"narration": joined_text(scene.lines)}) for scene in story.scenes
    ]
    return story.model_copy(update={"scenes": scenes, "voices": chosen})


def voice_of(story: Story, speaker: str) -> str:
    """The voice cast for `speaker` (the narrator's for a name the cast does not know)."""
    folded = {name.casefold(): voice for name, voice in story.voices.items()}
    return folded.get(speaker.casefold(), folded.get(NARRATOR, ""))


def _known(narrator: CastNarrator, voice: str, language: str) -> bool:
    try:
        narrator.check_voice(voice, language)
    except InvalidRequest:  # a voice this back end does not have
        return False
    return True
