"""The offline back end: deterministic stories, Pillow pictures and eSpeak NG speech."""

from __future__ import annotations

from core.providers.offline.art import OfflineIllustrator
from core.providers.offline.speech import OfflineNarrator
from core.providers.offline.story import OfflineStoryWriter

__all__ = ["OfflineIllustrator", "OfflineNarrator", "OfflineStoryWriter"]
