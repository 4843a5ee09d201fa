"""Shared vocabulary of the offline back end: which creatures, places and times it knows.

The offline story writer builds its English image prompts from these words, and the offline
illustrator reads any prompt (its own or an LLM's) back through the same words, so a prompt that
says "a fox by the river at sunset" is drawn as exactly that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Species:
    """A creature the offline illustrator can draw, with the words that name it."""

    id: str
    english: str
    words: tuple[str, ...]  # singular and plural nouns in en, fr, es, de (lower case)
    names: tuple[str, ...]  # friendly names, picked deterministically
    colour: str  # default fur/skin colour, a key of COLOURS


SPECIES: dict[str, Species] = {
    s.id: s
    for s in (
        Species(
            "cat",
            "cat",
            (
                "cat",
                "cats",
                "kitten",
                "kitty",
                "chat",
                "chaton",
                "gato",
                "gata",
                "gatito",
                "katze",
                "kater",
                "kätzchen",
            ),
            ("Whiskers", "Mimi", "Luna", "Pepper", "Tigger"),
            "orange",
        ),
        Species(
            "dog",
            "dog",
            (
                "dog",
                "dogs",
                "puppy",
                "pup",
                "chien",
                "chiot",
                "perro",
                "perrito",
                "cachorro",
                "hund",
                "welpe",
            ),
            ("Buster", "Rex", "Biscuit", "Max", "Bella"),
            "brown",
        ),
        Species(
            "fox",
            "fox",
            ("fox", "foxes", "renard", "zorro", "fuchs"),
            ("Rusty", "Fifi", "Ember", "Felix"),
            "orange",
        ),
        Species(
            "rabbit",
            "rabbit",
            (
                "rabbit",
                "rabbits",
                "bunny",
                "bunnies",
                "hare",
                "lapin",
                "conejo",
                "conejito",
                "hase",
                "kaninchen",
            ),
            ("Clover", "Hoppy", "Daisy", "Pip"),
            "grey",
        ),
        Species(
            "bear",
            "bear",
            ("bear", "bears", "teddy", "ours", "oso", "osito", "bär", "bären"),
            ("Bruno", "Honey", "Barnaby", "Mabel"),
            "brown",
        ),
        Species(
            "owl",
            "owl",
            ("owl", "owls", "hibou", "chouette", "búho", "lechuza", "eule"),
            ("Hoot", "Olive", "Professor Plume", "Wren"),
            "brown",
        ),
        Species(
            "mouse",
            "mouse",
            ("mouse", "mice", "souris", "ratón", "raton", "maus", "mäuse"),
            ("Squeak", "Nibbles", "Minnie", "Crumb"),
            "grey",
        ),
        Species(
            "frog",
            "frog",
            ("frog", "frogs", "toad", "grenouille", "rana", "sapo", "frosch"),
            ("Ribbit", "Lily", "Jumper", "Fern"),
            "green",
        ),
        Species(
            "bird",
            "bird",
            ("bird", "birds", "robin", "sparrow", "oiseau", "pájaro", "pajaro", "vogel"),
            ("Tweety", "Robin", "Skye", "Chirp"),
            "blue",
        ),
        Species(
            "pig",
            "pig",
            (
                "pig",
                "pigs",
                "piglet",
                "cochon",
                "porcelet",
                "cerdo",
                "cerdito",
                "schwein",
                "ferkel",
            ),
            ("Rosie", "Truffle", "Peanut", "Oink"),
            "pink",
        ),
        Species(
            "elephant",
            "elephant",
            ("elephant", "elephants", "éléphant", "elefante", "elefant"),
            ("Ellie", "Jumbo", "Peanut", "Trumpet"),
            "grey",
        ),
        Species(
            "turtle",
            "turtle",
            ("turtle", "turtles", "tortoise", "tortue", "tortuga", "schildkröte"),
            ("Shelly", "Sage", "Myrtle", "Tank"),
            "green",
        ),
        Species(
            "lion",
            "lion",
            ("lion", "lions", "lioness", "león", "leon", "löwe"),
            ("Leo", "Sunny", "Goldie", "Roary"),
            "yellow",
        ),
        Species(
            "penguin",
            "penguin",
            ("penguin", "penguins", "pingouin", "manchot", "pingüino", "pinguino", "pinguin"),
            ("Pingu", "Waddles", "Flip", "Tux"),
            "black",
        ),
        Species(
            "duck",
            "duck",
            ("duck", "ducks", "duckling", "canard", "caneton", "pato", "ente"),
            ("Puddles", "Quackers", "Dilly", "Nellie"),
            "yellow",
        ),
        Species(
            "fish",
            "fish",
            ("fish", "goldfish", "poisson", "pez", "fisch"),
            ("Bubbles", "Finn", "Coral", "Splash"),
            "orange",
        ),
    )
}

# A creature the illustrator has no drawing for: a friendly round creature labelled with its name.
GENERIC_SPECIES = "creature"

COLOURS: dict[str, tuple[int, int, int]] = {
    "orange": (236, 140, 52),
    "brown": (150, 100, 62),
    "grey": (150, 150, 160),
    "white": (245, 245, 240),
    "black": (50, 50, 60),
    "green": (96, 178, 80),
    "blue": (80, 140, 220),
    "pink": (240, 160, 180),
    "yellow": (240, 200, 70),
    "purple": (150, 100, 200),
    "red": (214, 70, 60),
    "golden": (222, 170, 70),
}


@dataclass(frozen=True, slots=True)
class Place:
    """A setting the illustrator can paint; `phrase` is how prompts place a scene there."""

    id: str
    phrase: str
    words: tuple[str, ...]  # words in a theme or prompt that point to this place


PLACES: dict[str, Place] = {
    p.id: p
    for p in (
        Place(
            "garden",
            "in a cosy cottage garden",
            ("garden", "cottage", "home", "house", "jardin", "maison", "jardín", "casa", "garten"),
        ),
        Place(
            "meadow",
            "in a flowery meadow",
            ("meadow", "field", "flowers", "prairie", "pradera", "wiese"),
        ),
        Place(
            "forest",
            "in a leafy forest",
            ("forest", "woods", "wood", "trees", "forêt", "bosque", "wald"),
        ),
        Place(
            "river",
            "by a sparkling river with stepping stones",
            ("river", "stream", "lake", "pond", "rivière", "río", "rio", "fluss", "see"),
        ),
        Place(
            "beach",
            "on a sandy beach by the sea",
            ("beach", "sea", "ocean", "seaside", "plage", "mer", "playa", "mar", "strand", "meer"),
        ),
        Place(
            "hills",
            "on rolling green hills",
            (
                "hill",
                "hills",
                "mountain",
                "mountains",
                "colline",
                "montagne",
                "colina",
                "montaña",
                "berg",
                "hügel",
            ),
        ),
        Place(
            "snow",
            "in a snowy winter valley",
            ("snow", "winter", "ice", "snowy", "neige", "hiver", "nieve", "invierno", "schnee"),
        ),
        Place(
            "village",
            "in a little village with colourful houses",
            ("village", "town", "market", "street", "pueblo", "dorf", "stadt"),
        ),
        Place(
            "space",
            "in outer space among the stars and planets",
            (
                "space",
                "moon",
                "stars",
                "planet",
                "rocket",
                "espace",
                "lune",
                "espacio",
                "luna",
                "weltraum",
                "mond",
            ),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """A time of day that changes the sky and the light."""

    id: str
    phrase: str
    words: tuple[str, ...]


TIMES: dict[str, TimeOfDay] = {
    t.id: t
    for t in (
        TimeOfDay("morning", "in the early morning", ("morning", "dawn", "sunrise")),
        TimeOfDay("noon", "at bright midday", ("midday", "noon", "lunchtime")),
        TimeOfDay("afternoon", "in the warm afternoon", ("afternoon",)),
        TimeOfDay("sunset", "at golden sunset", ("sunset", "evening", "dusk")),
        TimeOfDay("night", "under the night sky", ("night", "moonlight", "midnight", "bedtime")),
    )
}

_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)


def words_of(text: str) -> list[str]:
    """The lower-case words of `text`, in order."""
    return [w.lower() for w in _WORD.findall(text)]


def species_for_word(word: str) -> Species | None:
    """The species a (lower-case) word names, if any."""
    return _SPECIES_BY_WORD.get(word)


def find_place(text: str) -> Place | None:
    """The first place `text` mentions."""
    for word in words_of(text):
        for place in PLACES.values():
            if word in place.words:
                return place
    return None


def find_time(text: str) -> TimeOfDay | None:
    """The first time of day `text` mentions."""
    for word in words_of(text):
        for time in TIMES.values():
            if word in time.words:
                return time
    return None


_SPECIES_BY_WORD = {word: s for s in SPECIES.values() for word in s.words}
