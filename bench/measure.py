"""Shared by the benches: wall time, CPU time and peak memory of a whole process tree."""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Measured:
    """One command's run: wall seconds, CPU seconds of its whole tree, peak memory (MB)."""

    wall_s: float
    cpu_s: float
    peak_mb: float


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for descendants included
    return usage.ru_utime + usage.ru_stime


def run_measured(command: list[str]) -> Measured:
    """Run a command to the end and measure it (start-up included)."""
    cpu, started = _children_cpu_s(), time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    stop = threading.Event()
    peak = watch_peak(process.pid, stop)
    if process.wait() != 0:
        raise SystemExit(f"{command} failed with exit code {process.returncode}")
    stop.set()
    return Measured(time.perf_counter() - started, _children_cpu_s() - cpu, peak[0])
