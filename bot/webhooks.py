"""Webhooks: when an HTTP job completes or fails, its result is POSTed to the job's URL, signed
with HMAC-SHA256, retried with back-off, and every attempt recorded on the job."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx

from bot.http_api import PLATFORM
from bot.http_shapes import job_view
from core.config import Settings
from core.jobs import Job, JobStatus, JobStore

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-StoryBot-Signature"
_NOTIFIED = (JobStatus.COMPLETED, JobStatus.FAILED)  # a cancelled job was cancelled by its caller


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the exact body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(job: Job) -> dict[str, Any]:
    """The seed's webhook body: `data` holds the result of a completed job, else `error` says
    why it failed."""
    completed = job.status is JobStatus.COMPLETED
    data = None
    if completed:
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
        "timestamp": datetime.now(UTC).isoformat(),
        "has_data": completed,
        "data": data,
        "error": job.error,
    }


class WebhookSender:
    """Sends the webhook of every finished HTTP job: register `job_finished` with
    `runner.on_finished` (it runs in the runner's background, so retries block nothing).

    The URL is the job's own `webhook_url` (stored in its origin at submit, so a job that ends
    at once still has it), else `default_url`; a 2xx answer ends it, anything else is tried
    again after `first_delay_s`, doubling, `attempts` times in all.
    """

    def __init__(
        self,
        store: JobStore,
        *,
        default_url: str | None = None,
        secret: str | None = None,
        attempts: int = 5,
        first_delay_s: float = 2.0,
        timeout_s: float = 10.0,
    ) -> None:
        self.store, self.default_url, self._secret = store, default_url, secret
        self.attempts, self.first_delay_s = attempts, first_delay_s
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._resumed: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(cls, store: JobStore, settings: Settings) -> WebhookSender:
        """The sender configured by `STORYBOT_WEBHOOK_URL` and `STORYBOT_WEBHOOK_SECRET`."""
        secret = settings.webhook_secret
        return cls(
            store,
            default_url=str(settings.webhook_url) if settings.webhook_url else None,
            secret=secret.get_secret_value() if secret else None,
        )

    async def __aenter__(self) -> WebhookSender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for task in self._resumed:  # cut short again: the next start goes on with them
            task.cancel()
        await asyncio.gather(*self._resumed, return_exceptions=True)
        await self._client.aclose()

    async def job_finished(self, job: Job) -> None:
        """POST the job's payload until it is accepted or the attempts run out (counting those
        already recorded on the job, when a restart resumes it)."""
        url = job.origin.extra.get("webhook_url") or self.default_url
        if job.origin.platform != PLATFORM or job.status not in _NOTIFIED or not url:
            return
        body = json.dumps(payload(job), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "StoryBot-Webhook/1"}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        attempts: list[dict[str, Any]] = list(_state(job).get("attempts", []))
        while len(attempts) < self.attempts:
            if attempts:
                await asyncio.sleep(self.first_delay_s * 2 ** (len(attempts) - 1))
            record: dict[str, Any] = {"at": datetime.now(UTC).isoformat()}
            try:
                response = await self._client.post(url, content=body, headers=headers)
                record["status"] = response.status_code
            except httpx.HTTPError as exc:
                record["error"] = type(exc).__name__  # never the URL: it may hold a secret
            attempts.append(record)
            delivered = 200 <= record.get("status", 0) < 300
            await self.store.merge_metadata(
                job.id, webhook={"delivered": delivered, "attempts": attempts}
            )
            if delivered:
                return
        log.warning("job %s: webhook not accepted after %d attempts", job.id, self.attempts)

    async def resume(self) -> None:
        """At start: go on with the webhooks a shutdown cut short (not yet accepted, attempts
        left), in the background. Jobs never tried are left alone, so that setting a default
        URL later does not notify every old job."""
        for job in await self.store.with_status(*_NOTIFIED):
            state = _state(job)
            if job.origin.platform == PLATFORM and state and not state.get("delivered"):
                task = asyncio.create_task(self.job_finished(job))
                self._resumed.add(task)
                task.add_done_callback(self._resumed.discard)


def _state(job: Job) -> dict[str, Any]:
    state = job.metadata.get("webhook")
    return state if isinstance(state, dict) else {}
