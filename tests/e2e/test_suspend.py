"""spec.suspend end to end (real kube-apiserver, kopf, boto3 over HTTP to the emulator):
while suspended an edit and an out-of-band change are shown in status.pendingPlan and
nothing is written to SageMaker (the emulator's call log); resuming sends exactly the
calls shown. A suspended resource that is deleted keeps its component until resumed."""

from __future__ import annotations

from typing import Any

import pytest

from ic_operator.reconcile.suspend import planned
from tests.fixtures.emulator import wait_for
from tests.fixtures.operator import KIND_PLURAL, OperatorTestbed, image

pytestmark = [pytest.mark.e2e, pytest.mark.controlplane]

ROLLING = {
    "rollingUpdatePolicy": {
        "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
        "waitIntervalInSeconds": 1,
    },
}


def _plan(world: OperatorTestbed, name: str) -> dict[str, Any]:
    return dict(((world.get(name) or {}).get("status") or {}).get("pendingPlan") or {})


def _differences(plan: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {d["field"]: (d.get("spec"), d.get("observed")) for d in plan.get("differences", [])}


def _suspend(world: OperatorTestbed, name: str, value: bool) -> None:
    world.patch(name, {"spec": {"suspend": value}})


def test_suspended_edits_and_drift_are_shown_not_sent_and_resuming_sends_the_plan(
    world: OperatorTestbed,
) -> None:
    world.apply(world.manifest("chat", deployment=ROLLING))
    world.wait_settled("chat")
    _suspend(world, "chat", True)
    world.wait_condition("chat", "Progressing", "False", reason="Suspended")
    world.patch(
        "chat",
        {
            "spec": {
                "specification": {"container": {"image": image("v2")}},
                "runtimeConfig": {"copyCount": 3},
            }
        },
    )
    world.wait_condition("chat", "Ready", "False", reason="Suspended")
    held = wait_for(
        lambda: (
            _plan(world, "chat").get("summary") == "UpdateInferenceComponent"
            and _plan(world, "chat")
        ),
        timeout=30,
        interval=0.2,
        what="the update in status.pendingPlan",
    )
    assert _differences(held)["specification.container.image"][0] == image("v2")
    assert _differences(held)["runtimeConfig.copyCount"] == ("3", "4")

    # Someone scales it from the CLI while it is suspended: reported, not corrected.
    world.sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="chat", DesiredRuntimeConfig={"CopyCount": 2}
    )
    drifted = wait_for(
        lambda: (
            _differences(_plan(world, "chat")).get("runtimeConfig.copyCount") == ("3", "2")
            and _plan(world, "chat").get("summary") == "UpdateInferenceComponent"
            and _plan(world, "chat")
        ),
        timeout=60,
        interval=0.2,
        what="the out-of-band copy count in status.pendingPlan",
    )
    world.wait_timer_passes(2)
    suspended_writes = [c["operation"] for c in world.writes("chat")]
    # The create, then only the CLI's own call: the operator wrote nothing while suspended.
    assert suspended_writes == ["CreateInferenceComponent", "UpdateInferenceComponentRuntimeConfig"]
    [call] = drifted["calls"]
    out = world.kubectl("get", KIND_PLURAL, "chat", "-n", world.namespace, "-o", "wide").stdout
    assert "UpdateInferenceComponent" in out.splitlines()[1]  # the Pending column
    reasons = [e["reason"] for e in world.events("chat")]
    assert "Suspended" in reasons and "PlanChanged" in reasons

    _suspend(world, "chat", False)
    world.wait_settled("chat", timeout=90)
    resumed = world.writes("chat")[len(suspended_writes) :]
    assert [c["operation"] for c in resumed] == [call["operation"]]
    assert planned(call["operation"], resumed[0]["request"]).parameters == call["parameters"]
    obj = world.get("chat") or {}
    assert "pendingPlan" not in obj["status"]
    assert world.describe("chat")["RuntimeConfig"]["DesiredCopyCount"] == 3
    assert "Resumed" in [e["reason"] for e in world.events("chat")]


def test_a_suspended_resource_deleted_keeps_its_component_until_resumed(
    world: OperatorTestbed,
) -> None:
    world.apply(world.manifest("held"))
    world.wait_settled("held")
    _suspend(world, "held", True)
    world.wait_condition("held", "Progressing", "False", reason="Suspended")
    world.kubectl("delete", KIND_PLURAL, "held", "-n", world.namespace, "--wait=false")
    wait_for(
        lambda: _plan(world, "held").get("summary") == "DeleteInferenceComponent",
        timeout=30,
        interval=0.2,
        what="the held Delete in status.pendingPlan",
    )
    # The finalizer looks again every resync interval: three passes, still held.
    metric = world.operator.metric
    wait_for(
        lambda: (
            metric("ic_operator_reconciles_total", trigger="delete", outcome="DeletionSuspended")
            >= 3
        ),
        timeout=30,
        interval=0.2,
        what="three suspended deletion passes",
    )
    assert world.get("held") is not None
    assert world.calls("DeleteInferenceComponent", "held") == []
    assert world.describe("held")["InferenceComponentStatus"] == "InService"
    assert "DeletionSuspended" in [e["reason"] for e in world.events("held")]

    _suspend(world, "held", False)  # the finalizer's wait wakes on the edit
    wait_for(lambda: world.get("held") is None, timeout=60, interval=0.2, what="held deleted")
    assert len(world.calls("DeleteInferenceComponent", "held")) == 1
