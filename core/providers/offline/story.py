"""Offline story writer: deterministic stories from templates in en, fr, es and de."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from core.cast import Hero
from core.errors import UnsupportedLanguage
from core.models import Scene, Story, StoryRequest
from core.providers.offline.dialogue import cast_of, scene_lines
from core.providers.offline.story_cast import Member, carried, starring
from core.providers.offline.vocabulary import (
    COLOURS,
    GENERIC_SPECIES,
    PLACES,
    SPECIES,
    TIMES,
    Place,
    find_place,
    species_for_word,
    words_of,
)
from core.voicing import VoiceMode, joined_text

LANGUAGES = ("en", "fr", "es", "de")
MAX_CHARACTERS = 3

_ARTICLES = {"a", "an", "one", "un", "une", "una", "uno", "ein", "eine", "einen", "einem"}
_ADJECTIVES = {
    "brave", "little", "small", "big", "tiny", "friendly", "happy", "shy", "curious", "young",
    "old", "clever", "silly", "lost", "lonely", "sleepy", "grumpy", "magic", "magical", "giant",
    "cute", "fluffy", "funny", "kind", "wise", "gentle", "playful", "baby", "petit", "petite",
    "grand", "grande", "pequeño", "pequeña", "kleine", "kleiner", "kleines", "große", "großer",
}  # fmt: skip
# Nouns after an article that are not characters: events, objects, people, places, times.
_NOT_CREATURES = {
    "journey", "trip", "adventure", "day", "story", "tale", "party", "picnic", "birthday",
    "race", "game", "quest", "walk", "visit", "friend", "friends", "treasure", "ball", "kite",
    "boat", "box", "hat", "balloon", "gift", "present", "secret", "dream", "song", "night",
    "boy", "girl", "man", "woman", "child", "kid", "kids", "princess", "prince", "king",
    "queen", "knight", "wizard", "witch", "teacher", "mom", "dad", "family", "book", "cake",
    "voyage", "aventure", "fête", "viaje", "aventura", "fiesta", "reise", "abenteuer", "fest",
    "lot", "bit", "time", "place", "world", "way", "new",
}  # fmt: skip
_COMPANIONS = (("fox", "rabbit"), ("bear", "owl"), ("cat", "mouse"), ("duck", "frog"),
               ("penguin", "turtle"), ("elephant", "bird"), ("lion", "pig"))  # fmt: skip
_CREATURE_NAMES = ("Zib", "Momo", "Bloop", "Tiko", "Nuri", "Pim")
_CREATURE_COLOURS = ("purple", "blue", "pink", "green")
_FEATURES = {
    "cat": "green eyes and a long curly tail", "dog": "floppy ears and a waggy tail",
    "fox": "a bushy white-tipped tail", "rabbit": "long upright ears and a cotton tail",
    "bear": "round ears and a soft round tummy", "owl": "big round eyes and feathery ear tufts",
    "mouse": "big round ears and a thin tail", "frog": "bulging eyes and a wide smile",
    "bird": "a tiny beak and quick little wings", "pig": "a round snout and a curly tail",
    "elephant": "a long trunk and big flappy ears", "turtle": "a patterned green shell",
    "lion": "a fluffy golden mane", "penguin": "a white tummy and orange feet",
    "duck": "a flat orange bill and webbed feet", "fish": "shiny scales and a flowing tail",
}  # fmt: skip
_ACCESSORIES = ("red scarf", "blue bow", "yellow hat", "green scarf", "pink bow", "purple cap")

_AND = {"en": "and", "fr": "et", "es": "y", "de": "und"}
_TITLE = {
    "en": "The Adventures of {all}",
    "fr": "Les aventures de {all}",
    "es": "Las aventuras de {all}",
    "de": "Die Abenteuer von {all}",
}
_WHERE = {
    "garden": ("in the cosy garden", "dans le jardin douillet", "en el jardín",
               "im gemütlichen Garten"),
    "meadow": ("in the flowery meadow", "dans la prairie fleurie", "en la pradera florida",
               "auf der Blumenwiese"),
    "forest": ("in the leafy forest", "dans la forêt", "en el bosque", "im Wald"),
    "river": ("by the sparkling river", "au bord de la rivière", "junto al río",
              "am glitzernden Fluss"),
    "beach": ("on the sunny beach", "sur la plage ensoleillée", "en la playa soleada",
              "am sonnigen Strand"),
    "hills": ("on the green hills", "sur les collines vertes", "en las colinas verdes",
              "auf den grünen Hügeln"),
    "snow": ("in the snowy valley", "dans la vallée enneigée", "en el valle nevado",
             "im verschneiten Tal"),
    "village": ("in the little village", "dans le petit village", "en el pequeño pueblo",
                "im kleinen Dorf"),
    "space": ("among the stars", "parmi les étoiles", "entre las estrellas",
              "zwischen den Sternen"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Beat:
    """One kind of scene: what the picture shows (English) and one sentence per language."""

    action: str
    lines: tuple[str, str, str, str]  # en, fr, es, de


_OPENING = _Beat("meeting and smiling at each other", (
    "Once upon a time, {all} met {where} and soon became friends.",
    "Il était une fois {all}, qui se rencontrent {where} et deviennent vite amis.",
    "Había una vez {all}, que se conocieron {where} y pronto se hicieron amigos.",
    "Es waren einmal {all}, die sich {where} trafen und schnell Freunde wurden.",
))  # fmt: skip
_ENDING = _Beat("curled up together, fast asleep,", (
    "At last, {all} curled up {where} under the stars, the best of friends.",
    "Enfin, {all} se blottissent {where} sous les étoiles, les meilleurs amis du monde.",
    "Por fin, {all} se acurrucan {where} bajo las estrellas, los mejores amigos del mundo.",
    "Zum Schluss kuscheln sich {all} {where} unter den Sternen aneinander, beste Freunde.",
))  # fmt: skip
_ONLY = _Beat("playing happily together", (
    "Once upon a time, {all} spent a happy day {where} and became the best of friends.",
    "Il était une fois {all}, qui passent une belle journée {where} et deviennent amis.",
    "Había una vez {all}, que pasaron un día feliz {where} y se hicieron grandes amigos.",
    "Es waren einmal {all}, die {where} einen schönen Tag verbrachten und Freunde wurden.",
))  # fmt: skip
_MIDDLE = (
    _Beat("setting off on an adventure", (
        "{all} set off to explore, and soon they were {where}.",
        "{all} partent à l'aventure et arrivent bientôt {where}.",
        "{all} salen de aventura y pronto están {where}.",
        "{all} ziehen los und sind bald {where}.",
    )),
    _Beat("racing each other and laughing", (
        "{all} raced each other {where}, laughing all the way.",
        "{all} font la course {where}, en riant aux éclats.",
        "{all} echan una carrera {where}, riendo sin parar.",
        "{all} machen ein Wettrennen {where} und lachen dabei laut.",
    )),
    _Beat("helping each other over a tricky spot", (
        "{b} had a little trouble {where}, so {a} came to help right away.",
        "{b} a un petit souci {where}, alors {a} vient vite l'aider.",
        "{b} tiene un pequeño problema {where}, y {a} corre a ayudar.",
        "{b} hat {where} ein kleines Problem, und {a} hilft sofort.",
    )),
    _Beat("finding a shiny treasure chest", (
        "{Where}, {a} found a shiny treasure and shared it with {others}.",
        "{Where}, {a} trouve un trésor brillant et le partage avec {others}.",
        "{Where}, {a} encuentra un tesoro brillante y lo comparte con {others}.",
        "{Where} findet {a} einen glänzenden Schatz und teilt ihn mit {others}.",
    )),
    _Beat("sharing a picnic on a checked blanket", (
        "{all} shared a yummy picnic {where}.",
        "{all} partagent un délicieux pique-nique {where}.",
        "{all} comparten un rico pícnic {where}.",
        "{all} machen {where} ein leckeres Picknick.",
    )),
    _Beat("singing a happy song together", (
        "{Where}, {all} sang a happy song together.",
        "{Where}, {all} chantent ensemble une joyeuse chanson.",
        "{Where}, {all} cantan juntos una canción alegre.",
        "{Where} singen {all} zusammen ein fröhliches Lied.",
    )),
    _Beat("looking around, a little lost,", (
        "{Where}, {all} lost their way, but they stayed brave together.",
        "{Where}, {all} se perdent, mais restent courageux ensemble.",
        "{Where}, {all} se pierden, pero siguen valientes juntos.",
        "{Where} verirren sich {all}, doch sie bleiben zusammen mutig.",
    )),
    _Beat("watching a beautiful rainbow", (
        "{Where}, {all} saw a beautiful rainbow and made a wish.",
        "{Where}, {all} voient un magnifique arc-en-ciel et font un vœu.",
        "{Where}, {all} ven un precioso arcoíris y piden un deseo.",
        "{Where} sehen {all} einen wunderschönen Regenbogen und wünschen sich etwas.",
    )),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Character:
    """A hero of an offline story."""

    name: str
    species: str  # a SPECIES key, or GENERIC_SPECIES
    label: str  # the word the theme used, e.g. "cat" or "zorblat"
    colour: str

    def describe(self, accessory: str) -> str:
        """About 15 words: the same text on every scene, so pictures stay consistent."""
        feature = _FEATURES.get(self.species, "two little antennae and a big smile")
        return (
            f"{self.name} the {self.label}: a friendly {self.colour} {self.label} "
            f"with {feature}, wearing a {accessory}."
        )


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def find_characters(theme: str) -> list[Character]:
    """The characters a theme names, in order; unknown creatures become generic ones."""
    words = words_of(theme)
    rng = _rng("cast", theme.lower())
    found: list[tuple[str, str, str | None]] = []  # (species, label, colour word)
    for i, word in enumerate(words):
        species = species_for_word(word)
        colour = words[i - 1] if i > 0 and words[i - 1] in COLOURS else None
        if species is not None:
            found.append((species.id, species.english, colour))
            continue
        if i == 0 or words[i - 1] not in _ARTICLES:
            continue
        j = i
        while j < len(words) and words[j] in _ADJECTIVES | set(COLOURS):
            j += 1
        if j == i or j >= len(words):  # the word after the article is already the noun
            j = i
        noun = words[j]
        if (
            species_for_word(noun) is None
            and noun not in _NOT_CREATURES
            and noun not in _ADJECTIVES
            and find_place(noun) is None
            and len(noun) > 2
        ):
            found.append((GENERIC_SPECIES, noun, colour))
    cast: list[Character] = []
    used_names: set[str] = set()
    for kind, label, colour in found:
        if any(c.label == label for c in cast) or len(cast) == MAX_CHARACTERS:
            continue
        known = SPECIES.get(kind)
        names = known.names if known else _CREATURE_NAMES
        name = rng.choice([n for n in names if n not in used_names] or list(names))
        used_names.add(name)
        default = known.colour if known else rng.choice(_CREATURE_COLOURS)
        cast.append(Character(name, kind, label, colour or default))
    if len(cast) < 2:  # every story gets a friend to talk to and help
        taken = {c.species for c in cast}
        pair = rng.choice([p for p in _COMPANIONS if not taken & set(p)])
        for kind in pair[: 2 - len(cast)]:
            info = SPECIES[kind]
            name = rng.choice([n for n in info.names if n not in used_names])
            used_names.add(name)
            cast.append(Character(name, kind, info.english, info.colour))
    return cast


def _join(names: list[str], language: str) -> str:
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {_AND[language]} {names[-1]}"


def _time_for(index: int, count: int) -> str:
    if count == 1:
        return "afternoon"
    if index == count - 1:
        return "night"
    return ("morning", "noon", "afternoon", "sunset")[index * 4 // (count - 1)]


class OfflineStoryWriter:
    """Writes a deterministic story for a theme and scene count: beginning, middle and end."""

    name = "offline"
    languages = LANGUAGES

    def check_language(self, language: str) -> None:
        """Refuse languages the templates do not cover."""
        if language.split("-")[0] not in LANGUAGES:
            raise UnsupportedLanguage(
                f"the offline storyteller speaks en, fr, es and de, not '{language}' "
                "(set GEMINI_API_KEY for other languages)"
            )

    async def write(self, request: StoryRequest, hero: Hero | None = None) -> Story:
        """Write the story; no I/O, so it runs inline.

        `hero` (from the user's photo) is its first character, the theme's creatures its
        friends; a sequel (`request.sequel`) brings back the characters it introduced.
        """
        self.check_language(request.language)
        lang = request.base_language
        li = LANGUAGES.index(lang)
        rng = _rng("plot", request.theme.lower(), request.scenes)
        cast = self._cast(request, hero, rng)
        description = (
            " ".join(m.sentence for m in cast)
            + f" Art style: {request.style.value}, the same for every character."
        )
        journey = self._journey(request.theme, request.scenes, rng)
        middles = rng.sample(_MIDDLE, len(_MIDDLE))
        names = [m.name for m in cast]
        cast_prompt = _join([f"{m.name} the {m.label}" for m in cast], "en")
        scenes: list[Scene] = []
        for i, place in enumerate(journey):
            if request.scenes == 1:
                beat = _ONLY
            elif i == 0:
                beat = _OPENING
            elif i == request.scenes - 1:
                beat = _ENDING
            else:
                beat = middles[(i - 1) % len(middles)]
            where = _WHERE[place.id][li]
            a, b = rng.sample(names, 2)
            if hero is not None and names[0] not in (a, b):
                a = names[0]  # the hero of the photo takes part in every scene
            line = beat.lines[li].format(
                all=_join(names, lang),
                a=a,
                b=b,
                others=_join([n for n in names if n != a], lang),
                where=where,
                Where=where[0].upper() + where[1:],
            )
            time = TIMES[_time_for(i, request.scenes)]
            prompt = f"{cast_prompt} {beat.action} {place.phrase} {time.phrase}"
            scene = Scene(image_prompt=prompt, narration=line, character_description=description)
            if request.voices is VoiceMode.CAST:  # the characters speak too
                lines = scene_lines(beat.action, line, a=a, b=b, language=lang)
                scene = scene.model_copy(update={"lines": lines, "narration": joined_text(lines)})
            scenes.append(scene)
        return Story(
            title=_TITLE[lang].format(all=_join(names, lang)),
            theme=request.theme,
            style=request.style,
            language=request.language,
            scenes=scenes,
            voices=cast_of(s.lines for s in scenes),
        )

    @staticmethod
    def _cast(request: StoryRequest, hero: Hero | None, rng: random.Random) -> list[Member]:
        """The theme's characters, each with an accessory; a sequel's returning ones instead;
        the hero of the photo first."""
        found = find_characters(request.theme)
        accessories = rng.sample(_ACCESSORIES, len(found))
        cast = [
            Member(c.name, c.label, c.describe(acc), c.species if c.species in SPECIES else None)
            for c, acc in zip(found, accessories, strict=True)
        ]
        if request.sequel is not None:
            cast = carried(request.sequel, cast, MAX_CHARACTERS)
        if hero is not None:
            cast = starring(hero, cast, MAX_CHARACTERS)
        return cast

    async def soften(self, scene: Scene) -> Scene:
        """Offline pictures are never blocked; a plainer prompt is still offered."""
        cast = scene.image_prompt.split(" in ", 1)[0]
        return scene.model_copy(update={"image_prompt": f"{cast} smiling in a flowery meadow"})

    @staticmethod
    def _journey(theme: str, count: int, rng: random.Random) -> list[Place]:
        """Home, then a trip through other places (the theme's own place first), then home."""
        home = PLACES["garden"]
        named = find_place(theme)
        if named is not None and named.id == "garden":
            named = None
        others = [p for p in PLACES.values() if p.id not in {"garden", "space"}]
        rng.shuffle(others)
        if named is not None:
            others = [named] + [p for p in others if p != named]
        if count == 1:
            return [named or PLACES["meadow"]]
        middle = [others[i % len(others)] for i in range(count - 2)]
        end = named if named is not None and named.id == "space" else home
        return [home, *middle, end]
