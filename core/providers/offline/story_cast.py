"""Who an offline story is about: the theme's creatures, a sequel's returning characters, and
the hero of a user's photo, first of all."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from core.cast import Hero, SequelBrief
from core.providers.offline.casting import HERO_MARK, introductions
from core.providers.offline.vocabulary import SPECIES, species_for_word, words_of

HERO_LABEL = "hero"  # the word after a hero's name ("Button the hero") when its kind is unknown
_SPARE_NAMES = ("Zib", "Momo", "Bloop", "Tiko", "Nuri", "Pim")
_LIMITS = {"kind": 80, "looks": 160, "carried": 180}  # characters, so descriptions fit a Scene


@dataclass(frozen=True, slots=True)
class Member:
    """One of a story's characters: how prompts name it, and its sentence in the description."""

    name: str
    label: str  # "Mimi the <label>"
    sentence: str  # "<name> the <label>: …." — the same on every scene
    species: str | None = None  # a SPECIES key, when known


def _plain(text: str, limit: int) -> str:
    """Text that cannot end or start a sentence of the description, cut at a word."""
    flat = " ".join(re.sub(r"[.!?;:\n]+", ",", text).split()).strip(" ,")
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(" ,")


def hero_member(hero: Hero) -> Member:
    """The hero as the story's first character, introduced with HERO_MARK (the illustrator
    draws it as the photo's sticker) and described by its kind and looks."""
    species = next((s for w in words_of(hero.kind) if (s := species_for_word(w))), None)
    label = species.english if species else HERO_LABEL
    name = " ".join(re.sub(r"[.!?;:,\n]+", " ", hero.name).split()) or "Hero"
    kind = _plain(hero.kind, _LIMITS["kind"])
    said = "" if "photo" in kind.lower() else f"{kind}, "
    looks = _plain(hero.looks, _LIMITS["looks"])
    sentence = f"{name} the {label}: {HERO_MARK}, {said}{looks}."
    return Member(name, label, sentence, species.id if species else None)


def _renamed(member: Member, taken: set[str]) -> Member:
    """`member` under a name no one else has (its sentence says the new name too)."""
    known = SPECIES.get(member.species or "")
    names = [n for n in (*(known.names if known else ()), *_SPARE_NAMES) if n not in taken]
    name = names[0] if names else f"{member.name} Junior"
    sentence = name + member.sentence[len(member.name) :]
    return replace(member, name=name, sentence=sentence)


def starring(hero: Hero, members: list[Member], limit: int) -> list[Member]:
    """The hero first, then at most `limit - 1` friends: the others, except the one the theme
    meant as the hero (the first of its species) or one of its name."""
    star = hero_member(hero)
    friends = list(members)
    kin = star.species is not None
    same = next(
        (m for m in friends if m.name == star.name or (kin and m.species == star.species)), None
    )
    if same is not None:
        friends.remove(same)
    cast, taken = [star], {star.name}
    for friend in friends[: limit - 1]:
        member = _renamed(friend, taken) if friend.name in taken else friend
        taken.add(member.name)
        cast.append(member)
    return cast


def carried(sequel: SequelBrief, members: list[Member], limit: int) -> list[Member]:
    """A sequel's cast: the characters the story it continues introduced (as written there),
    topped up to two with the theme's; the theme's alone when none can be read."""
    back: list[Member] = []
    for c, sentence in introductions(sequel.characters)[:limit]:
        head, words = sentence.split(":", 1)
        species = c.species if c.species in SPECIES else None
        words = _plain(words, _LIMITS["carried"])
        back.append(Member(c.name, c.label, f"{head}: {words}.", species))
    if not back:
        return members
    names = {m.name for m in back}
    extra = [m for m in members if m.name not in names and m.label not in {b.label for b in back}]
    return back + extra[: max(0, 2 - len(back))]
