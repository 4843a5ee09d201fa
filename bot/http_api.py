"""HTTP front end: the REST job API (`bot.http_routes`) served by uvicorn in the bot's own
event loop, on `STORYBOT_HTTP_HOST:STORYBOT_HTTP_PORT`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType

from starlette.routing import BaseRoute

from bot.http_auth import check_exposure, token_id
from bot.http_routes import PLATFORM, create_app
from bot.loop_server import LoopServer
from core.config import Settings
from core.service import JobService

__all__ = ["PLATFORM", "HttpApi", "create_app", "token_id"]

log = logging.getLogger(__name__)


class HttpApi:
    """The HTTP front end of `storybot run`: `async with HttpApi(jobs, settings)` binds
    `STORYBOT_HTTP_HOST:STORYBOT_HTTP_PORT` (0: any free port, see `port`) and serves the API
    with uvicorn in the running loop until `stop()` or the end of the block. `routes` are other
    front ends' endpoints on the same server (Telegram's webhook), which check their callers
    themselves, outside the API's tokens."""

    def __init__(
        self, jobs: JobService, settings: Settings, routes: Sequence[BaseRoute] = ()
    ) -> None:
        self.settings = settings
        self.app = create_app(jobs, settings)
        self.app.router.routes.extend(routes)
        self._server = LoopServer(self.app, name="the HTTP API")

    @property
    def port(self) -> int:
        """The port bound (the one asked for, or the free one found for 0)."""
        return self._server.port

    async def __aenter__(self) -> HttpApi:
        host, tokens = self.settings.http_host, self.settings.api_tokens
        check_exposure(self.settings, "the HTTP API")
        await self._server.start(host, self.settings.http_port or 0, "STORYBOT_HTTP_PORT")
        log.info("HTTP API on http://%s:%d (OpenAPI docs at /docs)", host, self.port)
        if tokens:  # ids, not tokens: what STORYBOT_ADMIN_IDS takes to lift a token's limits
            log.info("HTTP API token ids: %s", ", ".join(token_id(token) for token in tokens))
        return self

    async def stop(self) -> None:
        """Stop taking requests; answers in progress get a few seconds to finish."""
        await self._server.stop()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
