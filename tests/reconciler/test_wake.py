"""The next wake is decided once: the loop's sleep and status.decision.notBefore agree.

For every kind of plan, what the running process sleeps is what it records, and a
process restarted from the written status (no memory at all) waits until the same
moment: woken a second early it answers NotDue and sleeps that second.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ic_operator.aws.errors import ErrorKind, SageMakerError
from ic_operator.reconcile.passes import Reconciler
from ic_operator.reconcile.types import PassResult, Trigger
from tests.reconciler.harness import Rig, run
from tests.reconciler.test_loop import set_image

pytestmark = pytest.mark.filterwarnings("error")

# Wakes a restarted process waits out (Resync and Idle: a restart looks at once).
TIMED = {"Poll", "Confirm", "Backoff", "Verify"}


async def _checked(w: Rig, result: PassResult, at: float, seen: set[tuple[str, str]]) -> None:
    """The written status says when the running process wakes next, and a restarted
    process that reads it wakes then too."""
    if result.status is None:
        return  # nothing written: the last written decision stands
    decision = w.status["decision"]
    seen.add((result.outcome, decision["next"]))
    if result.sleep is None:
        assert decision["next"] == "Idle"
        assert decision.get("notBefore") is None
        return
    assert decision["notBefore"] == pytest.approx(at + result.sleep), (result.outcome, decision)
    if decision["next"] not in TIMED or result.sleep <= 1:
        return
    restarted = Reconciler(
        w.sm, w.settings, strategy=w.strategy, clock=lambda: at + result.sleep - 1
    )
    calls = len(w.sm.calls)
    early = await restarted.reconcile(copy.deepcopy(w.kube.body), Trigger.START)
    assert (early.outcome, early.status) == ("NotDue", None)
    assert early.sleep == pytest.approx(1.0)
    assert len(w.sm.calls) == calls  # it did not even look


class Watched:
    """Steps the rig and checks every written status."""

    def __init__(self, w: Rig) -> None:
        self.w = w
        self.seen: set[tuple[str, str]] = set()

    async def step(self, trigger: Trigger = Trigger.POLL) -> PassResult:
        at = self.w.clock()
        result = await self.w.step(trigger)
        await _checked(self.w, result, at, self.seen)
        return result

    async def until(self, done: Any, passes: int = 20) -> None:
        for _ in range(passes):
            if done():
                return
            await self.step()
        raise AssertionError(f"not done after {passes} passes: {self.w.status}")

    async def finalize(self) -> PassResult:
        at = self.w.clock()
        result = await self.w.finalize()
        if result.status is not None and result.sleep is not None:
            decision = result.status.decision
            assert decision is not None and decision.not_before == pytest.approx(at + result.sleep)
            self.seen.add((result.outcome, decision.next))
        return result


def test_every_kind_of_plan_records_the_wake_the_loop_sleeps() -> None:
    async def scenario() -> None:
        w = Rig()
        watched = Watched(w)
        await watched.step(Trigger.START)  # Create
        w.sm.settle("llm")
        await watched.until(w.settled)  # Ready from the listing (Verify), then NoOp
        set_image(w, "v2")
        await watched.step(Trigger.CHANGE)  # Update
        w.sm.settle("llm")
        await watched.until(w.ready)
        w.kube.edit({"runtimeConfig": {"copyCount": 6}})
        await watched.step(Trigger.CHANGE)  # UpdateRuntimeConfig
        w.sm.settle("llm")
        await watched.until(w.settled)
        w.kube.edit({"tags": {"team": "search", "cost": "7"}})
        await watched.step(Trigger.CHANGE)  # Tag
        w.sm.lag_reads = 2
        set_image(w, "v3")
        await watched.step(Trigger.CHANGE)
        await watched.step()  # the reading predates the Update: Confirming
        w.sm.lag_reads = 0
        w.sm.settle("llm")
        await watched.until(w.settled)
        w.sm.fail["UpdateInferenceComponent"] = SageMakerError(
            "UpdateInferenceComponent", ErrorKind.RETRYABLE, "ThrottlingException", "slow down"
        )
        set_image(w, "v4")
        await watched.step(Trigger.CHANGE)  # Backoff
        w.sm.fail["UpdateInferenceComponent"] = SageMakerError(
            "UpdateInferenceComponent", ErrorKind.BUSY, "ValidationException", "in-progress"
        )
        await watched.step()  # Waiting
        await watched.step()  # Update
        w.sm.settle("llm")
        await watched.until(w.ready)
        w.kube.edit({"endpointName": "UPPER_case not allowed"})
        await watched.step(Trigger.CHANGE)  # Blocked (InvalidSpec), Idle
        w.kube.edit({"endpointName": "llm-endpoint"})
        await watched.finalize()  # Delete
        assert {
            ("Create", "Poll"),
            ("NoOp", "Verify"),
            ("NoOp", "Resync"),
            ("Update", "Poll"),
            ("UpdateRuntimeConfig", "Poll"),
            ("Tag", "Resync"),
            ("Wait", "Confirm"),
            ("Wait", "Backoff"),
            ("Wait", "Poll"),
            ("InvalidSpec", "Idle"),
            ("Delete", "Poll"),
        } <= watched.seen, watched.seen

    run(scenario)
