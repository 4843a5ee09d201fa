"""`storybot run`: the composition root — the core (`core.bootstrap`) and the front ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from contextlib import AsyncExitStack
from urllib.parse import urlsplit

from core.bootstrap import open_storybot
from core.config import Settings
from core.errors import ConfigurationError
from core.logs import configure_logging
from core.models import WEBHOOK
from core.storyboard import board_consumer

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


def check_front_ends(settings: Settings) -> None:
    """Settings that only make sense together; `ConfigurationError` (one line) otherwise."""
    webhook, secret = settings.telegram_webhook_url, settings.telegram_webhook_secret
    if (webhook is None) != (secret is None):
        raise ConfigurationError(
            "Telegram's webhook needs both STORYBOT_TELEGRAM_WEBHOOK_URL and "
            "STORYBOT_TELEGRAM_WEBHOOK_SECRET (unset both to poll)"
        )
    if webhook is not None and settings.http_port is None:
        raise ConfigurationError(
            "STORYBOT_TELEGRAM_WEBHOOK_URL is served by the HTTP API's server: set "
            "STORYBOT_HTTP_PORT (and route the URL's path to it)"
        )
    if webhook is not None and settings.telegram_bot_token is None:
        raise ConfigurationError(
            "STORYBOT_TELEGRAM_WEBHOOK_URL is set but TELEGRAM_BOT_TOKEN is not"
        )


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings, for log redaction."""
    values = (
        settings.gemini_api_key, settings.google_api_key, settings.telegram_bot_token,
        settings.discord_bot_token, settings.webhook_secret, settings.telegram_webhook_secret,
        settings.aws_secret_access_key, settings.aws_session_token,
    )  # fmt: skip
    secrets = [value.get_secret_value() for value in values if value is not None]
    if settings.database_url is not None:  # its password, wherever the URL shows up
        password = urlsplit(settings.database_url.get_secret_value()).password
        secrets += [password] if password else []
    return [*secrets, *settings.api_tokens]


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    work: bool = True,
    front_ends: bool = True,
) -> None:
    """Run the core and every configured front end until `stop` is set (or a signal).
    `work=False`: front ends only (workers elsewhere); `front_ends=False`: a worker only."""
    # python-telegram-bot 22: opt in to timedelta time values (its announced default).
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    # The chat libraries load only when serving.
    from bot.discord_adapter import DiscordAdapter
    from bot.http_api import HttpApi
    from bot.metrics_server import serve_metrics
    from bot.telegram_adapter import TelegramAdapter
    from bot.webhooks import WebhookSender

    configure_logging(settings.log_level, secrets_of(settings))
    if front_ends:
        check_front_ends(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        # Entered first, so it outlives the webhooks the outbox still has running.
        webhooks = await stack.enter_async_context(WebhookSender.from_settings(settings))
        # Every needed model exists, or start stops here (`ConfigurationError`).
        storybot = await stack.enter_async_context(
            open_storybot(settings, work=work, resume_platforms=frozenset(FRONT_ENDS) | {"http"})
        )
        jobs = storybot.service
        await stack.enter_async_context(serve_metrics(jobs, settings))  # STORYBOT_METRICS_PORT
        serving = ", ".join(enabled_front_ends(settings)) if front_ends else "none (a worker)"
        log.info("back end: %s; front ends: %s", jobs.capabilities.backend, serving)
        telegram = http = None
        if front_ends:
            jobs.deliver_with(WEBHOOK, webhooks.send, webhooks.policy)
            # A storyboard ready for approval (or expired) fires the job's webhook too.
            jobs.deliver_with(board_consumer(WEBHOOK), webhooks.storyboards(jobs), webhooks.policy)
            if settings.telegram_bot_token is not None:
                telegram = TelegramAdapter(jobs, settings)
            if settings.http_port is not None:  # before Telegram is told of a webhook on it
                routes = telegram.intake.routes() if telegram is not None else []
                http = await stack.enter_async_context(HttpApi(jobs, settings, routes))
            if telegram is not None:
                await stack.enter_async_context(telegram)
            if settings.discord_bot_token is not None:
                await stack.enter_async_context(DiscordAdapter(jobs, settings))
        await stop.wait()
        # Graceful: take no new work, give running jobs and uploads the grace period, then
        # abandon the rest (checkpointed; they resume on the next start) and close the store.
        log.info("shutting down (grace %.0f s)", settings.shutdown_grace_s)
        if telegram is not None:
            await telegram.stop_polling()
        if http is not None:
            await http.stop()
        await storybot.drain(settings.shutdown_grace_s)
    log.info("stopped; unfinished jobs resume on the next start")
