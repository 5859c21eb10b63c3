"""When the steady window may begin: after a whole resync interval in which the operator
wrote nothing, neither to SageMaker nor to Kubernetes.

The window measures idling. Anything an earlier phase set going (the sweep phase's
thousands of out-of-band changes, each looked at on its component's next resync, each
look a Describe and a status write) must be over first, and "over" cannot be judged by
a few quiet seconds: at 10,000 components and the default resync the aftermath came in
bursts separated by longer gaps than that, so a window started 14 s after the last
status write still held 1,895 Describes and 1,900 status writes (issue 22). A whole
resync interval with no write is the test: every component's timer has fired once in
it, so whatever a resync would still do it would have done.

The wait is bounded: an operator that never stops writing is a finding, reported as
``settled: false`` with the window measured anyway.

Pure: the clock, the sleep and what counts the writes are passed in, so it is
unit-tested (bench/tests) without a world.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Writes:
    """What the operator has written so far: the two counters the wait watches."""

    status: float  # its status writes (ic_operator_status_writes_total, all results)
    sagemaker: int  # SageMaker (and autoscaling) writes in the emulator's call log


@dataclass
class QuietWait:
    """Quiet for ``need`` seconds (one resync interval), given up after ``bound``."""

    need: float
    bound: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    interval: float = 1.0
    started: float = field(init=False, default=0.0)
    last: Writes | None = field(init=False, default=None)
    last_status_write: float | None = field(init=False, default=None)
    last_sagemaker_write: float | None = field(init=False, default=None)
    status_writes: float = field(init=False, default=0.0)
    sagemaker_writes: int = field(init=False, default=0)
    unreadable: int = field(init=False, default=0)

    def run(self, probe: Callable[[], Writes | None]) -> dict[str, Any]:
        """Poll ``probe`` until nothing was written for ``need`` s or ``bound`` s have
        passed; the report the bench puts in its JSON (seconds from the wait's start).
        ``probe`` returns None when it could not read the counters (an operator too
        busy to answer /metrics in time): that counts as a write, since quiet cannot
        be claimed without seeing it."""
        self.started = self.clock()
        while (first := probe()) is None:
            self.unreadable += 1
            if self.clock() - self.started >= self.bound:
                return self.report(settled=False, now=self.clock())
            self.sleep(self.interval)
        self.last = first
        while True:
            now = self.clock()
            quiet_since = max(
                self.started, self.last_status_write or 0.0, self.last_sagemaker_write or 0.0
            )
            if now - quiet_since >= self.need:
                return self.report(settled=True, now=now)
            if now - self.started >= self.bound:
                return self.report(settled=False, now=now)
            self.sleep(min(self.interval, max(0.0, quiet_since + self.need - now)))
            self.see(probe(), self.clock())

    def see(self, writes: Writes | None, now: float) -> None:
        assert self.last is not None
        if writes is None:
            self.unreadable += 1
            self.last_status_write = now
            return
        if writes.status != self.last.status:
            self.status_writes += max(0.0, writes.status - self.last.status)
            self.last_status_write = now
        if writes.sagemaker != self.last.sagemaker:
            self.sagemaker_writes += max(0, writes.sagemaker - self.last.sagemaker)
            self.last_sagemaker_write = now
        self.last = writes

    def report(self, *, settled: bool, now: float) -> dict[str, Any]:
        def since_start(at: float | None) -> float | None:
            return None if at is None else at - self.started

        return {
            "settled": settled,
            "quiet_required_seconds": self.need,
            "bound_seconds": self.bound,
            "waited_seconds": now - self.started,
            "last_status_write_seconds": since_start(self.last_status_write),
            "last_sagemaker_write_seconds": since_start(self.last_sagemaker_write),
            "status_writes": self.status_writes,
            "sagemaker_writes": self.sagemaker_writes,
            "unreadable": self.unreadable,
        }


def describe(report: Mapping[str, Any]) -> str:
    """One line for the bench's progress output."""
    if report.get("settled"):
        head = (
            f"quiet for a whole resync ({report['quiet_required_seconds']:g} s) after "
            f"{report['waited_seconds']:.0f} s"
        )
    else:
        head = (
            f"NOT SETTLED: still writing after {report['waited_seconds']:.0f} s "
            f"(bound {report['bound_seconds']:g} s); the window is not a steady state"
        )
    return (
        f"{head}; {report['status_writes']:g} status writes and "
        f"{report['sagemaker_writes']} SageMaker writes while waiting"
    )
