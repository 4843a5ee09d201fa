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


def test_model_defaults_follow_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Live and video models default per mode (Veo is started on Vertex AI only); settings
    override them; the picture model follows the image back end."""
    developer = Settings(_env_file=None)  # type: ignore[call-arg]
    assert developer.video_model == "gemini-omni-1.1-flash"
    assert developer.live_model.startswith("gemini-2.5-flash-native-audio")
    assert developer.picture_model == developer.image_model
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("STORYBOT_IMAGE_BACKEND", "imagen")
    vertex = Settings(_env_file=None)  # type: ignore[call-arg]
    assert vertex.video_model == "veo-3.1-fast-generate-001"
    assert vertex.live_model == "gemini-live-2.5-flash-native-audio"
    assert vertex.picture_model == "imagen-4.0-generate-001"
    assert not vertex.vertex_project_mode  # no project: express mode
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    monkeypatch.setenv("STORYBOT_VIDEO_MODEL", "veo-2.0-generate-001")
    chosen = Settings(_env_file=None)  # type: ignore[call-arg]
    assert chosen.vertex_project_mode
    assert chosen.video_model == "veo-2.0-generate-001"
