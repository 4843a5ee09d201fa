"""How Telegram's updates reach the bot: long polling by the one process that leads the
connection (Telegram serves one `getUpdates` consumer per token), or a webhook served on the HTTP
API's server, where any number of front ends can answer behind a load balancer.

Either way one process at a time leads "telegram" (at once with SQLite; elected through the
database with PostgreSQL): the leader polls, in polling mode, and follows the progress of jobs
nobody in this process follows yet (after a restart, or when it takes over from a leader that
died). The others answer commands (webhook mode), edit progress and deliver videos through the
Bot API like the leader."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from core.config import Settings
from core.errors import StoreUnavailable
from core.service import JobService

log = logging.getLogger(__name__)

PLATFORM = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# The update kinds the handlers take: Telegram sends no others (fewer requests to answer).
HANDLED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
_RETRY_S = 5.0  # after polling could not start (Telegram unreachable), try again this late


class TelegramIntake:
    """Starts and stops the flow of updates; `adopt` follows the jobs nobody here follows."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        jobs: JobService,
        settings: Settings,
        adopt: Callable[[], Awaitable[None]],
    ) -> None:
        self.app, self.jobs, self.adopt = app, jobs, adopt
        self.url = settings.telegram_webhook_url
        secret = settings.telegram_webhook_secret
        self._secret = secret.get_secret_value().encode() if secret is not None else b""
        self._lead: asyncio.Task[None] | None = None

    def routes(self) -> list[Route]:
        """The webhook's route for the HTTP API's server (none in polling mode)."""
        if self.url is None:
            return []
        return [Route(self.url.path or "/", self.receive, methods=["POST"])]

    async def start(self) -> None:
        """Webhook mode: tell Telegram where to send updates. Then stand for the lead."""
        if self.url is not None:
            await self.app.bot.set_webhook(
                str(self.url), secret_token=self._secret.decode(), allowed_updates=HANDLED_UPDATES
            )
            log.info("Telegram bot @%s takes updates at its webhook", self.app.bot.username)
        self._lead = asyncio.create_task(self._leading(), name="telegram-lead")

    async def stop(self) -> None:
        """Take no new updates: stop polling (confirming what was taken), give the lead up. The
        webhook stays set: other front ends may still serve it."""
        if self._lead is not None:
            self._lead.cancel()
            await asyncio.gather(self._lead, return_exceptions=True)
            self._lead = None

    async def receive(self, request: Request) -> Response:
        """The webhook: an update from Telegram, acted on once however often it arrives. The
        answer comes at once; the handlers run after it."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not self._secret or not hmac.compare_digest(given, self._secret):
            return JSONResponse({"detail": "wrong or missing secret token"}, status_code=401)
        try:
            update = Update.de_json(json.loads(await request.body()), self.app.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return JSONResponse({"detail": "the body is no Telegram update"}, status_code=400)
        try:
            first = await self.jobs.first_arrival(PLATFORM, str(update.update_id))
        except StoreUnavailable:  # no answer in time: Telegram sends it again later
            return JSONResponse({"detail": "try again later"}, status_code=503)
        if first:
            await self.app.update_queue.put(update)
        else:
            log.info("Telegram update %d arrived again; already taken", update.update_id)
        return Response(status_code=200)

    async def _leading(self) -> None:
        """Lead "telegram" whenever this process can: poll (polling mode), follow orphaned jobs;
        stand by again if the lead is lost."""
        while True:
            async with self.jobs.lead(PLATFORM) as lost:
                try:
                    if self.url is None:
                        await self._poll()
                    await self.adopt()
                    await lost.wait()
                    log.warning("Telegram: lost the lead; standing by")
                except TelegramError as exc:
                    log.error("Telegram: cannot take updates (%s); trying again", exc)
                    await asyncio.sleep(_RETRY_S)
                finally:
                    await self._stop_polling()

    async def _poll(self) -> None:
        assert self.app.updater is not None  # built with the default updater
        # Polling begins with `deleteWebhook`: a webhook left from webhook mode is removed.
        await self.app.updater.start_polling(allowed_updates=HANDLED_UPDATES)
        log.info("Telegram bot @%s is polling", self.app.bot.username)

    async def _stop_polling(self) -> None:
        """Stop polling before the lead goes: never two consumers at once."""
        updater = self.app.updater
        if updater is not None and updater.running:
            with contextlib.suppress(TelegramError):
                await updater.stop()
