"""`storybot` processes for the tests of several processes sharing one deployment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serving(env: dict[str, str], log: Path, args: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """A `storybot ARGS` process; stopped (SIGTERM, then SIGKILL) when the block ends."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", *args], env={**os.environ, **env},
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
