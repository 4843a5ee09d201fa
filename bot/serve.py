"""`storybot run`: the composition root — settings → store → providers → runner → front ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from contextlib import AsyncExitStack

from core.config import Settings
from core.jobs import open_job_store
from core.logs import configure_logging
from core.pipeline import Pipeline, PipelineLimits
from core.providers import build_providers
from core.runner import JobRunner, RunnerLimits

log = logging.getLogger(__name__)

# Which setting turns each front end on.
FRONT_ENDS = {
    "telegram": "TELEGRAM_BOT_TOKEN", "discord": "DISCORD_BOT_TOKEN", "http": "STORYBOT_HTTP_PORT",
}  # fmt: skip


def enabled_front_ends(settings: Settings) -> list[str]:
    """The front ends whose settings are present."""
    settings_of = {
        "telegram": settings.telegram_bot_token, "discord": settings.discord_bot_token,
        "http": settings.http_port,
    }  # fmt: skip
    return [name for name, value in settings_of.items() if value is not None]


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings, for log redaction."""
    values = (
        settings.gemini_api_key, settings.google_api_key, settings.telegram_bot_token,
        settings.discord_bot_token, settings.webhook_secret,
    )  # fmt: skip
    secrets = [value.get_secret_value() for value in values if value is not None]
    return [*secrets, *settings.api_tokens]


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run the job runner and every configured front end until `stop` is set (or a signal)."""
    # python-telegram-bot 22: opt in to timedelta time values (its announced default).
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    # The chat libraries load only when serving.
    from bot.discord_adapter import DiscordAdapter
    from bot.http_api import HttpApi
    from bot.telegram_adapter import TelegramAdapter
    from bot.webhooks import WebhookSender

    configure_logging(settings.log_level, secrets_of(settings))
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    providers = build_providers(settings)
    log.info(
        "back end: %s; front ends: %s", providers.label, ", ".join(enabled_front_ends(settings))
    )
    async with AsyncExitStack() as stack:
        stack.push_async_callback(providers.aclose)
        await providers.prepare()  # every needed model exists, or start stops here
        store = await stack.enter_async_context(open_job_store(settings.database))
        # Entered before the runner, so it outlives the webhooks the runner still has running.
        webhooks = await stack.enter_async_context(WebhookSender.from_settings(store, settings))
        pipeline = Pipeline(providers, PipelineLimits.from_settings(settings))
        limits = RunnerLimits.from_settings(settings)
        resume = frozenset(FRONT_ENDS) | {"http"}
        runner = await stack.enter_async_context(
            JobRunner(store, pipeline, settings.jobs_dir, limits, resume_platforms=resume)
        )
        runner.on_finished(webhooks.job_finished)
        await webhooks.resume()
        telegram = None
        if settings.telegram_bot_token is not None:
            telegram = await stack.enter_async_context(TelegramAdapter(runner, settings))
        if settings.discord_bot_token is not None:
            await stack.enter_async_context(DiscordAdapter(runner, settings))
        http = None
        if settings.http_port is not None:
            http = await stack.enter_async_context(HttpApi(runner, settings))
        await stop.wait()
        # Graceful: take no new work, give running jobs and uploads the grace period, then
        # abandon the rest (checkpointed; they resume on the next start) and close the store.
        log.info("shutting down (grace %.0f s)", settings.shutdown_grace_s)
        if telegram is not None:
            await telegram.stop_polling()
        if http is not None:
            await http.stop()
        await runner.drain(settings.shutdown_grace_s)
    log.info("stopped; unfinished jobs resume on the next start")
