"""Retries for provider calls: exponential back-off with jitter inside a time budget."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from core.errors import ProviderTimeout, ProviderUnavailable, QuotaExceeded
from core.progress import report_waiting

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long and how often to retry one call."""

    budget_s: float = 180.0  # all attempts of one call, waits included
    attempt_timeout_s: float = 120.0
    initial_delay_s: float = 1.0
    max_delay_s: float = 30.0
    jitter_s: float = 1.0


class Retryable(Exception):
    """Raised by a call's classifier: worth another try, after `delay_s` if the server said so.

    `error` is what the caller gets if no try is left; `reason` is a word or two for users.
    """

    def __init__(
        self, error: ProviderUnavailable | QuotaExceeded, delay_s: float | None, reason: str
    ) -> None:
        super().__init__(reason)
        self.error, self.delay_s, self.reason = error, delay_s, reason


async def with_retries(
    call: Callable[[], Awaitable[T]], *, provider: str, policy: RetryPolicy
) -> T:
    """Run `call` until it succeeds, raises a non-retryable error, or the budget is spent.

    `call` raises `Retryable` for transient failures. A server-requested delay (a 429's
    `retryDelay`) is honoured exactly, never shortened; while waiting, the current job is told
    (`ProviderWaiting`) so users see why nothing moves.
    """
    deadline = time.monotonic() + policy.budget_s
    attempt = 0
    failure: Retryable | None = None
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        try:
            async with asyncio.timeout(min(policy.attempt_timeout_s, max(remaining, 0.001))):
                return await call()
        except TimeoutError:
            if failure is not None and remaining < policy.attempt_timeout_s:
                # Cut short by the budget, not slow: the reason to tell is the last failure's.
                log.warning(
                    "%s: giving up after %d attempts (%s)", provider, attempt, failure.reason
                )
                raise failure.error from None
            failure = Retryable(
                ProviderTimeout(f"{provider} did not answer in time"), None, "slow"
            )
        except Retryable as exc:
            failure = exc
        backoff = min(policy.max_delay_s, policy.initial_delay_s * 2 ** (attempt - 1))
        delay = (
            failure.delay_s
            if failure.delay_s is not None
            else backoff + random.uniform(0, policy.jitter_s)
        )
        if time.monotonic() + delay >= deadline:
            log.warning("%s: giving up after %d attempts (%s)", provider, attempt, failure.reason)
            raise failure.error from None
        log.info(
            "%s: attempt %d failed (%s); retrying in %.1f s",
            provider,
            attempt,
            failure.reason,
            delay,
        )
        await report_waiting(provider, delay, failure.reason)
        await asyncio.sleep(delay)
