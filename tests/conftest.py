"""Shared fixtures: every test runs with a clean environment and its own data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

_OUR_VARIABLES = (
    "GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION", "GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL", "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE_URL", "TELEGRAM_API_FILE_URL", "DISCORD_BOT_TOKEN",
    "DISCORD_API_BASE_URL", "DISCORD_GATEWAY_URL",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No real credentials leak in; `.env` of the checkout is not read; data goes to tmp."""
    import os

    for name in list(os.environ):
        if name in _OUR_VARIABLES or name.startswith("STORYBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # python-telegram-bot 22: time values as timedelta (as `storybot run` sets it), no warning.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    data = tmp_path / "data"
    monkeypatch.setenv("STORYBOT_DATA_DIR", str(data))
    return data
