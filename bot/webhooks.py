"""Webhooks: when an HTTP job completes or fails, or its storyboard is ready for approval (or
expired), it is POSTed to the job's URL, signed with HMAC-SHA256, retried with back-off by the
outbox, and every attempt recorded there."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx

from bot.http_shapes import job_view
from bot.http_story_shapes import Draft, draft_of
from core.config import Settings
from core.errors import AttemptFailed, DeliveryRefused
from core.models import DeliveryAttempt, Job, JobStatus
from core.service import DeliveryPolicy, JobService

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-StoryBot-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the exact body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(
    job: Job, environment: str = "production", draft: Draft | None = None
) -> dict[str, Any]:
    """The seed's webhook body: `data` holds the result of a completed job, else `error` says
    why it failed; `environment` names the deployment that sent it.

    A preview story whose storyboard is ready (status `awaiting_approval`, sent again after
    each redraw) has `data` too: `{"job_id", "status", "storyboard": {"scenes": [{"index",
    "narration", "image_prompt", "picture_url", "redraws_left", "draws"}]}, "story": {"title",
    "scenes": [{"index", "narration"}]}}` — the same objects as the job's status — from `draft`.
    A storyboard that waited too long is `cancelled`, `error` saying so, without data."""
    completed = job.status is JobStatus.COMPLETED
    data: dict[str, Any] | None = None
    if job.status is JobStatus.AWAITING_APPROVAL and draft is not None:
        data = {
            "job_id": job.id,
            "status": job.status.value,
            "storyboard": draft.storyboard.model_dump(mode="json") if draft.storyboard else None,
            "story": draft.story.model_dump(mode="json"),
        }
    elif completed:
        view = job_view(job, job.origin.extra.get("base_url", "/"))
        metadata = view.generation_metadata
        data = {
            "job_id": job.id,
            "status": job.status.value,
            "videos": [video.model_dump(mode="json") for video in view.videos],
            "metadata": metadata.model_dump(mode="json") if metadata else None,
            "generated_at": view.completed_at.isoformat() if view.completed_at else None,
            "success": True,
            "num_videos": len(view.videos),
            "prompt": job.subject,
        }
    return {
        "job_id": job.id,
        "status": job.status.value,
        "content_type": job.kind.value,
        # When the job ended: a retry carries the same bytes and signature as the first try.
        "timestamp": (job.completed_at or job.updated_at).isoformat(),
        "has_data": data is not None,
        "data": data,
        "error": job.error,
        "environment": environment,
    }


class WebhookSender:
    """Sends the webhook of every finished HTTP job: the outbox's `webhook` consumer (register
    `send` with `JobService.deliver_with(WEBHOOK, sender.send, sender.policy)`), and of every
    storyboard ready or expired: its `webhook:storyboard` consumer (register
    `sender.storyboards(jobs)` with `deliver_with(board_consumer(WEBHOOK), …)`).

    The URL is the job's own `webhook_url` (stored in its origin at submit, so a job that ends
    at once still has it), else `default_url`; a 2xx answer ends it, anything else is tried
    again after `first_delay_s`, doubling, `attempts` times in all. Every try is recorded in
    the outbox, where the job's status shows it.
    """

    def __init__(
        self,
        *,
        default_url: str | None = None,
        secret: str | None = None,
        environment: str = "production",
        attempts: int = 5,
        first_delay_s: float = 2.0,
        timeout_s: float = 10.0,
    ) -> None:
        self.default_url, self._secret, self.environment = default_url, secret, environment
        self.policy = DeliveryPolicy(attempts, first_delay_s, doubling=True)
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookSender:
        """The sender configured by `STORYBOT_WEBHOOK_URL` and `STORYBOT_WEBHOOK_SECRET`."""
        secret = settings.webhook_secret
        return cls(
            default_url=str(settings.webhook_url) if settings.webhook_url else None,
            secret=secret.get_secret_value() if secret else None,
            environment=settings.environment,
        )

    async def __aenter__(self) -> WebhookSender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def send(self, job: Job) -> DeliveryAttempt:
        """POST the job's payload once; a non-2xx answer or a network error raises
        `AttemptFailed` (the outbox records it and tries again)."""
        return await self._post(job, payload(job, self.environment))

    def storyboards(self, jobs: JobService) -> Callable[[Job], Awaitable[DeliveryAttempt]]:
        """The handler of the storyboard consumer: like `send`, with the storyboard of a job
        waiting for approval as `jobs` has it at each try."""

        async def send_storyboard(job: Job) -> DeliveryAttempt:
            draft = None
            if job.status is JobStatus.AWAITING_APPROVAL:
                draft = await draft_of(jobs, job, job.origin.extra.get("base_url", "/"))
            return await self._post(job, payload(job, self.environment, draft))

        return send_storyboard

    async def _post(self, job: Job, content: dict[str, Any]) -> DeliveryAttempt:
        url = job.origin.extra.get("webhook_url") or self.default_url
        if url is None:  # the default URL was unset since the job ended
            raise DeliveryRefused("no webhook URL is set any more")
        body = json.dumps(content, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "StoryBot-Webhook/1"}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        at = datetime.now(UTC)
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:  # never the URL in the record: it may hold a secret
            raise AttemptFailed("the webhook failed", error=type(exc).__name__) from None
        if not 200 <= response.status_code < 300:
            raise AttemptFailed("the webhook was refused", status=response.status_code)
        return DeliveryAttempt(at, status=response.status_code)
