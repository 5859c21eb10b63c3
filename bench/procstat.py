"""Memory and CPU of a process from /proc (Linux), parsed by pure functions."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcSample:
    wall: float  # time.monotonic() when read
    rss_kb: int  # VmRSS: resident set now
    hwm_kb: int  # VmHWM: peak resident set since start
    cpu_ticks: int  # utime + stime, in clock ticks


def parse_status(text: str) -> dict[str, int]:
    """The `kB` fields of /proc/<pid>/status (VmRSS, VmHWM, ...) as integers."""
    fields: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            fields[name.strip()] = int(parts[0])
    return fields


def parse_stat_cpu_ticks(text: str) -> int:
    """utime + stime from /proc/<pid>/stat.

    The command name (field 2) is in parentheses and may itself contain spaces or
    parentheses, so fields are counted from the last ')'.
    """
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return int(rest[11]) + int(rest[12])


def sample(pid: int) -> ProcSample:
    proc = Path("/proc") / str(pid)
    status = parse_status((proc / "status").read_text())
    ticks = parse_stat_cpu_ticks((proc / "stat").read_text())
    return ProcSample(time.monotonic(), status["VmRSS"], status["VmHWM"], ticks)


def clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def cpu_percent(first: ProcSample, last: ProcSample, ticks_per_second: int) -> float:
    """Average CPU between two samples, in percent of one core."""
    elapsed = last.wall - first.wall
    if elapsed <= 0:
        raise ValueError("samples are not in order")
    return 100.0 * (last.cpu_ticks - first.cpu_ticks) / ticks_per_second / elapsed
