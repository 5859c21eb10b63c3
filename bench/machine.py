"""What the figures were measured on: they mean little without it."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def parse_meminfo_total_kb(text: str) -> int:
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    raise ValueError("no MemTotal in meminfo")


def parse_cpu_model(text: str) -> str:
    """The first `model name` of /proc/cpuinfo (x86), else the first `Model`/`CPU part`."""
    for key in ("model name", "Model", "CPU part"):
        for line in text.splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key and value.strip():
                return value.strip()
    return platform.processor() or "unknown"


def describe(kube_apiserver_version: str) -> dict[str, str | int | float]:
    return {
        "cores": os.cpu_count() or 0,
        "ram_gib": round(parse_meminfo_total_kb(Path("/proc/meminfo").read_text()) / 2**20, 1),
        "cpu_model": parse_cpu_model(Path("/proc/cpuinfo").read_text()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "kube_apiserver": kube_apiserver_version,
    }
