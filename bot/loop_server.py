"""An ASGI app served by uvicorn inside the bot's own event loop: the HTTP API, and the metrics
of a process without it. `storybot` owns SIGINT and SIGTERM, so uvicorn installs no handlers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn

from core.errors import ConfigurationError


class _Server(uvicorn.Server):
    """uvicorn without signal handlers of its own."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class LoopServer:
    """Binds a port (0: any free one), then serves `app` until `stop()`."""

    def __init__(self, app: Any, *, name: str, access_log: bool = True) -> None:
        self.app, self.name, self.access_log = app, name, access_log
        self.port = 0
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int, setting: str) -> int:
        """Listen on `host:port` and serve; the port bound. A port that cannot be bound is a
        `ConfigurationError` naming `setting`."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            sock = socket.create_server((host, port), family=family)
        except OSError as exc:
            raise ConfigurationError(
                f"{self.name} cannot listen on {host}:{port} ({setting}): {exc.strerror or exc}"
            ) from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, lifespan="off", log_config=None, ws="none", server_header=False,
            access_log=self.access_log, timeout_graceful_shutdown=5,
        )  # fmt: skip
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve([sock]), name=self.name)
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise ConfigurationError(f"{self.name} stopped while starting")
            await asyncio.sleep(0.01)
        return self.port

    async def stop(self) -> None:
        """Stop taking requests; answers in progress get a few seconds to finish."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = self._task = None
