"""How far a story job is, as one percent for the whole job: each stage's share of the bar,
and the items (scenes) each stage has finished."""

from __future__ import annotations

from core.models import JobId
from core.progress import ProgressSink, Stage, StageProgressed

# Share of the whole job each stage accounts for in the percent shown to users.
STORY_END = 10
MEDIA_END = 85  # pictures and narration together; a picture weighs three narrations
ANIMATED_MEDIA_END = 40  # with animation, clips take the stretch from here to MEDIA_END
PICTURE_WEIGHT = 3


class StageMeter:
    """Turns finished items into StageProgressed events with a whole-job percent."""

    def __init__(self, job_id: JobId, sink: ProgressSink, scenes: int, *, animate: bool) -> None:
        self.job_id, self.sink, self.scenes = job_id, sink, scenes
        self.done = {Stage.PICTURES: 0, Stage.NARRATION: 0, Stage.ANIMATION: 0}
        # Clips take minutes: with animation on, they get the larger share of the bar.
        self.media_end = ANIMATED_MEDIA_END if animate else MEDIA_END

    def media_percent(self) -> int:
        """Where the bar is within pictures and narration."""
        units = self.done[Stage.PICTURES] * PICTURE_WEIGHT + self.done[Stage.NARRATION]
        total = self.scenes * (PICTURE_WEIGHT + 1)
        return STORY_END + (self.media_end - STORY_END) * units // total

    def animation_percent(self) -> int:
        """Where the bar is within animation."""
        done = self.done[Stage.ANIMATION]
        return self.media_end + (MEDIA_END - self.media_end) * done // self.scenes

    async def item_done(self, stage: Stage) -> None:
        """One more item of `stage` finished: tell the sink."""
        self.done[stage] += 1
        percent = self.animation_percent() if stage is Stage.ANIMATION else self.media_percent()
        event = StageProgressed(self.job_id, stage, self.done[stage], self.scenes, percent)
        await self.sink(event)
