import pytest

from core.errors import UnsupportedLanguage
from core.models import StoryRequest
from core.providers.offline.story import OfflineStoryWriter, find_characters
from core.providers.offline.vocabulary import GENERIC_SPECIES


async def test_same_theme_and_count_give_the_same_story() -> None:
    """The offline story is deterministic for a theme and a scene count."""
    writer = OfflineStoryWriter()
    first = await writer.write(StoryRequest(theme="a cat and a dog", scenes=5))
    again = await writer.write(StoryRequest(theme="a cat and a dog", scenes=5))
    other = await writer.write(StoryRequest(theme="a fox and an owl", scenes=5))
    assert first == again
    assert first.scenes != other.scenes


@pytest.mark.parametrize(
    ("theme", "species"),
    [
        ("a cat and a dog", ["cat", "dog"]),
        ("un chat et un chien", ["cat", "dog"]),
        ("ein Hund und eine Katze", ["dog", "cat"]),
        ("a brave little fox", ["fox", None]),  # one hero gets a companion
    ],
)
def test_characters_are_picked_up_from_the_theme(theme: str, species: list[str | None]) -> None:
    """Named animals become the heroes, in order, each with a name."""
    cast = find_characters(theme)
    assert len(cast) >= 2
    for character, expected in zip(cast, species, strict=False):
        if expected is not None:
            assert character.species == expected
        assert character.name


def test_unknown_creature_becomes_a_labelled_generic_creature() -> None:
    """An unknown creature is kept, drawn as a generic creature labelled with its name."""
    cast = find_characters("a zorblat and a cat")
    assert (cast[0].species, cast[0].label) == (GENERIC_SPECIES, "zorblat")
    assert cast[1].species == "cat"


def test_theme_without_characters_gets_two_animal_heroes() -> None:
    """A theme that names no character gets two friendly animals."""
    cast = find_characters("a journey to the moon")
    assert len(cast) == 2
    assert all(c.species != GENERIC_SPECIES for c in cast)


async def test_story_has_beginning_middle_end_with_named_characters() -> None:
    """N scenes; every narration is one sentence; characters and places recur and change."""
    story = await OfflineStoryWriter().write(StoryRequest(theme="a cat and a dog", scenes=6))
    assert len(story.scenes) == 6
    names = [c.name for c in find_characters("a cat and a dog")]
    assert story.scenes[0].narration.startswith("Once upon a time")
    assert story.scenes[-1].narration.startswith("At last")
    for s in story.scenes:
        assert s.narration.endswith(".")
        assert s.narration.count(". ") == 0
        assert any(name in s.narration for name in names)
        assert s.character_description == story.scenes[0].character_description
    assert len({s.image_prompt for s in story.scenes}) == 6


@pytest.mark.parametrize(
    ("language", "opening"), [("fr", "Il était"), ("es", "Había"), ("de", "Es waren")]
)
async def test_story_in_french_spanish_german(language: str, opening: str) -> None:
    """Templates exist for fr, es and de."""
    story = await OfflineStoryWriter().write(
        StoryRequest(theme="a cat", scenes=3, language=language)
    )
    assert story.scenes[0].narration.startswith(opening)
    assert story.language == language


async def test_other_languages_are_refused_clearly() -> None:
    """Offline cannot write Japanese: a clear message says so."""
    with pytest.raises(UnsupportedLanguage, match="en, fr, es and de"):
        await OfflineStoryWriter().write(StoryRequest(theme="a cat", language="ja"))


@pytest.mark.parametrize("count", range(1, 11))
async def test_every_scene_count_works(count: int) -> None:
    """1 to 10 scenes all produce valid stories."""
    story = await OfflineStoryWriter().write(StoryRequest(theme="a cat and a dog", scenes=count))
    assert len(story.scenes) == count
