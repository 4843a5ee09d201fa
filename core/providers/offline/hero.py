"""Offline hero designer: a user's photo becomes the hero without a vision model. Its name and
kind come from the theme, its looks from the photo's colours, and its character sheet is the
photo's subject cut out as a sticker."""

from __future__ import annotations

import asyncio
import hashlib
import re

from core.cast import Hero
from core.models import Style
from core.providers.offline.cutout import Cutout, find_subject, open_photo
from core.providers.offline.palette import describe_colours
from core.providers.offline.sticker import make_sticker
from core.providers.offline.vocabulary import (
    COLOURS,
    find_place,
    find_time,
    species_for_word,
    words_of,
)

PHOTO_KIND = "the hero from your photo"  # the kind when the theme names no creature
MAX_NAME = 24  # letters: a longer "name" is some other word
# Names for a hero the theme does not name, picked by the photo's bytes.
DEFAULT_NAMES = ("Button", "Pebble", "Nugget", "Maple", "Poppy", "Noodle", "Sprout", "Juniper",
                 "Marble", "Comet")  # fmt: skip

_ARTICLE = r"(?:the|le|la|el|der|die|das)"
_NAMED = re.compile(
    r"\b(?:called|named|nommée?|appelée?|llamad[oa]|namens)\s+(?P<name>[^\W\d_]+)", re.IGNORECASE
)
_THE = re.compile(rf"\b(?P<name>[^\W\d_]+)\s+{_ARTICLE}\s+(?P<kind>[^\W\d_]+)", re.IGNORECASE)
_CAPITAL = re.compile(r"(?P<stop>^|[.!?]\s*)?\b(?P<word>[^\W\d_]+)")
# Capitalised words that are not names: articles, pronouns, and verbs a theme may start with.
_NOT_NAMES = {
    "a", "an", "the", "one", "i", "my", "our", "we", "and", "with", "in", "on", "at", "to",
    "un", "une", "le", "la", "les", "el", "los", "las", "una", "ein", "eine", "der", "die",
    "das", "meet", "visit", "find", "help", "save", "explore", "follow", "see", "watch",
    "catch", "when", "how", "why", "once", "story", "tale", "adventure", "adventures",
}  # fmt: skip


def _ordinary(word: str) -> bool:
    """Whether a word is something other than a name: a creature, place, time or colour."""
    low = word.lower()
    return (
        low in _NOT_NAMES
        or low in COLOURS
        or species_for_word(low) is not None
        or find_place(low) is not None
        or find_time(low) is not None
    )


def _named(m: re.Match[str]) -> bool:
    """Whether an "X the Y" match names someone: "Biscuit the dog", not "Visit the beach"."""
    name, what = m["name"], m["kind"].lower()
    return (
        name[0].isupper()
        and len(name) <= MAX_NAME
        and name.lower() not in _NOT_NAMES
        and what not in _NOT_NAMES
        and find_place(what) is None
        and find_time(what) is None
    )


def name_in(theme: str, language: str) -> str | None:
    """The hero's name if the theme gives one: "a dog called Biscuit", "Biscuit the dog …", or
    a capitalised word that starts no sentence and is no ordinary word (not in German, where
    every noun is capitalised)."""
    if (m := _NAMED.search(theme)) and len(m["name"]) <= MAX_NAME and not _ordinary(m["name"]):
        return m["name"][:1].upper() + m["name"][1:]
    if m := next(filter(_named, _THE.finditer(theme)), None):
        return m["name"]
    if language.split("-")[0] == "de":
        return None
    starts = (m["word"] for m in _CAPITAL.finditer(theme) if m["stop"] is None)
    return next(
        (w for w in starts if w[0].isupper() and len(w) <= MAX_NAME and not _ordinary(w)), None
    )


def kind_in(theme: str) -> str:
    """What the hero is, by the theme: the creature of "Biscuit the dog", else the theme's
    first creature ("a dog"), else PHOTO_KIND."""
    named = [m["kind"].lower() for m in _THE.finditer(theme) if _named(m)]
    for word in [*named, *words_of(theme)]:
        if (species := species_for_word(word)) is not None:
            return f"a {species.english}"
    return PHOTO_KIND


def default_name(photo: bytes) -> str:
    """A friendly name, always the same for the same photo."""
    return DEFAULT_NAMES[hashlib.sha256(photo).digest()[0] % len(DEFAULT_NAMES)]


def _cut(photo: bytes) -> Cutout:
    return find_subject(open_photo(photo))


def _sheet(photo: bytes, style: Style) -> bytes:
    return make_sticker(_cut(photo), style)


class OfflineHeroDesigner:
    """Makes the hero of a user's photo with Pillow alone: no network, no key, deterministic."""

    name = "offline"

    async def describe(self, photo: bytes, *, theme: str, language: str) -> Hero:
        """Name and kind from the theme (a default name otherwise), looks from the colours of
        the photo's subject. `InvalidRequest` when nothing stands out from the background."""
        cutout = await asyncio.to_thread(_cut, photo)
        looks = describe_colours(cutout.subject_pixels())
        name = name_in(theme, language) or default_name(photo)
        return Hero(name=name, kind=kind_in(theme), looks=looks)

    async def character_sheet(self, photo: bytes, hero: Hero, *, style: Style) -> bytes:
        """The photo's subject cut out, posterised for `style`, in a white sticker outline on a
        transparent background (RGBA PNG): the illustrator draws the hero as this sticker."""
        return await asyncio.to_thread(_sheet, photo, style)
