"""How a video looks: its frame shape and its pictures' art style, as users pick them."""

from __future__ import annotations

from enum import StrEnum


class Aspect(StrEnum):
    """Output aspect ratio, as users type it."""

    LANDSCAPE = "16:9"
    PORTRAIT = "9:16"
    SQUARE = "1:1"
    WIDE = "16:10"  # the REST spec's; no model makes it: drawn 16:9, then cropped

    @property
    def size(self) -> tuple[int, int]:
        """Output frame size in pixels (width, height), both even."""
        return _ASPECT_SIZES[self]

    @property
    def drawn(self) -> Aspect:
        """The ratio the models are asked for: the closest one they make. Its pictures and
        clips are then fitted to `size` by centre-cropping, never stretched."""
        return Aspect.LANDSCAPE if self is Aspect.WIDE else self


_ASPECT_SIZES = {
    Aspect.LANDSCAPE: (1280, 720),
    Aspect.PORTRAIT: (720, 1280),
    Aspect.SQUARE: (1080, 1080),
    Aspect.WIDE: (1280, 800),
}
# The shapes of video jobs (Veo makes no square clip).
VIDEO_ASPECTS = ("16:9", "16:10", "9:16")


class Style(StrEnum):
    """Art styles a user can pick; one style is kept for every scene of a story."""

    STORYBOOK = "storybook"
    WATERCOLOR = "watercolor"
    CARTOON_3D = "3d-cartoon"
    ANIME = "anime"
    CLAYMATION = "claymation"
    PAPER_CUTOUT = "paper-cutout"

    @property
    def prompt(self) -> str:
        """The style prefix sent to image models."""
        return _STYLE_PROMPTS[self]


_STYLE_PROMPTS = {
    Style.STORYBOOK: "Detailed children's storybook illustration, soft warm colours",
    Style.WATERCOLOR: "Children's book watercolour painting, soft washes, visible paper texture",
    Style.CARTOON_3D: "Cute 3D animated cartoon for kids, rounded shapes, soft studio lighting",
    Style.ANIME: "Gentle hand-drawn anime style for children, clean lines, bright pastel colours",
    Style.CLAYMATION: "Claymation stop-motion look for kids, plasticine characters, handmade sets",
    Style.PAPER_CUTOUT: "Layered paper cut-out collage for kids, flat shapes, paper texture",
}
