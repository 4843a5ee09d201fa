"""What the characters of an offline story say in `cast` mode: after the narrator's sentence,
one or two short, gentle lines per scene, spoken by the scene's two characters in the story's
language (English where a language has no lines)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.voicing import NARRATOR, Line


@dataclass(frozen=True, slots=True)
class Said:
    """One spoken line: by the scene's first character (`a`) or its second (`b`), in en, fr,
    es and de; `{a}` and `{b}` stand for their names."""

    by: str  # "a" or "b"
    texts: tuple[str, str, str, str]  # en, fr, es, de


_LANGUAGES = ("en", "fr", "es", "de")

# Keyed by the beat's action (what its picture shows): the lines its characters say. Short
# exclamations and statements, one sentence each and no questions, so that each voice keeps
# to its own pitch.
TALK: Mapping[str, tuple[Said, ...]] = {
    "meeting and smiling at each other": (
        Said("a", ("Hello, {b}, my name is {a}!", "Bonjour, {b}, je m'appelle {a} !",
                   "¡Hola, {b}, me llamo {a}!", "Hallo, {b}, ich heiße {a}!")),
        Said("b", ("Hello, {a}, let us play together!", "Bonjour, {a}, jouons ensemble !",
                   "¡Hola, {a}, vamos a jugar juntos!",
                   "Hallo, {a}, lass uns zusammen spielen!")),
    ),
    "curled up together, fast asleep,": (
        Said("a", ("Good night, {b}, sweet dreams!", "Bonne nuit, {b}, fais de beaux rêves !",
                   "¡Buenas noches, {b}, dulces sueños!", "Gute Nacht, {b}, schlaf schön!")),
    ),
    "playing happily together": (
        Said("a", ("This is the best day ever!", "Quelle belle journée, c'est la meilleure !",
                   "¡Es el mejor día de todos!", "Das ist der schönste Tag überhaupt!")),
        Said("b", ("You are a wonderful friend, {a}!", "Tu es un ami merveilleux, {a} !",
                   "¡Eres un amigo maravilloso, {a}!", "Du bist ein wunderbarer Freund, {a}!")),
    ),
    "setting off on an adventure": (
        Said("a", ("Come on, {b}, let us go exploring!", "Viens, {b}, partons explorer !",
                   "¡Vamos, {b}, nos vamos de aventura!",
                   "Komm mit, {b}, wir gehen auf Entdeckungsreise!")),
    ),
    "racing each other and laughing": (
        Said("a", ("Ready, steady, go!", "À vos marques, prêts, partez !",
                   "¡Preparados, listos, ya!", "Auf die Plätze, fertig, los!")),
        Said("b", ("Wait for me, {a}!", "Attends-moi, {a} !", "¡Espérame, {a}!",
                   "Warte auf mich, {a}!")),
    ),
    "helping each other over a tricky spot": (
        Said("b", ("Oh dear, I cannot get across!", "Oh là là, je n'arrive pas à passer !",
                   "¡Ay, no puedo pasar!", "Oje, ich komme nicht hinüber!")),
        Said("a", ("Hold on, {b}, I will help you!", "Tiens bon, {b}, je vais t'aider !",
                   "¡Aguanta, {b}, yo te ayudo!", "Halt dich fest, {b}, ich helfe dir!")),
    ),
    "finding a shiny treasure chest": (
        Said("a", ("Look, a treasure to share with everyone!", "Regardez, un trésor à partager !",
                   "¡Mirad, un tesoro para compartir!", "Schaut mal, ein Schatz für uns alle!")),
    ),
    "sharing a picnic on a checked blanket": (
        Said("a", ("Mmm, this cake is yummy!", "Miam, ce gâteau est délicieux !",
                   "¡Mmm, qué pastel tan rico!", "Mmm, der Kuchen ist lecker!")),
        Said("b", ("Have some more, {a}!", "Reprends-en un peu, {a} !",
                   "¡Toma un poco más, {a}!", "Nimm noch ein Stück, {a}!")),
    ),
    "singing a happy song together": (
        Said("a", ("La la la, sing along with me, {b}!", "La la la, chante avec moi, {b} !",
                   "¡La la la, canta conmigo, {b}!", "La la la, sing mit mir, {b}!")),
    ),
    "looking around, a little lost,": (
        Said("b", ("Oh dear, I do not know the way!", "Oh non, je crois qu'on est perdus !",
                   "¡Oh, no, creo que estamos perdidos!",
                   "Oh nein, ich glaube, wir haben uns verirrt!")),
        Said("a", ("Stay close to me, {b}, we will find the way!",
                   "Reste près de moi, {b}, on va trouver le chemin !",
                   "¡Quédate cerca, {b}, encontraremos el camino!",
                   "Bleib bei mir, {b}, wir finden den Weg!")),
    ),
    "watching a beautiful rainbow": (
        Said("a", ("Look at all the colours, {b}!", "Regarde toutes ces couleurs, {b} !",
                   "¡Mira cuántos colores, {b}!", "Schau mal, all die Farben, {b}!")),
        Said("b", ("I wish we could be friends forever!",
                   "Je fais le vœu d'être amis pour toujours !",
                   "¡Deseo que seamos amigos para siempre!",
                   "Ich wünsche mir, dass wir immer Freunde bleiben!")),
    ),
}  # fmt: skip


def scene_lines(action: str, narration: str, *, a: str, b: str, language: str) -> tuple[Line, ...]:
    """The scene's lines: the narrator's sentence, then what its characters `a` and `b` say
    (a character named like the narrator stays silent, so no line is misattributed)."""
    li = _LANGUAGES.index(language) if language in _LANGUAGES else 0
    lines = [Line(speaker=NARRATOR, text=narration)]
    for said in TALK.get(action, ()):
        speaker = a if said.by == "a" else b
        if speaker.strip().casefold() != NARRATOR:
            lines.append(Line(speaker=speaker, text=said.texts[li].format(a=a, b=b)))
    return tuple(lines)


def cast_of(scenes: Iterable[tuple[Line, ...]]) -> dict[str, str]:
    """`Story.voices` for a cast story whose voices the narrator picks: every speaking
    character, in order of their first line, with no voice chosen yet."""
    voices: dict[str, str] = {}
    for lines in scenes:
        for line in lines:
            if not line.by_narrator:
                voices.setdefault(line.speaker, "")
    return voices
