"""Text clean-up shared by narrators: what a voice should read, and nothing else."""

from __future__ import annotations

import re

_URL = re.compile(r"https?://\S+")
_MARKDOWN = re.compile(r"[*_#`~|<>\[\]{}\\^]+")
_SPACES = re.compile(r"\s+")


def speakable(text: str) -> str:
    """Strip markdown, links and stray symbols; collapse white space."""
    text = _URL.sub("", text)
    text = _MARKDOWN.sub(" ", text)
    return _SPACES.sub(" ", text).strip()
