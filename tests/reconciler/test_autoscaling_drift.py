"""Autoscaling drift found by the shared listings: a hand edit or deletion of the
target, a policy, a scheduled action or the scale-from-zero alarm is corrected within
one listing interval, with one write and no SageMaker write; steady state reads
nothing of a component's own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from ic_operator.aws.operations import AUTOSCALING_WRITE_OPERATIONS as AAS_WRITES
from ic_operator.models.autoscaling_requests import alarm_name
from ic_operator.reconcile.types import Trigger
from tests.reconciler.harness import SETTINGS, Rig, run
from tests.reconciler.test_autoscaling import RID, SCALING, aas, created

pytestmark = pytest.mark.filterwarnings("error")

INTERVAL = 600.0
NIGHTLY = {
    **SCALING,
    "minCopies": 0,
    "scheduledActions": [
        {"scheduledActionName": "mornings", "schedule": "cron(0 8 * * ? *)", "minCopies": 2}
    ],
}


async def _settled(scaling: dict[str, Any]) -> Rig:
    """Created, and seen in sync by a first round; the call log cleared."""
    w = Rig(
        autoScaling=scaling,
        runtimeConfig={"copyCount": 2},
        settings=replace(SETTINGS, autoscaling_resync_interval=INTERVAL),
    )
    await created(w)
    await w.step(Trigger.TIMER)
    w.sm.calls.clear()
    return w


def _writes(w: Rig) -> list[str]:
    return [c.operation for c in w.sm.calls if c.operation in AAS_WRITES]


def _sagemaker_writes(w: Rig) -> list[str]:
    return [
        c.operation
        for c in w.sm.calls
        if c.service == "sagemaker" and not c.operation.startswith(("Describe", "List"))
    ]


def _delete_policy(w: Rig) -> None:
    del aas(w).policies[RID]["concurrency"]


def _edit_target(w: Rig) -> None:
    aas(w).targets[RID]["MaxCapacity"] = 3
    aas(w).targets[RID]["MinCapacity"] = 1


def _delete_action(w: Rig) -> None:
    del aas(w).actions[RID]["mornings"]


def _delete_alarm(w: Rig) -> None:
    del aas(w).alarms[alarm_name("llm")]


@pytest.mark.parametrize(
    ("hand", "write"),
    [
        (_delete_policy, "PutScalingPolicy"),
        (_edit_target, "RegisterScalableTarget"),
        (_delete_action, "PutScheduledAction"),
        (_delete_alarm, "PutMetricAlarm"),
    ],
    ids=["policy deleted", "target edited", "scheduled action deleted", "alarm deleted"],
)
def test_a_hand_change_is_corrected_within_one_interval(
    hand: Callable[[Rig], None], write: str
) -> None:
    async def scenario() -> None:
        w = await _settled(NIGHTLY)
        hand(w)
        changed_at = w.clock()
        while write not in _writes(w):
            await w.step(Trigger.TIMER)
            assert w.clock() - changed_at <= INTERVAL + SETTINGS.resync_interval
        assert _writes(w) == [write]
        assert _sagemaker_writes(w) == []
        w.sm.calls.clear()
        for _ in range(3):  # corrected: nothing more to write
            await w.step(Trigger.TIMER)
        assert _writes(w) == []

    run(scenario)


def test_the_round_shows_only_what_moved_is_read_one_by_one() -> None:
    async def scenario() -> None:
        w = await _settled(SCALING)
        for _ in range(6):  # an hour of resyncs at 600 s rounds: the rounds only
            await w.step(Trigger.TIMER)
        reads: list[dict[str, Any]] = [c.request for c in w.sm.calls if c.service != "sagemaker"]
        assert all("ResourceId" not in r for r in reads)  # never one component's own
        assert _writes(w) == []

    run(scenario)
