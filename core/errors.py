"""Error hierarchy of the core; every message here is written for the end user."""

from __future__ import annotations


class CoreError(Exception):
    """Base of every expected failure. Its message is short, plain and safe to show users."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidRequest(CoreError):
    """The user's request is malformed or out of range; safe to show."""


class ThemeRejected(InvalidRequest):
    """The theme is unfit for a children's story; safe to show."""


class UnsupportedLanguage(InvalidRequest):
    """The active provider cannot tell a story in the requested language; safe to show."""


class ProviderError(CoreError):
    """A back end (Gemini, offline, …) failed; the message never contains a secret."""


class ProviderUnavailable(ProviderError):
    """Transient: overload, 5xx, timeout or dropped connection, still failing after retries."""


class ProviderTimeout(ProviderUnavailable):
    """A call ran past its time bound; safe to show."""


class StorageUnavailable(ProviderUnavailable):
    """The bucket (STORYBOT_STORAGE_URL) could not be reached, after retries; safe to show."""


class QuotaExceeded(ProviderError):
    """The account's quota or rate limit is exhausted; safe to show."""


class ContentRejected(ProviderError):
    """A safety filter blocked the prompt or the result; safe to show."""


class ConfigurationError(ProviderError):
    """Missing or invalid credentials or settings (bad key, unknown project); safe to show."""


class CredentialsRejected(ConfigurationError):
    """The service refused the key or credentials; every call would fail; safe to show."""


class ModelNotFound(ConfigurationError):
    """A configured model name does not exist or is not visible to the key; safe to show."""


class RenderError(CoreError):
    """Video assembly failed (ffmpeg error, unreadable picture or audio); safe to show."""


class DeliveryRefused(CoreError):
    """The platform will not take the output for this chat (the user blocked the bot, it was
    removed from the group, the chat is gone): trying again cannot help. For the log."""


class DeliveryUnconfirmed(CoreError):
    """The upload may or may not have arrived (timeouts after it was sent): sending again
    could show the user a duplicate, so it is not retried. For the log."""


class JobNotFound(CoreError):
    """No job has that id; safe to show."""


class InvalidStory(ProviderError):
    """The story model's answer stayed malformed after a corrective retry; safe to show."""


class ArtifactMissing(CoreError):
    """A job's file is no longer stored (expired, or removed after the CLI exported it)."""


class NoEarlierStory(InvalidRequest):
    """A sequel was asked for where the user has no kept story to continue; safe to show."""


class CastExpired(CoreError):
    """The story a sequel would continue is known, but its cast is no longer kept."""


class LimitReached(InvalidRequest):
    """A per-user limit or the allow-list refused a job; the message says which and when.

    `retry_after_s` is when trying again may succeed, or None when waiting will not help (the
    allow-list, a limit of 0).
    """

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AttemptFailed(CoreError):
    """One delivery try failed in a way the outbox records (e.g. a webhook's HTTP status) and
    may retry."""

    def __init__(self, message: str, *, status: int | None = None, error: str | None = None):
        super().__init__(message)
        self.status, self.error = status, error


class Superseded(CoreError):
    """A newer attempt owns the job (this worker was taken for dead): stop, write nothing."""


class StoreUnavailable(CoreError):
    """The shared job database cannot be reached (for now): nothing was written; try again
    once it is back."""


class NotAwaitingApproval(CoreError):
    """A storyboard action on a job that is not waiting for approval (it renders, it ended), or
    a redraw with none left; safe to show."""


class SceneNotFound(JobNotFound):
    """A storyboard action names a scene the story does not have; safe to show."""
