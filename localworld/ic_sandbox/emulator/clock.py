"""Simulated durations on a scalable clock.

Every duration the emulator simulates is in "service seconds" and multiplied by the
time scale before the event loop waits for it, so a 10-minute rollout takes 6 seconds at
0.01. Timestamps shown to clients stay wall-clock epoch seconds, because clients compare
them with their own clocks (CreationTimeAfter filters, logs).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Durations:
    """Default durations in service seconds (inf: chosen to resemble observed minutes)."""

    endpoint_create: float = 240.0
    endpoint_update: float = 300.0
    endpoint_delete: float = 60.0
    component_create: float = 120.0
    batch_provision: float = 60.0
    copy_terminate: float = 10.0
    component_delete: float = 30.0


class Clock:
    def __init__(self, time_scale: float) -> None:
        if time_scale <= 0:
            raise ValueError("time scale must be positive")
        self.time_scale = time_scale

    @staticmethod
    def now() -> float:
        return time.time()

    def real(self, service_seconds: float) -> float:
        return service_seconds * self.time_scale

    async def sleep(self, service_seconds: float) -> None:
        await asyncio.sleep(self.real(service_seconds))


def epoch(value: Any) -> float:
    """A request timestamp as epoch seconds: botocore sends numbers, a hand-written JSON body
    (or an at() schedule) may carry ISO-8601 text."""
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
