"""Scripted faults of the fake Gemini (`FakeGemini.script(kind, *faults)`), and its error bodies.

`script(kind, *faults)` queues one-shot faults per kind; `Persistent(fault)` stays at the
head of its queue. `HttpError` answers the call of its kind at once (on "video"/"interaction":
the start; on "poll"/"interaction_poll": one poll). `latency[kind]` delays successful (HTTP 200)
answers. `PromptBlocked`, `ResponseBlocked`, `Malformed`, `NoImage`, `UnknownSpeaker` shape
generateContent answers; `RaiFiltered` shapes an Imagen answer. On "video" and "interaction"
these apply when the operation finishes: `OperationError` (Veo: `"error": {"code",
"message"}`; interaction: status "failed", a `model_output` step with `error` and top-level
`errors`), `VideoFiltered` (Veo: no videos, `raiMediaFilteredCount`/`Reasons`; interaction:
status "incomplete" with `errors` code "SAFETY", no video; shape unverified) and `NeverDone`
(never finishes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

_RPC = "type.googleapis.com/google.rpc"


@dataclass(frozen=True)
class HttpError:
    """A non-200 answer with the real `{"error": {...}}` body."""

    status: int
    status_text: str
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.status,
            "message": self.message,
            "status": self.status_text,
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}

    @classmethod
    def bad_key(cls, service: str = "generativelanguage.googleapis.com") -> HttpError:
        """The wrong API key (Vertex express mode: `service="aiplatform.googleapis.com"`)."""
        message = "API key not valid. Please pass a valid API key."
        return cls(400, "INVALID_ARGUMENT", message, [
            {"@type": f"{_RPC}.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com", "metadata": {"service": service}},
            {"@type": f"{_RPC}.LocalizedMessage", "locale": "en-US",
             "message": message},
        ])  # fmt: skip

    @classmethod
    def unauthenticated(
        cls, *, missing: bool = False, method: str = "PredictionService.GenerateContent"
    ) -> HttpError:
        """Vertex AI without (`missing`) or with a wrong OAuth bearer token."""
        start = (
            "Request is missing required authentication credential."
            if missing
            else "Request had invalid authentication credentials."
        )
        message = (
            f"{start} Expected OAuth 2 access token, login cookie or other valid authentication "
            "credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
        )
        reason = "CREDENTIALS_MISSING" if missing else "ACCESS_TOKEN_TYPE_UNSUPPORTED"
        return cls(401, "UNAUTHENTICATED", message, [
            {"@type": f"{_RPC}.ErrorInfo", "reason": reason, "domain": "googleapis.com",
             "metadata": {"service": "aiplatform.googleapis.com",
                          "method": f"google.cloud.aiplatform.v1beta1.{method}"}},
        ])  # fmt: skip

    @classmethod
    def invalid_argument(cls, message: str = "Request contains an invalid argument.") -> HttpError:
        return cls(400, "INVALID_ARGUMENT", message)

    @classmethod
    def not_found(
        cls, model: str = "gemini-0-nope", version: str = "v1beta", method: str = "generateContent"
    ) -> HttpError:
        return cls(
            404,
            "NOT_FOUND",
            f"models/{model} is not found for API version {version}, "
            f"or is not supported for {method}. Call ListModels to see the list "
            "of available models and their supported methods.",
        )

    @classmethod
    def publisher_not_found(cls, model: str, scope: str = "") -> HttpError:
        """Vertex AI's 404 for an unknown model; `scope` is `projects/{p}/locations/{l}/`."""
        return cls(
            404,
            "NOT_FOUND",
            f"Publisher model `{scope}publishers/google/models/{model}` was not found or your "
            "project does not have access to it. Please ensure you are using a valid model "
            "version. For more information, see: "
            "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions",
        )

    @classmethod
    def no_video(cls, model: str) -> HttpError:
        """A video request to a model that cannot make video (wording unverified)."""
        return cls.invalid_argument(f"Model {model} does not support video output.")

    @classmethod
    def quota(cls, retry_delay: str = "2s", model: str = "gemini-2.5-flash") -> HttpError:
        violation = {"quotaMetric": "generativelanguage.googleapis.com/generate_content_"
                     "free_tier_requests", "quotaValue": "10",
                     "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                     "quotaDimensions": {"location": "global", "model": model}}  # fmt: skip
        quota_failure = {"@type": f"{_RPC}.QuotaFailure", "violations": [violation]}
        retry_info = {"@type": f"{_RPC}.RetryInfo", "retryDelay": retry_delay}
        message = (
            "You exceeded your current quota, please check your plan and billing details. For "
            "more information on this error, head to: "
            "https://ai.google.dev/gemini-api/docs/rate-limits."
        )
        return cls(429, "RESOURCE_EXHAUSTED", message, [quota_failure, retry_info])

    @classmethod
    def internal(cls) -> HttpError:
        return cls(
            500,
            "INTERNAL",
            "An internal error has occurred. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting",
        )

    @classmethod
    def overloaded(cls) -> HttpError:
        return cls(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")


@dataclass(frozen=True)
class PromptBlocked:
    """HTTP 200 with `promptFeedback.blockReason` and no candidates."""

    reason: str = "PROHIBITED_CONTENT"


@dataclass(frozen=True)
class ResponseBlocked:
    """HTTP 200 with one candidate that has a `finishReason` and safety ratings but no content."""

    finish_reason: str = "SAFETY"  # also IMAGE_SAFETY, PROHIBITED_CONTENT, RECITATION, ...
    category: str = "HARM_CATEGORY_DANGEROUS_CONTENT"


@dataclass(frozen=True)
class Malformed:
    """HTTP 200 whose only part is this text (for story calls: broken or off-schema JSON)."""

    text: str = '{"title": "Whiskers and Buster", "scenes": [{"narration": '


@dataclass(frozen=True)
class UnknownSpeaker:
    """A cast story (one whose schema asks for lines) whose first scene has a line said by
    `speaker`, who is not one of its characters."""

    speaker: str = "Owl"


@dataclass(frozen=True)
class NoImage:
    """HTTP 200, finishReason STOP, a text part only (the image model declined to draw)."""

    text: str = "I can't create that image, but here is a description of the scene instead."


@dataclass(frozen=True)
class Delay:
    """A normal success after `seconds` of extra latency."""

    seconds: float


@dataclass(frozen=True)
class Hang:
    """No answer until `seconds` pass or the server closes (then 503): for client timeouts."""

    seconds: float = 3600.0


@dataclass(frozen=True)
class RaiFiltered:
    """Imagen: `count` samples (None: all) filtered by Responsible AI.

    With `includeRaiReason` the answer carries one `{"raiFilteredReason": reason}` prediction
    after the images that passed; without it the filtered ones are just missing, and when none
    is left the body is `{}` (the SDK's `generated_images` is then None).
    """

    reason: str = (
        "The prompt could not be submitted. This prompt contains sensitive words that violate "
        "Google's Responsible AI practices. Try rephrasing the prompt. If you think this was an "
        "error, send feedback. Support codes: 17301594"
    )
    count: int | None = None


@dataclass(frozen=True)
class OperationError:
    """A video operation that finishes with `error` (Veo) or status "failed" (interaction)."""

    code: int = 3  # google.rpc.Code INVALID_ARGUMENT
    message: str = (
        "Veo could not generate videos because the input image violates Vertex AI's usage "
        "guidelines. If you think this was an error, send feedback. Support codes: 15236754"
    )


@dataclass(frozen=True)
class VideoFiltered:
    """A video operation that finishes with `count` samples filtered (none left by default)."""

    count: int = 1
    reasons: tuple[str, ...] | list[str] = (
        "Veo could not generate videos because the prompt or input image violates Vertex AI's "
        "usage guidelines. Support codes: 58061214",
    )


@dataclass(frozen=True)
class NeverDone:
    """A video operation that stays running forever (for client-side deadlines)."""


@dataclass(frozen=True)
class Persistent:
    """`fault` on every call of its kind from now on (until `FakeGemini.reset`)."""

    fault: Fault


Fault: TypeAlias = (
    HttpError
    | PromptBlocked
    | ResponseBlocked
    | Malformed
    | UnknownSpeaker
    | NoImage
    | Delay
    | Hang
    | Persistent
    | RaiFiltered
    | OperationError
    | VideoFiltered
    | NeverDone
)
