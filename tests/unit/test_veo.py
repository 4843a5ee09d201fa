"""Veo clip lengths."""

from core.providers.veo import round_up, veo_lengths


def test_clip_lengths_round_up_to_what_veo_makes() -> None:
    """A scene's length is rounded up to a length the model accepts, else its longest."""
    assert [round_up(s, veo_lengths("veo-3.1-generate-001")) for s in (2.4, 4.0, 4.1, 7, 12)] == [
        4, 4, 6, 8, 8,
    ]  # fmt: skip
    assert [round_up(s, veo_lengths("veo-2.0-generate-001")) for s in (3, 5.5, 9)] == [5, 6, 8]
