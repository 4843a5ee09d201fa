"""What the hero tests read back from the fake Gemini and the data folder: the photo's calls,
the writer's, the scenes', and the casts kept for sequels."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.gemini_requests import RecordedRequest
from tests.gemini_server import FakeGemini
from tests.gemini_story import HERO
from tests.pictures import copies_of, same_picture


def is_vision(request: RecordedRequest) -> bool:
    """A request that describes a photo (a "story" request asking for the hero's looks)."""
    return "looks" in ((request.schema or {}).get("properties") or {})


def vision_calls(gemini: FakeGemini) -> list[RecordedRequest]:
    """The requests that describe a photo."""
    return [r for r in gemini.calls("story") if is_vision(r)]


def writer_calls(gemini: FakeGemini) -> list[RecordedRequest]:
    """The story writer's requests."""
    return [r for r in gemini.calls("story") if not is_vision(r)]


def sheet_calls(gemini: FakeGemini) -> list[RecordedRequest]:
    """The character-sheet drawings."""
    return [r for r in gemini.calls("image") if "character sheet" in r.text]


def scene_calls(requests: list[RecordedRequest]) -> list[RecordedRequest]:
    """The scene drawings among `requests`."""
    return [r for r in requests if r.kind == "image" and "character sheet" not in r.text]


def kept_casts(data_dir: Path) -> list[bytes]:
    """The reference pictures kept for sequels under the data folder."""
    return [path.read_bytes() for path in data_dir.glob("jobs/cast-*/cast.png")]


def check_hero_story(
    gemini: FakeGemini, photo: bytes, scenes: int, data_dir: Path, log: str
) -> bytes:
    """What every front end's hero story must show; the reference picture of its scenes.

    The photo reached the vision call and the character-sheet call (compared perceptually: it
    is re-encoded), the writer heard of the hero, every scene (scene 1 included) was drawn with
    one reference that is not the photo, no picture under `data_dir` is the photo, and `log`
    holds no part of it."""
    (vision,) = vision_calls(gemini)
    assert len(vision.inline_images) == 1
    assert same_picture(vision.inline_images[0], photo)
    (sheet,) = sheet_calls(gemini)
    assert same_picture(sheet.inline_images[0], photo)
    (writer,) = writer_calls(gemini)
    assert HERO["name"] in writer.text
    assert HERO["looks"] in writer.text
    drawn = scene_calls(gemini.requests)
    assert len(drawn) == scenes
    references = {r.inline_images[0] for r in drawn}
    assert len(references) == 1
    reference = references.pop()
    assert not same_picture(reference, photo)  # the drawn sheet, not the photo
    assert copies_of(photo, data_dir) == []
    for data in (photo, vision.inline_images[0]):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            assert encode(data).decode()[:40] not in log
    return reference
