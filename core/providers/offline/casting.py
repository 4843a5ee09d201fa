"""Casting: reading who a scene's description and prompt introduce, and with what look."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.models import Scene
from core.providers.offline.vocabulary import (
    COLOURS,
    GENERIC_SPECIES,
    SPECIES,
    species_for_word,
    words_of,
)

MAX_CHARACTERS = 4
# Opens the introduction of the hero a user's photo became (written by the offline writer), so
# the illustrator knows whom to draw as the photo's sticker.
HERO_MARK = "the hero from the photo"


@dataclass(frozen=True, slots=True)
class Character:
    """A character to draw: its name, species id (or GENERIC_SPECIES), label and colour key."""

    name: str
    species: str
    label: str
    colour: str
    accessory: tuple[str, str] | None = None  # e.g. ("scarf", "red"); see ACCESSORIES
    hero: bool = False  # introduced with HERO_MARK: drawn as the photo's sticker when given


_COLOUR_WORDS: dict[str, str] = {key: key for key in COLOURS} | {
    w: key
    for key, words in {
        "orange": "ginger marmalade tangerine naranja roux rousse",
        "brown": "tan chocolate chestnut brun brune marron marrón braun",
        "grey": "gray silver silvery gris grise grau",
        "white": "snowy cream creamy blanc blanche blanco blanca weiß weiss",
        "black": "noir noire negro negra schwarz",
        "green": "emerald vert verte verde grün",
        "blue": "navy turquoise bleu bleue azul blau",
        "pink": "rosy rose rosa",
        "yellow": "lemon jaune amarillo amarilla gelb",
        "purple": "violet lilac lavender morado morada lila",
        "red": "scarlet crimson rouge rojo roja rot",
        "golden": "gold doré dorée dorado dorada",
    }.items()
    for w in words.split()
}
# Colours a photo's hero may be described with that the palette draws as a neighbour.
_COLOUR_WORDS |= {"teal": "blue", "cyan": "blue", "aqua": "blue", "magenta": "pink",
                  "fuchsia": "pink", "olive": "green", "khaki": "green",
                  "beige": "white"}  # fmt: skip
ACCESSORIES: dict[str, str] = {
    "scarf": "scarf",
    "bow": "bow",
    "ribbon": "bow",
    "bowtie": "bow",
    "hat": "hat",
    "bonnet": "hat",
    "cap": "cap",
    "beret": "cap",
}
_INTRO = re.compile(
    r"(?:^|(?<=[.!?;\n]))\s*(?P<name>[^.!?;:\n]+?)\s+(?:the|le|la|el|der|die|das)\s+"
    r"(?P<kind>[^\W\d_]+(?:[ -][^\W\d_]+){0,2})\s*:",
    re.IGNORECASE,
)
_HEADER = re.compile(r"(?:^|(?<=[.!?;\n]))\s*(?P<name>[^\W\d_][^.!?;:\n]{0,40}?)\s*:")
_NOT_NAMES = {"art style", "style", "setting", "background", "characters", "character", "scene"}
_DEFAULT_CAST = ("cat", "dog", "rabbit", "bear", "fox", "duck", "pig", "owl")


def _colour_in(words: Sequence[str]) -> str | None:
    """The first colour word, ignoring the colour of what is worn ("a red scarf")."""
    worn = next((i for i, w in enumerate(words) if w in ACCESSORIES), len(words))
    if worn < len(words):
        words = words[: max(0, worn - 2)]
    return next((_COLOUR_WORDS[w] for w in words if w in _COLOUR_WORDS), None)


def _colour_near(words: Sequence[str], at: int) -> str | None:
    """The colour word just before word `at` ("a ginger cat"), else one after it in its clause."""
    start, end = at, at + 1
    while start > max(0, at - 3) and species_for_word(words[start - 1]) is None:
        start -= 1
    while end < len(words) and species_for_word(words[end]) is None:
        end += 1
    if end < len(words):
        end -= 3  # "... with a grey mouse": that grey belongs to the mouse
    return _colour_in(words[start:at][::-1]) or _colour_in(words[at + 1 : end])


def _accessory(words: Sequence[str]) -> tuple[str, str] | None:
    """The first accessory worn ("a red scarf") with its colour, red when none is said."""
    for i, w in enumerate(words):
        if w in ACCESSORIES:
            said = [_COLOUR_WORDS[c] for c in words[max(0, i - 2) : i] if c in _COLOUR_WORDS]
            return ACCESSORIES[w], said[-1] if said else "red"
    return None


def _make(
    name: str,
    species: str,
    label: str,
    colour: str | None,
    after: Sequence[str] = (),
    *,
    hero: bool = False,
) -> Character:
    """A character; `after` are the words that follow its noun, where accessories are said."""
    default = SPECIES[species].colour if species in SPECIES else "purple"
    name = name.strip(" ,;-\t\n")
    return Character(name, species, label, colour or default, _accessory(after), hero)


def _clause(words: Sequence[str], at: int) -> Sequence[str]:
    """The words after word `at` up to the next creature."""
    end = next((j for j in range(at + 1, len(words)) if species_for_word(words[j])), len(words))
    return words[at + 1 : end]


def introductions(description: str) -> list[tuple[Character, str]]:
    """The offline writer's `<Name> the <word>: <sentence>.` introductions: each character
    with the words that introduce it, as written."""
    matches = list(_INTRO.finditer(description))
    found = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(description)
        text = description[m.end() : end].split(".", 1)[0]
        sentence = words_of(text)
        kind = words_of(m["kind"])
        known = next((s for w in kind if (s := species_for_word(w))), None)
        species, label = (known.id, known.english) if known else (GENERIC_SPECIES, kind[-1])
        colour = _colour_in(kind) or _colour_in(sentence)
        hero = text.strip().lower().startswith(HERO_MARK)
        character = _make(m["name"], species, label, colour, sentence, hero=hero)
        found.append((character, f"{description[m.start() : m.end()].strip()}{text}."))
    return found


def _parse_intros(description: str) -> list[Character]:
    return [character for character, _ in introductions(description)]


def _parse_free(description: str) -> list[Character]:
    """Free-form text: species words in order, named by a preceding `Name:` when there is one."""
    headers = [m for m in _HEADER.finditer(description) if m["name"].lower() not in _NOT_NAMES]
    found: list[Character] = []
    for i, m in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(description)
        words = words_of(description[m.end() : end])
        hits = [(j, s) for j, w in enumerate(words) if (s := species_for_word(w))]
        if hits:
            at, species = hits[0]
            colour = _colour_near(words, at)
            found.append(_make(m["name"], species.id, species.english, colour, words[at + 1 :]))
    if found:
        return found
    words, seen = words_of(description), set()
    for j, w in enumerate(words):
        if (s := species_for_word(w)) and s.id not in seen:
            seen.add(s.id)
            found.append(_make(w, s.id, s.english, _colour_near(words, j), _clause(words, j)))
    return found


def parse_characters(description: str) -> list[Character]:
    """The characters a description introduces, at most four, in order of appearance."""
    return (_parse_intros(description) or _parse_free(description))[:MAX_CHARACTERS]


def digest(text: str) -> bytes:
    """SHA-256 of `text`: the seed of every choice made for the same words."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def default_characters(description: str) -> list[Character]:
    """Two friendly animals, always the same for the same text, for when none are described."""
    h = digest(description)
    first = _DEFAULT_CAST[h[0] % len(_DEFAULT_CAST)]
    second = _DEFAULT_CAST[(h[0] + 1 + h[1] % (len(_DEFAULT_CAST) - 1)) % len(_DEFAULT_CAST)]
    return [
        _make(SPECIES[s].names[h[2 + i] % len(SPECIES[s].names)], s, s, None)
        for i, s in enumerate((first, second))
    ]


def scene_characters(scene: Scene) -> list[Character]:
    """Who appears in the scene: the characters its prompt names, or everyone if none is named.

    A description without creatures falls back to the ones the prompt mentions, then to two
    default animals.
    """
    cast = parse_characters(scene.character_description) or parse_characters(scene.image_prompt)
    if not cast:
        return default_characters(scene.character_description)
    prompt = scene.image_prompt.lower()
    named = [c for c in cast if re.search(rf"\b{re.escape(c.name.lower())}\b", prompt)]
    return named or cast
