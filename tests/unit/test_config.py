from pathlib import Path

import pytest

from core.config import ProviderChoice, Settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_env_example_copied_as_is_means_offline_defaults() -> None:
    """`.env.example` used as `.env` parses; its blank values mean "not configured"."""
    settings = Settings(_env_file=EXAMPLE)  # type: ignore[call-arg]
    assert settings.active_provider is ProviderChoice.OFFLINE
    assert settings.google_key is None
    assert settings.disk_budget_mb is None
    assert settings.music_path is None
    assert settings.allowed_ids == frozenset()
    assert settings.scenes == 5


def test_gemini_key_wins_and_selects_gemini(monkeypatch: pytest.MonkeyPatch) -> None:
    """GEMINI_API_KEY wins over GOOGLE_API_KEY; a key makes `auto` pick Gemini."""
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.google_key is not None
    assert settings.google_key.get_secret_value() == "gemini-key"
    assert settings.active_provider is ProviderChoice.GEMINI
    assert "gemini-key" not in repr(settings)


def test_id_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Allow-lists and admin lists are plain comma-separated ids."""
    monkeypatch.setenv("STORYBOT_ADMIN_IDS", " 12, 34 ,")
    assert Settings(_env_file=None).admin_ids == {"12", "34"}  # type: ignore[call-arg]


def test_models_are_unset_unless_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """No model id is trusted from a default: unset, each role is resolved at run time; a
    blank setting (as `.env.example` is copied) is unset too; preferences differ per mode."""
    from core.providers.catalog import Role, preferred

    developer = Settings(_env_file=None)  # type: ignore[call-arg]
    assert developer.text_model is developer.video_model is developer.live_model is None
    assert developer.model_refresh_h == 6
    monkeypatch.setenv("STORYBOT_TEXT_MODEL", " ")
    monkeypatch.setenv("STORYBOT_VIDEO_MODEL", "veo-2.0-generate-001")
    chosen = Settings(_env_file=None)  # type: ignore[call-arg]
    assert chosen.text_model is None
    assert chosen.video_model == "veo-2.0-generate-001"
    assert preferred(Role.VIDEO, vertex=True)[0].startswith("veo-")
    assert "omni" in preferred(Role.VIDEO, vertex=False)[0]
    assert preferred(Role.IMAGEN, vertex=True) == ()  # Google shut every Imagen model down
