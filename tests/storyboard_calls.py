"""What every front end's storyboard test checks in the fake Gemini's record: a preview story
makes one story call and one picture per scene and says nothing; a redraw draws that one scene
once more, with the reference the first drawing had."""

from __future__ import annotations

from tests.gemini_requests import RecordedRequest
from tests.gemini_server import FakeGemini
from tests.hero_calls import scene_calls, writer_calls


def drawn(gemini: FakeGemini) -> list[RecordedRequest]:
    """Every scene drawing so far, in order."""
    return scene_calls(gemini.requests)


def check_storyboard(gemini: FakeGemini, scenes: int) -> None:
    """The storyboard is ready: one story call, `scenes` pictures, no narration yet."""
    assert len(writer_calls(gemini)) == 1
    assert len(drawn(gemini)) == scenes
    assert gemini.calls("tts") == []


def check_redraw(gemini: FakeGemini, before: int, scene: int, hint: str | None = None) -> None:
    """Exactly one more picture since `before` drawings: scene `scene` (2 or later: scene 1
    has no reference without a hero), with its first drawing's reference, and `hint`."""
    pictures = drawn(gemini)
    assert len(pictures) == before + 1, f"{len(pictures) - before} new pictures, not 1"
    new = pictures[-1]
    first = next(p for p in pictures if f"Scene {scene} of" in p.text)
    assert f"Scene {scene} of" in new.text
    assert new.inline_images == first.inline_images != []
    if hint is not None:
        assert hint in new.text
    assert len(writer_calls(gemini)) == 1  # nothing else was made again
    assert gemini.calls("tts") == []
