"""The offline back end: deterministic stories, Pillow pictures, eSpeak NG speech and local
camera-move clips."""

from __future__ import annotations

from core.providers.offline.art import OfflineIllustrator
from core.providers.offline.motion import OfflineAnimator
from core.providers.offline.speech import OfflineNarrator
from core.providers.offline.story import OfflineStoryWriter

__all__ = ["OfflineAnimator", "OfflineIllustrator", "OfflineNarrator", "OfflineStoryWriter"]
