"""spec.suspend in the reconcile loop: nothing is written to AWS while suspended, the
plan resuming will execute is in status.pendingPlan (calls and differing fields), drift
is reported and not corrected, and resuming sends exactly the calls shown."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ic_operator.aws.operations import AUTOSCALING_WRITE_OPERATIONS as AAS_WRITES
from ic_operator.reconcile.suspend import planned
from ic_operator.reconcile.types import Trigger
from tests.reconciler import test_autoscaling_drift as drift
from tests.reconciler.harness import IMAGE, Rig, image, run
from tests.reconciler.test_autoscaling import SCALING, autoscaling_writes

pytestmark = pytest.mark.filterwarnings("error")

SECRET = "hunter2-not-for-status"


async def created(w: Rig) -> None:
    await w.step(Trigger.START)
    w.sm.settle("llm")
    await w.until(w.settled)
    w.sm.calls.clear()


async def passes(w: Rig, n: int = 3) -> None:
    """The loop's next passes: resyncs, with time moving to each wake."""
    for _ in range(n):
        await w.step(Trigger.TIMER)


def pending(w: Rig) -> dict[str, Any]:
    plan: dict[str, Any] = w.status["pendingPlan"]
    return plan


def differences(w: Rig) -> dict[str, tuple[str | None, str | None]]:
    return {d["field"]: (d.get("spec"), d.get("observed")) for d in pending(w)["differences"]}


def test_an_edit_while_suspended_is_shown_not_sent_and_resuming_sends_exactly_the_plan() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.kube.edit({"suspend": True})
        await w.step(Trigger.CHANGE)
        assert w.kube.reasons()[-1] == "Suspended"
        assert pending(w)["calls"] == [] and w.kube.condition("Ready") == ("True", "Suspended")
        edit = {"image": image("v2"), "environment": {"LOG_LEVEL": "info", "TOKEN": SECRET}}
        w.kube.edit({"specification": {"container": edit}, "runtimeConfig": {"copyCount": 6}})
        await w.step(Trigger.CHANGE)
        await passes(w)
        assert w.sm.writes() == []
        calls = pending(w)["calls"]
        assert [c["operation"] for c in calls] == ["UpdateInferenceComponent"]
        params = calls[0]["parameters"]
        assert params["Specification.Container.Image"] == image("v2")
        assert params["RuntimeConfig.CopyCount"] == "6"
        assert params["DeploymentConfig.RollingUpdatePolicy.MaximumBatchSize.Value"] == "1"
        diffs = differences(w)
        assert diffs["specification.container.image"] == (image("v2"), IMAGE)
        assert diffs["runtimeConfig.copyCount"] == ("6", "4")
        assert "specification.container.environment" in diffs
        assert SECRET not in json.dumps(w.status) + json.dumps(w.kube.events)
        assert w.kube.condition("Ready") == ("False", "Suspended")
        assert w.kube.condition("Progressing") == ("False", "Suspended")
        assert w.kube.condition("Degraded")[0] == "False"
        assert pending(w)["summary"] == "UpdateInferenceComponent"

        w.kube.edit({"suspend": False})
        await w.step(Trigger.CHANGE)
        sent = w.sm.writes()
        assert [c.operation for c in sent] == ["UpdateInferenceComponent"]
        assert planned("UpdateInferenceComponent", sent[0].request).parameters == params
        assert "pendingPlan" not in w.status
        assert w.kube.reasons()[-2:] == ["Resumed", "Updating"]
        w.sm.settle("llm")
        await w.until(w.settled)
        assert len(w.sm.writes()) == 1

    run(scenario)


def test_drift_while_suspended_is_reported_not_corrected() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.kube.edit({"suspend": True})
        await w.step(Trigger.CHANGE)
        events = len(w.kube.events)
        w.sm.change(
            "llm", Container={"Image": image("hotfix"), "Environment": {"LOG_LEVEL": "info"}}
        )
        await passes(w)
        assert w.sm.writes() == []
        assert differences(w)["specification.container.image"][1] == image("hotfix")
        assert [c["operation"] for c in pending(w)["calls"]] == ["UpdateInferenceComponent"]
        assert w.kube.reasons()[events:] == ["PlanChanged"]  # once, not every pass
        assert w.kube.condition("Ready") == ("False", "Suspended")

    run(scenario)


def test_a_resource_suspended_from_the_start_is_not_created_until_resumed() -> None:
    async def scenario() -> None:
        w = Rig(suspend=True)
        await w.step(Trigger.START)
        await passes(w)
        assert w.sm.writes() == [] and "llm" not in w.sm.components
        assert [c["operation"] for c in pending(w)["calls"]] == ["CreateInferenceComponent"]
        assert differences(w) == {"inferenceComponentName": ("llm", None)}
        w.kube.edit({"suspend": None})
        await w.step(Trigger.CHANGE)
        assert w.sm.ops("CreateInferenceComponent") == ["CreateInferenceComponent"]

    run(scenario)


def test_autoscaling_is_read_not_written_while_suspended() -> None:
    async def scenario() -> None:
        w = Rig(autoScaling=SCALING, runtimeConfig={"copyCount": 2})
        await w.step(Trigger.START)
        w.sm.settle("llm")
        await w.until(lambda: w.settled() and "autoScaling" in w.status)
        w.sm.calls.clear()
        w.kube.edit({"suspend": True, "autoScaling": {**SCALING, "maxCopies": 12}})
        await w.step(Trigger.CHANGE)
        await passes(w)
        assert autoscaling_writes(w) == [] and w.sm.writes() == []
        calls = pending(w)["calls"]
        assert [(c["operation"], c["service"]) for c in calls] == [
            ("RegisterScalableTarget", "application-autoscaling")
        ]
        assert calls[0]["parameters"]["MaxCapacity"] == "12"
        w.kube.edit({"suspend": False})
        await w.step(Trigger.CHANGE)
        assert autoscaling_writes(w) == ["RegisterScalableTarget"]
        assert not [op for op in w.sm.ops() if op in AAS_WRITES and op != "RegisterScalableTarget"]

    run(scenario)


def test_deleting_a_suspended_resource_keeps_it_until_resumed() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.kube.edit({"suspend": True})
        await w.step(Trigger.CHANGE)
        w.kube.body["metadata"]["deletionTimestamp"] = "2027-01-01T00:00:00Z"
        for _ in range(3):
            held = await w.finalize()
            assert not held.released and held.sleep == w.settings.resync_interval
        assert w.sm.writes() == [] and "llm" in w.sm.components
        assert w.kube.reasons().count("DeletionSuspended") == 1
        assert [c["operation"] for c in pending(w)["calls"]] == ["DeleteInferenceComponent"]
        assert w.kube.condition("Progressing") == ("False", "Suspended")
        w.kube.edit({"suspend": False})
        deleting = await w.finalize()
        assert deleting.outcome == "Delete"
        assert [c.operation for c in w.sm.writes()] == ["DeleteInferenceComponent"]

    run(scenario)


def test_a_suspended_resource_with_retain_is_released_without_a_call() -> None:
    async def scenario() -> None:
        w = Rig(deletionPolicy="Retain")
        await created(w)
        w.kube.edit({"suspend": True})
        await w.step(Trigger.CHANGE)
        w.sm.calls.clear()
        w.kube.body["metadata"]["deletionTimestamp"] = "2027-01-01T00:00:00Z"
        done = await w.finalize()
        assert done.released and w.sm.calls == [] and "llm" in w.sm.components

    run(scenario)


def test_planned_hides_environment_values_and_cuts_long_requests() -> None:
    call = planned(
        "UpdateInferenceComponent",
        {
            "Specification": {"Container": {"Environment": {"B": SECRET, "A": "x"}}},
            "Many": list(range(100)),
        },
    )
    assert call.parameters["Specification.Container.Environment"] == (
        "variables A, B (values not shown)"
    )
    assert SECRET not in json.dumps(call.parameters)
    assert len(call.parameters) == 40 and call.parameters["..."] == "62 more parameters not shown"


def test_autoscaling_drift_while_suspended_is_reported_within_one_interval() -> None:
    async def scenario() -> None:
        w = await drift._settled(drift.NIGHTLY)
        w.kube.edit({"suspend": True})
        await w.step(Trigger.CHANGE)
        assert pending(w)["calls"] == []
        w.sm.calls.clear()
        drift._delete_policy(w)
        changed_at = w.clock()
        while not pending(w)["calls"]:
            await w.step(Trigger.TIMER)
            assert w.clock() - changed_at <= drift.INTERVAL + w.settings.resync_interval
        assert [c["operation"] for c in pending(w)["calls"]] == ["PutScalingPolicy"]
        assert w.kube.condition("Ready") == ("False", "Suspended")
        assert drift._writes(w) == [] and w.sm.writes() == []
        await passes(w)  # shown once: no full look on every resync after
        assert w.sm.ops("DescribeInferenceComponent").count("DescribeInferenceComponent") <= 2
        w.kube.edit({"suspend": False})
        await w.step(Trigger.CHANGE)
        assert drift._writes(w) == ["PutScalingPolicy"]

    run(scenario)


def test_an_invalid_edit_while_suspended_is_degraded_and_still_suspended() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.kube.edit({"suspend": True})
        await w.step(Trigger.CHANGE)
        w.kube.edit({"runtimeConfig": {"copyCount": 4, "copyCountOwner": "Nobody"}})
        await w.step(Trigger.CHANGE)
        assert w.sm.writes() == []
        assert w.kube.condition("Degraded") == ("True", "InvalidSpec")
        assert "Resumed" not in w.kube.reasons()
        assert pending(w)["suspendedSince"]

    run(scenario)
