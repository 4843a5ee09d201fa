"""The metrics of a process without the HTTP API (`storybot worker`): `GET /metrics` on
`STORYBOT_HTTP_HOST:STORYBOT_METRICS_PORT`, protected as the API is (tokens, or loopback)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from bot.http_auth import caller_dependency, check_exposure
from bot.http_guards import install_error_handlers
from bot.http_metrics import add_metrics_route
from bot.loop_server import LoopServer
from core.config import Settings
from core.service import JobService

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def serve_metrics(jobs: JobService, settings: Settings) -> AsyncIterator[int | None]:
    """`async with serve_metrics(jobs, settings) as port:` the metrics server on
    `STORYBOT_METRICS_PORT` (0: any free port) for the block; nothing when it is unset. A port
    in use, or a host open to anyone without tokens, is a `ConfigurationError`."""
    if settings.metrics_port is None:
        yield None
        return
    check_exposure(settings, "the metrics")
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    install_error_handlers(app)  # 401 and 403 as the API's JSON errors
    add_metrics_route(app, jobs, caller_dependency(settings))
    server = LoopServer(app, name="the metrics server", access_log=False)
    host = settings.http_host
    port = await server.start(host, settings.metrics_port, "STORYBOT_METRICS_PORT")
    log.info("metrics on http://%s:%d/metrics", host, port)
    try:
        yield port
    finally:
        await server.stop()
