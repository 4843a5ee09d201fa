"""The numbers every part obeys: how a pipeline runs, how many jobs run, what users may ask."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.config import ClipAudio, Settings


@dataclass(frozen=True, slots=True)
class PipelineLimits:
    """Concurrency and timing limits of a pipeline."""

    image_concurrency: int = 3
    tts_concurrency: int = 4
    scene_pause_s: float = 0.4
    fps: int = 24
    crossfade: bool = True
    music: Path | None = None  # a background bed, ducked under the narration
    video_concurrency: int = 4  # clips animated at once
    video_deadline_s: float = 360.0  # per clip, from its operation's start (restarts included)
    clip_audio: bool = False  # mix each clip's own sound under the narration
    negative_prompt: str | None = "blurry, low quality, text, subtitles, watermark"

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelineLimits:
        """The limits configured by `STORYBOT_*` settings."""
        return cls(
            image_concurrency=settings.image_concurrency,
            tts_concurrency=settings.tts_concurrency,
            scene_pause_s=settings.scene_pause_s,
            fps=settings.fps,
            music=settings.music_path,
            video_concurrency=settings.video_concurrency,
            video_deadline_s=settings.video_deadline_s,
            clip_audio=settings.clip_audio is ClipAudio.MIX,
            negative_prompt=settings.video_negative_prompt or None,
        )


@dataclass(frozen=True, slots=True)
class JobLimits:
    """How many jobs run at once, what each user may ask for, and how hard to retry."""

    max_concurrent_jobs: int = 2
    user_jobs_in_flight: int = 1
    user_jobs_per_day: int = 10
    animated_per_day: int = 2  # jobs that pay for clips (animated stories), per user
    allowed_ids: frozenset[str] = frozenset()
    admin_ids: frozenset[str] = frozenset()
    step_retries: int = 2
    step_retry_delay_s: float = 5.0
    cancel_poll_s: float = 1.0  # how often a running job looks for a cancel from elsewhere
    delivery_attempts: int = 3
    delivery_retry_delay_s: float = 2.0
    outbox_poll_s: float = 30.0  # how often the outbox looks for work from other processes
    keep_hours: float = 24.0
    disk_budget_mb: float | None = None
    sweep_interval_s: float = 600.0
    preview_redraws: int = 3  # per scene of a storyboard
    preview_ttl_h: float = 24.0  # a storyboard left waiting this long is cancelled

    @classmethod
    def from_settings(cls, settings: Settings) -> JobLimits:
        """The limits configured by `STORYBOT_*` settings."""
        return cls(
            max_concurrent_jobs=settings.max_concurrent_jobs,
            user_jobs_in_flight=settings.user_jobs_in_flight,
            user_jobs_per_day=settings.user_jobs_per_day,
            animated_per_day=settings.animated_per_day,
            allowed_ids=settings.allowed_ids,
            admin_ids=settings.admin_ids,
            step_retries=settings.step_retries,
            keep_hours=settings.keep_hours,
            disk_budget_mb=settings.disk_budget_mb,
            preview_redraws=settings.preview_redraws,
            preview_ttl_h=settings.preview_ttl_h,
        )
