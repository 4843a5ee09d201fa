import pytest

from core.errors import ThemeRejected
from core.safety import check_theme


@pytest.mark.parametrize(
    "theme",
    ["a dog with a gun", "Blood in the forest", "un chat qui veut TUER", "un arma", "Mörder-Mord"],
)
def test_unfit_themes_are_refused(theme: str) -> None:
    """Violent or adult words (any case, accents folded, four languages) refuse the theme."""
    with pytest.raises(ThemeRejected, match="children's story"):
        check_theme(theme)


@pytest.mark.parametrize(
    "theme", ["a cat and a dog", "a bird who sang a song", "a skilled dog and a sunny gunnel"]
)
def test_gentle_themes_pass(theme: str) -> None:
    """Ordinary themes pass; words are matched whole, not as substrings."""
    check_theme(theme)
