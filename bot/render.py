"""Pure rendering of progress events into short status text, shared by every front end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never

from core.progress import (
    JobCancelled,
    JobFailed,
    JobSucceeded,
    ProgressEvent,
    ProviderWaiting,
    Queued,
    Stage,
    StageProgressed,
    StageStarted,
)


@dataclass
class ProgressView:
    """What a user sees of one job, folded from its events; `text()` renders it."""

    percent: int = 0
    queue_position: int | None = None
    active: dict[Stage, tuple[int, int]] = field(default_factory=dict)  # stage → (done, total)
    waiting: str | None = None
    outcome: str | None = None
    finished: bool = False

    def apply(self, event: ProgressEvent) -> None:
        """Fold one event into the view."""
        match event:
            case Queued(position=position):
                self.queue_position = position
            case StageStarted(stage=stage, total=total, percent=percent):
                self.queue_position = None
                self.waiting = None
                self.active[stage] = (0, total)
                self.percent = max(self.percent, percent)
            case StageProgressed(stage=stage, done=done, total=total, percent=percent):
                self.waiting = None
                if done >= total:
                    self.active.pop(stage, None)
                else:
                    self.active[stage] = (done, total)
                self.percent = max(self.percent, percent)
            case ProviderWaiting(provider=provider, retry_in_s=delay, reason=reason):
                self.waiting = f"Waiting for {provider} ({reason}), retrying in {delay:.0f} s"
            case JobSucceeded(result=result):
                self.finished, self.percent, self.active = True, 100, {}
                self.outcome = f"Done: {result.duration_s:.1f} s story video"
            case JobFailed(reason=reason):
                self.finished, self.active = True, {}
                self.outcome = f"Failed: {reason}"
            case JobCancelled():
                self.finished, self.active = True, {}
                self.outcome = "Cancelled"
            case _:
                assert_never(event)

    def text(self) -> str:
        """One line: the current stages, or the outcome."""
        if self.outcome is not None:
            return self.outcome
        if self.waiting is not None:
            return self.waiting
        if self.queue_position is not None:
            return f"In the queue, position {self.queue_position}"
        parts = [_describe(stage, done, total) for stage, (done, total) in self.active.items()]
        return " · ".join(parts) if parts else "Starting…"


def _describe(stage: Stage, done: int, total: int) -> str:
    match stage:
        case Stage.QUEUED:
            return "Queued"
        case Stage.STORY:
            return "Writing the story"
        case Stage.PICTURES:
            return f"Drawing scene {min(done + 1, total)} of {total}"
        case Stage.NARRATION:
            return f"Narrating {min(done + 1, total)} of {total}"
        case Stage.ANIMATION:
            return f"Animating scene {min(done + 1, total)} of {total}"
        case Stage.ASSEMBLY:
            return "Assembling the video"
        case Stage.DELIVERY:
            return "Uploading"
        case _:
            assert_never(stage)
