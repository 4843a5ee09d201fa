"""What the hero tests read back from the fake Gemini and the data folder: the photo's calls,
the writer's, the scenes', and the casts kept for sequels."""

from __future__ import annotations

from pathlib import Path

from tests.gemini_requests import RecordedRequest
from tests.gemini_server import FakeGemini


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
