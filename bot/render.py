"""Pure rendering of progress events into short status text, shared by every front end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never

from bot.options import OPTION_HELP
from core.models import JobResult, VideoClips, Voice
from core.progress import (
    AwaitingApproval,
    ClipPhase,
    JobCancelled,
    JobFailed,
    JobSucceeded,
    ProgressEvent,
    ProviderWaiting,
    Queued,
    SceneAnimating,
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
    clips: dict[int, tuple[ClipPhase, float]] = field(default_factory=dict)  # scene → phase, s
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
            case SceneAnimating(scene=scene, phase=phase, elapsed_s=elapsed, percent=percent):
                self.waiting = None
                if phase is ClipPhase.DONE:
                    self.clips.pop(scene, None)
                else:
                    self.clips[scene] = (phase, elapsed)
                self.percent = max(self.percent, percent)
            case ProviderWaiting(provider=provider, retry_in_s=delay, reason=reason):
                self.waiting = f"Waiting for {provider} ({reason}), retrying in {delay:.0f} s"
            case JobSucceeded(result=result):
                self.finished, self.percent, self.active = True, 100, {}
                self.outcome = f"Done: {_made(result)}"
            case JobFailed(reason=reason):
                self.finished, self.active = True, {}
                self.outcome = f"Failed: {reason}"
            case JobCancelled():
                self.finished, self.active = True, {}
                self.outcome = "Cancelled"
            case AwaitingApproval(scenes=scenes):
                self.active, self.waiting = {}, None
                self.outcome = f"Storyboard ready: {scenes} scenes wait for your approval"
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
        if self.clips and (Stage.ANIMATION in self.active or Stage.VIDEO in self.active):
            scene, (phase, elapsed) = max(self.clips.items(), key=lambda item: item[1][1])
            which = f"scene {scene} " if Stage.ANIMATION in self.active else ""
            parts.append(f"{which}{phase.value} {clock(elapsed)}")
        return " · ".join(parts) if parts else "Starting…"


def _describe(stage: Stage, done: int, total: int) -> str:
    match stage:
        case Stage.STORY:
            return "Writing the story"
        case Stage.PICTURES:
            return f"Drawing scene {min(done + 1, total)} of {total}"
        case Stage.NARRATION:
            return f"Narrating {min(done + 1, total)} of {total}"
        case Stage.ANIMATION:
            return f"Animating: {done} of {total} scenes done"
        case Stage.VIDEO:
            return "Making the video"
        case Stage.ASSEMBLY:
            return "Assembling the video"
        case _:
            assert_never(stage)


def bar(percent: int, width: int = 10) -> str:
    """A text progress bar: `▰▰▰▱▱▱▱▱▱▱ 30%`."""
    filled = max(0, min(width, round(percent * width / 100)))
    return f"{'▰' * filled}{'▱' * (width - filled)} {percent}%"


def clock(seconds: float) -> str:
    """Elapsed time as m:ss."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def chat_progress(view: ProgressView, elapsed_s: float) -> str:
    """The progress message of a chat front end: what happens now, a bar, the time so far."""
    if view.finished:
        return view.text()
    if view.queue_position is not None and not view.active:
        return f"⏳ #{view.queue_position} in line — yours starts soon\n{clock(elapsed_s)}"
    return f"🎬 {view.text()}\n{bar(view.percent)} · {clock(elapsed_s)}"


def _made(result: JobResult) -> str:
    if isinstance(result, VideoClips):
        count = len(result.videos)
        return f"{count} video{'s' * (count > 1)} of {result.duration_s:.0f} s"
    return f"{result.duration_s:.1f} s story video"


def done_summary(result: JobResult) -> str:
    """One line once the video is delivered, plus any notes (e.g. a reused picture)."""
    if isinstance(result, VideoClips):
        head = f"✅ {_made(result)} — “{result.prompt[:80]}”"
        return "\n".join([head, *(f"ℹ️ {note}" for note in result.notes)])
    scenes = len(result.story.scenes)
    lines = [f"✅ “{result.story.title}” — {result.duration_s:.0f} s, {scenes} scenes"]
    if result.animated:
        lines[0] += f", {result.animated} of {scenes} animated"
    lines += [f"ℹ️ {note}" for note in result.notes]
    return "\n".join(lines)


def help_text(
    *,
    example: str,
    with_options: str,
    voices: list[Voice],
    hero: str,
    sequel: str,
    max_voices: int = 12,
) -> str:
    """What the bot does, an example, the hero from a photo and the sequel (`hero` and
    `sequel` say how, in the platform's words), and every option with its valid values."""
    listed = ", ".join(v.name for v in voices[:max_voices])
    more = f" and {len(voices) - max_voices} more" if len(voices) > max_voices else ""
    return (
        "I turn a theme into an illustrated, narrated children's story video.\n\n"
        f"Example: {example}\n"
        f"With options: {with_options}\n"
        f"Your own hero: {hero}\n"
        f"What happens next: {sequel}\n\n"
        "Options:\n"
        f"• scenes: {OPTION_HELP['scenes']}\n"
        f"• aspect: {OPTION_HELP['aspect']}\n"
        f"• style: {OPTION_HELP['style']}\n"
        f"• language: {OPTION_HELP['language']}\n"
        f"• captions: {OPTION_HELP['captions']}\n"
        f"• animate: {OPTION_HELP['animate']}\n"
        f"• preview: {OPTION_HELP['preview']}\n"
        f"• voices: {OPTION_HELP['voices']}\n"
        f"• voice: {listed}{more}\n\n"
        "Other commands: /sequel (the next part of your last story), /status (your recent "
        "stories), /cancel (stop your story)."
    )
