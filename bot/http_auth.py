"""Who calls the HTTP API: a bearer token's id, or the one local caller on loopback."""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations.

import contextlib
import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from core.config import Settings
from core.errors import ConfigurationError

LOCAL_CALLER = "local"  # the one identity of every loopback caller when no token is configured


def token_id(token: str) -> str:
    """The caller id a token stands for (its jobs' user id): never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or address) is this machine only."""
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host).is_loopback
    return False


def check_exposure(settings: Settings, what: str) -> None:
    """Refuse to serve `what` on `STORYBOT_HTTP_HOST` when anyone there could call it (no
    tokens, not loopback), or with a token short enough to guess: `ConfigurationError`."""
    host, tokens = settings.http_host, settings.api_tokens
    if not tokens and not is_loopback(host):
        raise ConfigurationError(
            f"{what} would be open to anyone on {host}: set STORYBOT_HTTP_TOKENS, or "
            "keep STORYBOT_HTTP_HOST on a loopback address (127.0.0.1)"
        )
    if any(len(token) < 16 for token in tokens):
        raise ConfigurationError(
            "each STORYBOT_HTTP_TOKENS token needs 16 characters or more "
            '(python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )


def caller_dependency(settings: Settings) -> Callable[..., Awaitable[str]]:
    """Who is asking: a token's id, or `local` for loopback callers when no token is set."""
    known = [token_id(token) for token in settings.api_tokens]
    if not known:

        async def local_caller(request: Request) -> str:
            if request.client is None or not is_loopback(request.client.host):
                raise HTTPException(403, "this API serves loopback callers only (no tokens set)")
            return LOCAL_CALLER

        return local_caller

    bearer = HTTPBearer(auto_error=False, description="one of STORYBOT_HTTP_TOKENS")

    async def token_caller(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> str:
        if credentials is not None:
            given = token_id(credentials.credentials)
            for caller in known:
                if hmac.compare_digest(given, caller):
                    return caller
        raise HTTPException(401, "a valid bearer token is needed", {"WWW-Authenticate": "Bearer"})

    return token_caller
