"""Settings: the only place that reads the environment and `.env`."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, HttpUrl, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.models import Aspect, Style
from core.voicing import VoiceMode


def _id_list(value: object) -> object:
    if isinstance(value, str):
        return frozenset(part.strip() for part in value.split(",") if part.strip())
    return value


# Comma-separated user or chat ids, e.g. `12345,67890`.
IdList = Annotated[frozenset[str], NoDecode, BeforeValidator(_id_list)]


class ProviderChoice(StrEnum):
    """Which back end makes stories: `auto` picks Gemini when credentials exist."""

    AUTO = "auto"
    GEMINI = "gemini"
    OFFLINE = "offline"


class ImageBackend(StrEnum):
    """Which Google model draws the pictures: a Gemini image model, or Imagen (Vertex AI only)."""

    GEMINI = "gemini"
    IMAGEN = "imagen"


class NarratorChoice(StrEnum):
    """How Gemini narrates: the TTS model, or a Live API session per line (TTS as fallback)."""

    TTS = "tts"
    LIVE = "live"


class ClipAudio(StrEnum):
    """What happens to an animated clip's own sound: dropped, or mixed under the narration."""

    DROP = "drop"
    MIX = "mix"


_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)  # the only ports Telegram sends webhooks to


class Settings(BaseSettings):
    """Every setting of StoryBot, validated at start; `.env.example` explains each one."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    # Back end selection and Google credentials (the services' own well-known names).
    provider: ProviderChoice = Field(ProviderChoice.AUTO, validation_alias="STORYBOT_PROVIDER")
    gemini_api_key: SecretStr | None = Field(None, validation_alias="GEMINI_API_KEY")
    google_api_key: SecretStr | None = Field(None, validation_alias="GOOGLE_API_KEY")
    use_vertexai: bool = Field(False, validation_alias="GOOGLE_GENAI_USE_VERTEXAI")
    google_cloud_project: str | None = Field(None, validation_alias="GOOGLE_CLOUD_PROJECT")
    google_cloud_location: str = Field("us-central1", validation_alias="GOOGLE_CLOUD_LOCATION")
    gemini_base_url: str | None = Field(None, validation_alias="GEMINI_BASE_URL")
    gemini_live_base_url: str | None = Field(None, validation_alias="GEMINI_LIVE_BASE_URL")

    # Models: unset, each role's model is chosen at run time from what the credentials can
    # see (`core/providers/catalog.py` holds the preference lists).
    text_model: str | None = Field(None, validation_alias="STORYBOT_TEXT_MODEL")
    image_model: str | None = Field(None, validation_alias="STORYBOT_IMAGE_MODEL")
    tts_model: str | None = Field(None, validation_alias="STORYBOT_TTS_MODEL")
    image_backend: ImageBackend = Field(
        ImageBackend.GEMINI, validation_alias="STORYBOT_IMAGE_BACKEND"
    )
    imagen_model: str | None = Field(None, validation_alias="STORYBOT_IMAGEN_MODEL")
    narrator: NarratorChoice = Field(NarratorChoice.TTS, validation_alias="STORYBOT_NARRATOR")
    live_model: str | None = Field(None, validation_alias="STORYBOT_LIVE_MODEL")
    live_timeout_s: float = Field(30.0, gt=0, le=300, validation_alias="STORYBOT_LIVE_TIMEOUT_S")
    video_model: str | None = Field(None, validation_alias="STORYBOT_VIDEO_MODEL")
    model_refresh_h: float = Field(6.0, gt=0, le=720, validation_alias="STORYBOT_MODEL_REFRESH_H")

    # Animation (Veo clips) and its cost guard.
    video_poll_s: float = Field(10.0, gt=0, le=120, validation_alias="STORYBOT_VIDEO_POLL_S")
    video_deadline_s: float = Field(
        360.0, gt=0, le=3600, validation_alias="STORYBOT_VIDEO_DEADLINE_S"
    )
    video_concurrency: int = Field(4, ge=1, le=10, validation_alias="STORYBOT_VIDEO_CONCURRENCY")
    clip_audio: ClipAudio = Field(ClipAudio.DROP, validation_alias="STORYBOT_CLIP_AUDIO")
    video_negative_prompt: str = Field(
        "blurry, low quality, text, subtitles, watermark",
        validation_alias="STORYBOT_VIDEO_NEGATIVE_PROMPT",
    )
    animated_per_day: int = Field(2, ge=0, validation_alias="STORYBOT_ANIMATED_PER_DAY")

    # Chat front ends.
    telegram_bot_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str | None = Field(None, validation_alias="TELEGRAM_API_BASE_URL")
    telegram_api_file_url: str | None = Field(None, validation_alias="TELEGRAM_API_FILE_URL")
    # Webhook mode: Telegram POSTs updates to this public HTTPS URL, which the HTTP API's server
    # serves at its path; each request must carry the secret. Unset: long polling.
    telegram_webhook_url: HttpUrl | None = Field(
        None, validation_alias="STORYBOT_TELEGRAM_WEBHOOK_URL"
    )
    telegram_webhook_secret: SecretStr | None = Field(
        None, validation_alias="STORYBOT_TELEGRAM_WEBHOOK_SECRET"
    )
    telegram_upload_limit_mb: float = Field(
        50, gt=0, le=2000, validation_alias="STORYBOT_TELEGRAM_UPLOAD_LIMIT_MB"
    )
    telegram_upload_timeout_s: float = Field(
        120.0, ge=1, le=900, validation_alias="STORYBOT_TELEGRAM_UPLOAD_TIMEOUT_S"
    )
    progress_interval_s: float = Field(
        3.0, ge=0.5, le=60, validation_alias="STORYBOT_PROGRESS_INTERVAL_S"
    )
    discord_bot_token: SecretStr | None = Field(None, validation_alias="DISCORD_BOT_TOKEN")
    discord_api_base_url: str | None = Field(None, validation_alias="DISCORD_API_BASE_URL")
    discord_gateway_url: str | None = Field(None, validation_alias="DISCORD_GATEWAY_URL")
    discord_guild_ids: IdList = Field(frozenset(), validation_alias="STORYBOT_DISCORD_GUILD_IDS")
    discord_token_ttl_s: float = Field(
        900.0, gt=0, le=900, validation_alias="STORYBOT_DISCORD_TOKEN_TTL_S"
    )

    # HTTP API and its webhooks.
    http_port: int | None = Field(None, ge=0, le=65535, validation_alias="STORYBOT_HTTP_PORT")
    http_host: str = Field("127.0.0.1", validation_alias="STORYBOT_HTTP_HOST")
    http_tokens: SecretStr | None = Field(None, validation_alias="STORYBOT_HTTP_TOKENS")
    http_max_image_mb: float = Field(
        10.0, gt=0, le=100, validation_alias="STORYBOT_HTTP_MAX_IMAGE_MB"
    )
    # Prometheus metrics of a process without the HTTP API (`storybot worker`); unset: none.
    metrics_port: int | None = Field(
        None, ge=0, le=65535, validation_alias="STORYBOT_METRICS_PORT"
    )
    webhook_url: HttpUrl | None = Field(None, validation_alias="STORYBOT_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(None, validation_alias="STORYBOT_WEBHOOK_SECRET")
    # Named in every webhook payload's `environment` (e.g. production, staging).
    environment: str = Field(
        "production", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
        validation_alias="STORYBOT_ENVIRONMENT",
    )  # fmt: skip

    # Storage and story defaults.
    data_dir: Path = Field(Path("data"), validation_alias="STORYBOT_DATA_DIR")
    # Unset: SQLite in the data folder, one process. postgresql://…: the shared store.
    database_url: SecretStr | None = Field(None, validation_alias="STORYBOT_DATABASE_URL")
    # Unset: job files in the data folder. s3://bucket/prefix or gs://bucket/prefix: a bucket.
    storage_url: str | None = Field(None, validation_alias="STORYBOT_STORAGE_URL")
    presigned_url_minutes: float = Field(
        60.0, gt=0, le=7 * 24 * 60, validation_alias="STORYBOT_PRESIGNED_URL_MINUTES"
    )  # at most 7 days: the longest an S3 signature lives
    # The bucket's credentials (s3://): read here so that `.env` works and the secret is
    # redacted; obstore reads its other AWS_* variables from the environment itself.
    aws_access_key_id: str | None = Field(None, validation_alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: SecretStr | None = Field(None, validation_alias="AWS_SECRET_ACCESS_KEY")
    aws_session_token: SecretStr | None = Field(None, validation_alias="AWS_SESSION_TOKEN")
    aws_region: str | None = Field(None, validation_alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")
    scenes: int = Field(5, ge=1, le=10, validation_alias="STORYBOT_SCENES")
    aspect: Aspect = Field(Aspect.LANDSCAPE, validation_alias="STORYBOT_ASPECT")
    style: Style = Field(Style.STORYBOOK, validation_alias="STORYBOT_STYLE")
    voice: str | None = Field(None, validation_alias="STORYBOT_VOICE")
    language: str = Field("en", validation_alias="STORYBOT_LANGUAGE")

    # Pipeline limits and video.
    scene_pause_s: float = Field(0.4, ge=0.0, le=3.0, validation_alias="STORYBOT_SCENE_PAUSE_S")
    music_path: Path | None = Field(None, validation_alias="STORYBOT_MUSIC_PATH")
    fps: int = Field(24, ge=12, le=60, validation_alias="STORYBOT_FPS")
    image_concurrency: int = Field(3, ge=1, le=10, validation_alias="STORYBOT_IMAGE_CONCURRENCY")
    tts_concurrency: int = Field(4, ge=1, le=10, validation_alias="STORYBOT_TTS_CONCURRENCY")
    text_concurrency: int = Field(4, ge=1, le=10, validation_alias="STORYBOT_TEXT_CONCURRENCY")
    call_timeout_s: float = Field(120.0, gt=0, validation_alias="STORYBOT_CALL_TIMEOUT_S")
    retry_budget_s: float = Field(180.0, gt=0, validation_alias="STORYBOT_RETRY_BUDGET_S")
    log_level: str = Field("INFO", validation_alias="STORYBOT_LOG_LEVEL")

    # Job runner: global and per-user limits.
    max_concurrent_jobs: int = Field(
        2, ge=1, le=32, validation_alias="STORYBOT_MAX_CONCURRENT_JOBS"
    )
    user_jobs_in_flight: int = Field(1, ge=1, validation_alias="STORYBOT_USER_JOBS_IN_FLIGHT")
    user_jobs_per_day: int = Field(10, ge=1, validation_alias="STORYBOT_USER_JOBS_PER_DAY")
    allowed_ids: IdList = Field(frozenset(), validation_alias="STORYBOT_ALLOWED_IDS")
    admin_ids: IdList = Field(frozenset(), validation_alias="STORYBOT_ADMIN_IDS")
    step_retries: int = Field(2, ge=0, le=10, validation_alias="STORYBOT_STEP_RETRIES")
    # With PostgreSQL: a worker silent this long has its jobs taken over by another.
    worker_stall_s: float = Field(30.0, ge=1, le=3600, validation_alias="STORYBOT_WORKER_STALL_S")

    # Restarts and disk.
    shutdown_grace_s: float = Field(
        20.0, ge=0, le=600, validation_alias="STORYBOT_SHUTDOWN_GRACE_S"
    )
    keep_hours: float = Field(24.0, gt=0, validation_alias="STORYBOT_KEEP_HOURS")
    # A story's cast (characters, reference picture, look, voice) is kept this long for sequels.
    cast_days: float = Field(30.0, gt=0, le=3650, validation_alias="STORYBOT_CAST_DAYS")
    disk_budget_mb: float | None = Field(None, gt=0, validation_alias="STORYBOT_DISK_BUDGET_MB")

    # `cast`: stories told by a narrator and a voice per character, unless asked otherwise.
    voices_default: VoiceMode = Field(
        VoiceMode.NARRATOR, validation_alias="STORYBOT_VOICES_DEFAULT"
    )
    # Storyboards: a preview story waits with its pictures for the user's approval.
    preview_default: bool = Field(False, validation_alias="STORYBOT_PREVIEW_DEFAULT")
    preview_redraws: int = Field(3, ge=0, le=20, validation_alias="STORYBOT_PREVIEW_REDRAWS")
    preview_ttl_h: float = Field(24.0, gt=0, le=24 * 30, validation_alias="STORYBOT_PREVIEW_TTL_H")

    @field_validator(
        "gemini_api_key",
        "google_api_key",
        "telegram_bot_token",
        "discord_bot_token",
        "http_port",
        "http_tokens",
        "metrics_port",
        "webhook_url",
        "webhook_secret",
        "gemini_base_url",
        "gemini_live_base_url",
        "text_model",
        "image_model",
        "tts_model",
        "imagen_model",
        "live_model",
        "video_model",
        "google_cloud_project",
        "telegram_api_base_url",
        "telegram_api_file_url",
        "telegram_webhook_url",
        "telegram_webhook_secret",
        "discord_api_base_url",
        "discord_gateway_url",
        "voice",
        "disk_budget_mb",
        "music_path",
        "database_url",
        "storage_url",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_region",
        "aws_endpoint_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `.env.example` copied as is leaves `KEY=`; treat that as "not configured".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("storage_url")
    @classmethod
    def _bucket_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"(s3|gs)://[a-z0-9][a-z0-9._-]+(/\S*)?", value):
            raise ValueError(
                "must be s3://bucket/prefix or gs://bucket/prefix (unset: the data folder)"
            )
        return value.rstrip("/") if value is not None else None

    @field_validator("aws_endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[\w.-]+(:\d{1,5})?/?", value):
            raise ValueError("must be http(s)://host[:port] (an S3-compatible server)")
        return value.rstrip("/") if value is not None else None

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(_POSTGRES_SCHEMES):
            raise ValueError("must be a postgresql:// URL (unset: SQLite in the data folder)")
        return value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _telegram_webhook_url(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is None:
            return value
        if value.scheme != "https":
            raise ValueError("Telegram calls HTTPS URLs only")
        if value.port not in TELEGRAM_WEBHOOK_PORTS:
            raise ValueError("Telegram calls webhooks on ports 443, 80, 88 or 8443 only")
        path = value.path or "/"
        if path == "/" or path.startswith(("/api/", "/docs", "/openapi.json", "/metrics")):
            raise ValueError(
                "give the URL a path of its own, e.g. https://bot.example.com/telegram/<random>"
            )
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @property
    def google_key(self) -> SecretStr | None:
        """The Google API key to use: `GEMINI_API_KEY` wins over `GOOGLE_API_KEY`."""
        return self.gemini_api_key or self.google_api_key

    @property
    def api_tokens(self) -> tuple[str, ...]:
        """The HTTP API's bearer tokens (`STORYBOT_HTTP_TOKENS`, comma-separated)."""
        if self.http_tokens is None:
            return ()
        return tuple(
            t.strip() for t in self.http_tokens.get_secret_value().split(",") if t.strip()
        )

    @property
    def active_provider(self) -> ProviderChoice:
        """The back end `auto` resolves to: Gemini with credentials, offline without."""
        if self.provider is not ProviderChoice.AUTO:
            return self.provider
        if self.google_key is not None or self.use_vertexai:
            return ProviderChoice.GEMINI
        return ProviderChoice.OFFLINE

    @property
    def vertex_project_mode(self) -> bool:
        """Vertex AI with a project and application default credentials (not express mode)."""
        return self.use_vertexai and self.google_cloud_project is not None

    @property
    def jobs_dir(self) -> Path:
        """Where per-job work folders live."""
        return self.data_dir / "jobs"

    @property
    def database(self) -> Path:
        """The job database file (SQLite, when no `database_url` is set)."""
        return self.data_dir / "storybot.db"
