"""The one poll-with-a-deadline helper of the local world, its tests and the benchmark.

Waiting is always "ask again until the answer is yes or the deadline passes", never a
fixed sleep; only the exception differs by caller (a SandboxError for the sandbox, an
AssertionError that fails a test, a BenchError that aborts a run), so it is a parameter.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    error: Callable[[str], BaseException] = TimeoutError,
) -> T:
    """Call probe until it returns something truthy and return that; `error` at the deadline.

    The deadline is checked after each probe, so an answer that arrives in time is never
    lost to a slow probe; the probe may raise to end the wait early (e.g. the process it
    waits for exited).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            last = "" if value is None or isinstance(value, bool) else f" (last: {value!r})"
            raise error(f"timed out after {timeout:.0f}s waiting for {what}{last}")
        time.sleep(interval)
