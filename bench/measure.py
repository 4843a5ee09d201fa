"""Shared by the benches: wall time and peak memory of a whole process tree, from /proc."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (ffmpeg children included)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def watch_peak(pid: int, stop: threading.Event, interval_s: float = 0.02) -> list[float]:
    """Sample a tree's memory in a thread until `stop`; the list's one item is the peak."""
    peak = [0.0]

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss_mb(pid))
            time.sleep(interval_s)

    threading.Thread(target=sample, daemon=True).start()
    return peak


def run_measured(command: list[str]) -> tuple[float, float]:
    """Run a command to the end; its wall time (s) and its tree's peak memory (MB)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    stop = threading.Event()
    peak = watch_peak(process.pid, stop)
    if process.wait() != 0:
        raise SystemExit(f"{command} failed with exit code {process.returncode}")
    stop.set()
    return time.perf_counter() - started, peak[0]
