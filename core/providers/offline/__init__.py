"""The offline back end: deterministic stories, Pillow pictures, eSpeak NG speech, local
camera-move clips, and heroes cut out of users' photos."""

from __future__ import annotations

from core.providers.offline.art import OfflineIllustrator
from core.providers.offline.hero import OfflineHeroDesigner
from core.providers.offline.motion import OfflineAnimator
from core.providers.offline.speech import OfflineNarrator
from core.providers.offline.story import OfflineStoryWriter

__all__ = [
    "OfflineAnimator",
    "OfflineHeroDesigner",
    "OfflineIllustrator",
    "OfflineNarrator",
    "OfflineStoryWriter",
]
