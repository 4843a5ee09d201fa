"""A story's cast as values: the hero a user's photo became, and what a sequel carries over
from the story it continues."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.formats import Aspect, Style

SEQUEL_THEME = "what happens next"  # a sequel's theme when the user gives none
HERO_PHOTO = "hero.photo"  # the user's photo: kept for the job's length only, never logged
CAST_PICTURE = "cast.png"  # the reference picture of every scene: a character sheet or scene 1

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Words = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]


class Hero(BaseModel):
    """The main character, as seen in the user's photo."""

    model_config = ConfigDict(frozen=True)

    name: Name
    kind: Words  # what it is: "a small brown dachshund", "a knitted teddy bear"
    looks: Words  # its colours and features, to be drawn the same way every time

    @property
    def description(self) -> str:
        """One line for the writer and the picture prompts."""
        return f"{self.name}, {self.kind}: {self.looks}"


class SequelBrief(BaseModel):
    """What a sequel's writer is told of the story it continues."""

    model_config = ConfigDict(frozen=True)

    of: str  # the job id of the story it continues
    part: int = Field(ge=2, le=99)
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    summary: Annotated[str, StringConstraints(min_length=1, max_length=1200)]
    characters: Annotated[str, StringConstraints(min_length=1, max_length=800)]
    voices: dict[str, str] = Field(default_factory=dict)  # speaker → voice, of a cast story


class Cast(BaseModel):
    """What a finished story leaves for its sequels, per user and chat: the characters, their
    reference picture (stored with the cast's files), and the story's look and voice."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    part: int = Field(ge=1, le=99)
    title: str
    summary: str
    characters: str
    style: Style
    aspect: Aspect
    voice: str | None
    language: str
    voices: dict[str, str] = Field(default_factory=dict)  # a cast story's speakers' voices

    def brief(self) -> SequelBrief:
        """The brief of the next part."""
        return SequelBrief(
            of=self.job_id, part=self.part + 1, title=self.title, summary=self.summary,
            characters=self.characters, voices=self.voices,
        )  # fmt: skip
