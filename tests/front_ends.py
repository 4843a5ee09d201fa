"""Starting a front end the way `storybot run` does, for the chat front ends' tests."""

from __future__ import annotations

import dataclasses
from contextlib import AsyncExitStack

import pytest

from core.bootstrap import StoryBot, open_storybot
from core.config import Settings
from core.limits import JobLimits
from core.providers import Providers


def settings_with(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    """Settings from the environment with `env` set (one picture at a time by default)."""
    for name, value in {"STORYBOT_IMAGE_CONCURRENCY": "1", **env}.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


async def start_core(
    stack: AsyncExitStack,
    settings: Settings,
    platform: str,
    providers: Providers | None = None,
    *,
    delivery_retry_delay_s: float | None = None,
    resume: bool = False,
) -> StoryBot:
    """The core as `storybot run` builds it over `providers` (else those the settings name),
    entered on `stack`; `resume` restarts the platform's unfinished jobs."""
    limits = JobLimits.from_settings(settings)
    if delivery_retry_delay_s is not None:
        limits = dataclasses.replace(limits, delivery_retry_delay_s=delivery_retry_delay_s)
    return await stack.enter_async_context(
        open_storybot(
            settings, providers=providers, limits=limits,
            resume_platforms=frozenset({platform}) if resume else frozenset(),
        )
    )  # fmt: skip
