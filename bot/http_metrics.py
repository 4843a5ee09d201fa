"""`GET /metrics`: this process's metrics in Prometheus's text format, on the HTTP API's server
and on the metrics server of a process without one (`bot.metrics_server`)."""

# No `from __future__ import annotations`: FastAPI reads the route's annotations.

from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST

from core.service import JobService


def add_metrics_route(app: FastAPI, jobs: JobService, who: Callable[..., Awaitable[str]]) -> None:
    """Serve `jobs`' metrics at `/metrics` to the callers `who` lets in (a token, or loopback
    without tokens). Left out of the OpenAPI document: it is for scrapers, not API clients."""

    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(who)])
    async def metrics() -> Response:
        """Every `storybot_` metric of this process (the queue depth read now)."""
        return Response(await jobs.metrics_text(), media_type=CONTENT_TYPE_LATEST)
