"""Which passes an edit may cut short: those that have not begun a write.

A routine pass (a resync, a poll) can wait a long time for the SageMaker call budget:
behind a thousand drift looks its List or Describe is last in line, and the object's
loop holds its lock all that while. An edit that arrives then must not wait for that
look's answer, which it would throw away anyway. So a pass that has only read may
be cancelled and started again for the edit; reads are idempotent and nothing of
theirs is kept.

A pass that has begun a write may not: its status must record what was sent before
anything else is (the write-ahead rule of :mod:`ic_operator.loop.object_loop`). The SageMaker
door runs :func:`commit` before a write waits for the budget (its ``on_write``, given to it
in :mod:`ic_operator.kube.boot`), so the mark is set wherever a write comes from.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class Attempt:
    """One pass as it runs; ``committed`` once it has begun a write."""

    committed: bool = False


_CURRENT: ContextVar[Attempt | None] = ContextVar("ic_operator_pass", default=None)


def enter(attempt: Attempt) -> None:
    """Run the current task (a pass of its own) as ``attempt``: one that may be cut short
    until it commits."""
    _CURRENT.set(attempt)


def commit() -> None:
    """The running pass is about to write: from now on it runs to its end."""
    attempt = _CURRENT.get()
    if attempt is not None:
        attempt.committed = True
