"""What machine a benchmark ran on, printed with its figures."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from bot.jetstream.embedded import nats_server_binary


def describe() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory_kib = next(
        (int(line.split()[1]) for line in _read("/proc/meminfo").splitlines() if line.startswith("MemTotal")), 0
    )
    nats_version = subprocess.run(
        [str(nats_server_binary()), "--version"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, {memory_kib / 1024 / 1024:.1f} GiB, "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}; {nats_version}"
    )


def rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, in MiB."""
    fields = dict(line.split(":", 1) for line in _read(f"/proc/{pid}/status").splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _read(path: str) -> str:
    return Path(path).read_text() if Path(path).exists() else ""
