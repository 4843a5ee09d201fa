"""HTTP front end: the REST job API (`bot.http_routes`) served by uvicorn in the bot's own
event loop, on `STORYBOT_HTTP_HOST:STORYBOT_HTTP_PORT`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from types import TracebackType

import uvicorn

from bot.http_auth import is_loopback, token_id
from bot.http_routes import PLATFORM, create_app
from core.config import Settings
from core.errors import ConfigurationError
from core.service import JobService

__all__ = ["PLATFORM", "HttpApi", "create_app", "token_id"]

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without signal handlers of its own: `storybot run` owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpApi:
    """The HTTP front end of `storybot run`: `async with HttpApi(jobs, settings)` binds
    `STORYBOT_HTTP_HOST:STORYBOT_HTTP_PORT` (0: any free port, see `port`) and serves the API
    with uvicorn in the running loop until `stop()` or the end of the block."""

    def __init__(self, jobs: JobService, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(jobs, settings)
        self.port = 0
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HttpApi:
        host, tokens = self.settings.http_host, self.settings.api_tokens
        if not tokens and not is_loopback(host):
            raise ConfigurationError(
                f"the HTTP API would be open to anyone on {host}: set STORYBOT_HTTP_TOKENS, or "
                "keep STORYBOT_HTTP_HOST on a loopback address (127.0.0.1)"
            )
        if any(len(token) < 16 for token in tokens):
            raise ConfigurationError(
                "each STORYBOT_HTTP_TOKENS token needs 16 characters or more "
                '(python -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            sock = socket.create_server((host, self.settings.http_port or 0), family=family)
        except OSError as exc:
            raise ConfigurationError(
                f"the HTTP API cannot listen on {host}:{self.settings.http_port}: "
                f"{exc.strerror or exc}"
            ) from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, lifespan="off", log_config=None, ws="none", server_header=False,
            timeout_graceful_shutdown=5,
        )  # fmt: skip
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve([sock]), name="storybot-http")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise ConfigurationError("the HTTP API stopped while starting")
            await asyncio.sleep(0.01)
        log.info("HTTP API on http://%s:%d (OpenAPI docs at /docs)", host, self.port)
        if tokens:  # ids, not tokens: what STORYBOT_ADMIN_IDS takes to lift a token's limits
            log.info("HTTP API token ids: %s", ", ".join(token_id(token) for token in tokens))
        return self

    async def stop(self) -> None:
        """Stop taking requests; answers in progress get a few seconds to finish."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = self._task = None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
