"""The stories of the fake Gemini ("story" kind answers): the prompt contracts.

* Scene count: the prompt (contents or system instruction) says `exactly N scenes`
  (N in digits or one..ten, see `SCENE_COUNT_RE`); without it `DEFAULT_SCENES` scenes come back.
  The story is about Whiskers the cat and Buster the dog; one sentence of narration per scene and
  the same `character_description` on every scene. The JSON follows the requested schema
  (`title`, `scenes[].image_prompt/narration/character_description`; other fields get fillers).
* Cast: when the schema asks for `lines` (a `cast` story), every scene is lines said by
  "narrator", Whiskers and Buster, `characters` names both with the voices `CAST_VOICES` (from
  Google's list) and a reason, and each scene's `narration` (if asked for) is its lines joined.
  Scene 1, 4, 7... has the narrator and Whiskers, scene 3, 6... the narrator and Buster (two
  speakers each) and scene 2, 5... all three. `unknown_speaker` (the `UnknownSpeaker` fault)
  gives one line of scene 1 to a speaker who is not a character.
* Rephrase: when the schema's only property is `image_prompt` (or, without a schema, the prompt
  contains `REPHRASE_MARKER`), the answer is `{"image_prompt": "<softened text>"}` where the text
  is what follows `REPHRASE_MARKER` (or the whole prompt), made gentler.
"""

from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image

DEFAULT_SCENES = 3
_NUMBER_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
SCENE_COUNT_RE = re.compile(rf"exactly\s+(\d+|{'|'.join(_NUMBER_WORDS)})\s+scenes?", re.I)
REPHRASE_MARKER = "Rewrite this image prompt"
CHARACTERS = (
    "Whiskers is a small orange tabby cat with green eyes and a blue collar; "
    "Buster is a big friendly brown dog with floppy ears and a red scarf."
)
_BEATS = (
    "Whiskers the cat and Buster the dog wake up on a sunny morning.",
    "They find a mysterious map under the garden bench.",
    "Buster sniffs the trail while Whiskers reads the map.",
    "They cross a wobbly bridge over a sparkling stream.",
    "A grey cloud rolls in, so they share a big yellow umbrella.",
    "Whiskers climbs a tall tree to look for the way home.",
    "Buster digs up a little box full of shiny buttons.",
    "They give the buttons to their friends in the village.",
    "Everyone shares a picnic to celebrate the happy day.",
    "Whiskers and Buster curl up together, sleepy and content.",
)
_SOFTER = {
    "scary": "silly", "monster": "friendly creature", "fight": "play", "blood": "paint",
    "weapon": "toy", "sword": "stick", "gun": "toy", "dark": "twilight", "angry": "grumpy",
}  # fmt: skip
# Output sizes of the real Gemini image models per aspect ratio.


def scene_count(prompt: str) -> int:
    """N from `exactly N scenes` in `prompt`, else `DEFAULT_SCENES`."""
    match = SCENE_COUNT_RE.search(prompt)
    if not match:
        return DEFAULT_SCENES
    word = match.group(1).lower()
    return int(word) if word.isdigit() else _NUMBER_WORDS.index(word) + 1


def story_dict(scenes: int) -> dict[str, Any]:
    beats = [_BEATS[i % len(_BEATS)] for i in range(scenes)]
    return {
        "title": "Whiskers and Buster's Big Day",
        "scenes": [
            {
                "image_prompt": f"Scene {i + 1} of {scenes}: {beat.rstrip('.')}. {CHARACTERS}",
                "narration": beat,
                "character_description": CHARACTERS,
            }
            for i, beat in enumerate(beats)
        ],
    }


CAST_VOICES = {"Whiskers": "Puck", "Buster": "Algenib"}
_SAYS = {
    "Whiskers": (
        "Good morning, Buster! Look at the sun!", "I can read the map, follow me!",
        "The bridge wobbles, hold on tight!", "I can see our house from up here!",
    ),
    "Buster": (
        "Woof! What a lovely day for an adventure!", "I can smell something shiny over there!",
        "Come under my big umbrella, little friend.", "Let us share them with everyone!",
    ),
}  # fmt: skip


def cast_lines(scene: int, beat: str) -> list[dict[str, str]]:
    """The lines of scene number `scene` (from 0): the narrator's beat, then what the scene's
    characters say."""
    talkers = (["Whiskers"], ["Whiskers", "Buster"], ["Buster"])[scene % 3]
    lines = [{"speaker": "narrator", "text": beat}]
    for number, name in enumerate(talkers):
        lines.append({"speaker": name, "text": _SAYS[name][(scene + number) % len(_SAYS[name])]})
    return lines


def cast_story_dict(scenes: int, unknown_speaker: str | None = None) -> dict[str, Any]:
    """`story_dict` told by a narrator and a cast of two."""
    story = story_dict(scenes)
    for number, scene in enumerate(story["scenes"]):
        scene["lines"] = cast_lines(number, scene["narration"])
        scene["narration"] = " ".join(line["text"] for line in scene["lines"])
    if unknown_speaker is not None:
        story["scenes"][0]["lines"][1]["speaker"] = unknown_speaker
    story["characters"] = [
        {"name": name, "voice": voice, "why": f"{name} sounds {desc}"}
        for (name, voice), desc in zip(CAST_VOICES.items(), ("upbeat", "gravelly"), strict=True)
    ]
    return story


def soften(prompt: str) -> str:
    """The text after `REPHRASE_MARKER` (or all of it), with gentler words."""
    head, marker, tail = prompt.partition(REPHRASE_MARKER)
    text = " ".join((tail if marker else head).lstrip(" :\n").strip().strip("\"'").split())
    for word, softer in _SOFTER.items():
        text = re.sub(rf"\b{word}\b", softer, text, flags=re.I)
    return f"A gentle, friendly picture for children: {text}"[:780]


def _conform(value: Any, schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """`value` reshaped to `schema` (OpenAPI or JSON Schema); missing leaves get fillers."""
    if "$ref" in schema:
        schema = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
    for key in ("anyOf", "oneOf"):
        options = [s for s in schema.get(key, []) if str(s.get("type", "")).lower() != "null"]
        if options:
            schema = options[0]
    kind = schema.get("type", "")
    kind = next((t for t in kind if t != "null"), "") if isinstance(kind, list) else kind
    kind = str(kind).lower()
    if kind == "object" or "properties" in schema:
        src = value if isinstance(value, dict) else {}
        props = schema.get("properties") or {}
        return {k: _conform(src.get(k), s, defs) for k, s in props.items()} if props else src
    if kind == "array":
        items = value if isinstance(value, list) else [None]
        return [_conform(v, schema.get("items") or {}, defs) for v in items]
    if value is not None:
        return value
    if schema.get("enum"):
        return schema["enum"][0]
    return {"integer": 1, "number": 1.0, "boolean": True, "null": None}.get(kind, "text")


def story_json(
    text: str,
    system_text: str,
    schema: dict[str, Any] | None,
    rephrase: bool,
    unknown_speaker: str | None = None,
) -> Any:
    """The JSON answer to a story or rephrase request, shaped to its `schema`."""
    count = scene_count(system_text + "\n" + text)
    if rephrase:
        value: dict[str, Any] = {"image_prompt": soften(text)}
    elif schema and _asks_for(schema, "lines"):
        value = cast_story_dict(count, unknown_speaker)
    else:
        value = story_dict(count)
    if not schema:
        return value
    defs = schema.get("$defs") or schema.get("definitions") or {}
    return _conform(value, schema, defs)


def _asks_for(schema: Any, name: str) -> bool:
    """Whether any object of `schema` (its definitions included) has the property `name`."""
    if isinstance(schema, dict):
        props = schema.get("properties")
        if isinstance(props, dict) and name in props:
            return True
        return any(_asks_for(value, name) for value in schema.values())
    if isinstance(schema, list):
        return any(_asks_for(value, name) for value in schema)
    return False


HERO = {
    "name": "Pip", "kind": "a small knitted toy rabbit",
    "looks": "soft pale blue wool, one floppy ear, a red button nose and a yellow scarf",
}  # fmt: skip


def hero_json(photos: list[bytes]) -> dict[str, Any]:
    """The answer to a photo description: `HERO`, unless the request holds no photo or one
    with no subject to see (a single flat colour), as a vision model would say."""
    if not photos or _flat(photos[0]):
        return {"clear_subject": False, "name": "", "kind": "", "looks": ""}
    return {"clear_subject": True, **HERO}


def _flat(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            low_high = image.convert("L").getextrema()
    except OSError:
        return True
    assert isinstance(low_high, tuple)
    return int(low_high[1]) - int(low_high[0]) < 8
