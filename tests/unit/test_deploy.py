"""The deployment files: docker-compose.yml cannot be run here (no Docker daemon in CI), so its
services are checked against the CLI they start and the settings they rely on."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.cli import _parser
from core.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = yaml.safe_load(
        (ROOT / "docker-compose.yml").read_text()
    )["services"]
    return services


def test_every_service_command_is_a_storybot_command() -> None:
    """Each StoryBot service's command parses as `storybot` arguments (the image's entry
    point), and the roles are all there: migrate, front ends without a worker, workers."""
    commands = {
        name: service["command"] for name, service in compose().items() if "command" in service
    }
    assert commands == {
        "migrate": ["migrate"], "frontend": ["run", "--no-worker"], "worker": ["worker"],
    }  # fmt: skip
    for command in commands.values():
        assert isinstance(command, list)
        _parser().parse_args([str(part) for part in command])  # exits on an unknown command


def test_every_storybot_service_shares_the_database_and_the_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Front end and workers see one database and one jobs folder; the settings they are
    given are valid StoryBot settings."""
    services = compose()
    for name in ("migrate", "frontend", "worker"):
        environment = services[name]["environment"]
        assert isinstance(environment, dict)
        assert environment["STORYBOT_DATABASE_URL"].startswith("postgresql://")
        assert environment["STORYBOT_DATA_DIR"] == "/data"
        assert services[name]["volumes"] == ["jobs:/data"]
        for variable, value in environment.items():
            monkeypatch.setenv(variable, str(value))
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert "db" in services
