"""Autoscaling drift end to end: a hand-deleted policy, a hand-edited target, a deleted
scheduled action and a deleted scale-from-zero alarm each come back within the
autoscaling listing interval (the fixture's --autoscaling-resync-interval), with one
write and no SageMaker write. The exact bound (one interval plus one resync) is proved
on a fake clock in tests/reconciler/test_autoscaling_drift.py; here the deadline is a
few intervals, for a loaded machine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ic_operator.models.autoscaling_requests import alarm_name
from tests.e2e.test_autoscaling import (
    aas,
    autoscaling_writes,
    operator_calls,
    rid,
    scaling,
    wait_scaling,
)
from tests.fixtures.emulator import wait_for
from tests.fixtures.operator import RESYNC, OperatorTestbed

pytestmark = [pytest.mark.e2e, pytest.mark.controlplane]

INTERVAL = 2 * RESYNC  # the fixture's --autoscaling-resync-interval
DIM = "sagemaker:inference-component:DesiredCopyCount"
NIGHTLY = {
    **scaling(0, 2),
    "scheduledActions": [
        {"scheduledActionName": "mornings", "schedule": "cron(0 8 * * ? *)", "minCopies": 1}
    ],
}


def _key(name: str) -> dict[str, str]:
    return {"ServiceNamespace": "sagemaker", "ResourceId": rid(name), "ScalableDimension": DIM}


def _delete_policy(world: OperatorTestbed, name: str) -> None:
    aas(world).delete_scaling_policy(PolicyName="invocations", **_key(name))


def _edit_target(world: OperatorTestbed, name: str) -> None:
    aas(world).register_scalable_target(**_key(name), MinCapacity=1, MaxCapacity=5)


def _delete_action(world: OperatorTestbed, name: str) -> None:
    aas(world).delete_scheduled_action(ScheduledActionName="mornings", **_key(name))


def _delete_alarm(world: OperatorTestbed, name: str) -> None:
    world.emulator.client("cloudwatch").delete_alarms(AlarmNames=[alarm_name(name)])


def _restored(world: OperatorTestbed, name: str, write: str) -> bool:
    client = aas(world)
    if write == "PutScalingPolicy":
        found = client.describe_scaling_policies(**_key(name))["ScalingPolicies"]
        return any(p["PolicyName"] == "invocations" for p in found)
    if write == "RegisterScalableTarget":
        (target,) = client.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[rid(name)]
        )["ScalableTargets"]
        return bool((target["MinCapacity"], target["MaxCapacity"]) == (0, 2))
    if write == "PutScheduledAction":
        return bool(client.describe_scheduled_actions(**_key(name))["ScheduledActions"])
    alarms = world.emulator.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name(name)])
    return bool(alarms["MetricAlarms"])


def _sagemaker_writes(world: OperatorTestbed, name: str, since: int) -> list[str]:
    return [
        c["operation"]
        for c in operator_calls(world, name)[since:]
        if c.get("service") == "SageMaker" and not c["operation"].startswith(("Describe", "List"))
    ]


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
def test_a_hand_change_comes_back_with_one_write(
    world: OperatorTestbed, hand: Callable[[OperatorTestbed, str], None], write: str
) -> None:
    world.apply(world.manifest("nightly", copies=1, autoScaling=NIGHTLY))
    world.wait_ready("nightly")
    wait_scaling(world, "nightly", registered=True)
    world.wait_timer_passes(3)  # settled: the shared rounds see it in sync
    hand(world, "nightly")  # logged by the emulator too: counted from after it
    since = len(operator_calls(world, "nightly"))
    assert not _restored(world, "nightly", write)
    wait_for(
        lambda: _restored(world, "nightly", write),
        timeout=5 * INTERVAL,
        interval=0.1,
        what=f"{write} restoring the hand change",
    )
    world.wait_timer_passes(3)
    writes: list[Any] = autoscaling_writes(world, "nightly", since)
    assert writes == [write]
    assert _sagemaker_writes(world, "nightly", since) == []
