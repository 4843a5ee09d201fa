import pytest
from pydantic import ValidationError

from bot.cli_jobs import slugify
from core.models import Aspect, Scene, Story, StoryRequest, Style


def scene(**overrides: str) -> Scene:
    fields = {"image_prompt": "a cat", "narration": "A cat.", "character_description": "A cat."}
    return Scene(**{**fields, **overrides})


def test_story_accepts_one_to_ten_scenes() -> None:
    """A story has between 1 and 10 scenes."""
    for count in (1, 10):
        story = Story(
            title="T", theme="t", style=Style.STORYBOOK, language="en", scenes=[scene()] * count
        )
        assert len(story.scenes) == count
    for count in (0, 11):
        with pytest.raises(ValidationError):
            Story(
                title="T",
                theme="t",
                style=Style.STORYBOOK,
                language="en",
                scenes=[scene()] * count,
            )


@pytest.mark.parametrize("field", ["image_prompt", "narration", "character_description"])
def test_scene_fields_must_be_non_empty_and_bounded(field: str) -> None:
    """Blank or overlong scene fields are rejected; surrounding spaces are stripped."""
    with pytest.raises(ValidationError):
        scene(**{field: "   "})
    with pytest.raises(ValidationError):  # a cast's narration joins lines: up to 2000
        scene(**{field: "x" * (2001 if field == "narration" else 801)})
    assert getattr(scene(**{field: "  ok  "}), field) == "ok"


def test_request_validates_theme_scenes_and_language() -> None:
    """Requests bound the theme to 500 characters and scenes to 1..10, and normalise language."""
    assert StoryRequest(theme=" a cat ").theme == "a cat"
    assert StoryRequest(theme="x", language="PT_BR").language == "pt-br"
    for bad in ({"theme": ""}, {"theme": "x" * 501}, {"theme": "x", "scenes": 0},
                {"theme": "x", "scenes": 11}, {"theme": "x", "language": "english!"}):  # fmt: skip
        with pytest.raises(ValidationError):
            StoryRequest(**bad)  # type: ignore[arg-type]


def test_aspect_sizes_are_even() -> None:
    """Every output size is even in both dimensions (yuv420p needs it)."""
    for aspect in Aspect:
        width, height = aspect.size
        assert width % 2 == 0
        assert height % 2 == 0
    assert Aspect("16:9").size == (1280, 720)


def test_slugify() -> None:
    """Slugs are ASCII and file-name safe."""
    assert slugify("A cat & a dog!") == "a-cat-a-dog"
    assert slugify("Un éléphant") == "un-elephant"
    assert slugify("!!!") == "story"
