"""A story told by a cast of voices: who speaks each line, as values. In `cast` mode every scene
is a list of lines, each spoken by the narrator or by one of the story's characters, each
speaker with its own voice, kept through the story and its sequels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

NARRATOR = "narrator"  # the speaker of the lines no character says
MAX_CAST_VOICES = 4  # characters with a voice of their own, besides the narrator
SPEAKER_GAP_S = 0.3  # silence between two lines of different speakers
LINE_GAP_S = 0.12  # between two lines of one speaker

SpeakerName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
LineText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]


class VoiceMode(StrEnum):
    """One narrator reads every line, or a cast speaks them."""

    NARRATOR = "narrator"
    CAST = "cast"


class Line(BaseModel):
    """One line of a scene and who says it (`narrator`, or a character's name)."""

    model_config = ConfigDict(frozen=True)

    speaker: SpeakerName
    text: LineText

    @property
    def by_narrator(self) -> bool:
        """Whether the narrator says it."""
        return self.speaker.casefold() == NARRATOR

    @property
    def caption(self) -> str:
        """The line as subtitles show it: `Fox: Hello!`, the narrator's without a name."""
        return self.text if self.by_narrator else f"{self.speaker}: {self.text}"


@dataclass(frozen=True, slots=True)
class VoicedLine:
    """A line to speak, with the voice of its speaker (a name of the active narrator's)."""

    speaker: str
    text: str
    voice: str


def speakers(lines: Iterable[Line]) -> list[str]:
    """The speakers of `lines`, each once (letter case aside), in order of their first line."""
    seen: dict[str, str] = {}
    for line in lines:
        name = NARRATOR if line.by_narrator else line.speaker
        seen.setdefault(name.casefold(), name)
    return list(seen.values())


def joined_text(lines: Iterable[Line]) -> str:
    """The lines' words as one narration (what a narrator-mode reader or a search sees)."""
    return " ".join(line.text for line in lines)
