"""spec.autoScaling end to end: the operator process, the real API server, and the
emulator's Application Auto Scaling, CloudWatch and simulated autoscaler over HTTP.

What AWS holds is read with boto3 against the emulator; what the operator sent is read
from the emulator's call log (the simulated autoscaler's own copy-count changes are not
client calls, so any UpdateInferenceComponentRuntimeConfig in the log is the operator's).
Waits poll the resource or the emulator with deadlines; no timing is asserted.
"""

from __future__ import annotations

from typing import Any

import pytest

from ic_operator.models.autoscaling_requests import STEP_POLICY_NAME, alarm_name
from tests.fixtures.emulator import wait_for
from tests.fixtures.operator import OperatorTestbed

pytestmark = [pytest.mark.e2e, pytest.mark.controlplane]

COPY_WRITES = ("UpdateInferenceComponentRuntimeConfig", "UpdateInferenceComponent")
INVOCATIONS = "SageMakerInferenceComponentInvocationsPerCopy"


def scaling(minimum: int, maximum: int, *, target: float = 10, **tracking: Any) -> dict[str, Any]:
    return {
        "minCopies": minimum,
        "maxCopies": maximum,
        "policies": [
            {
                "policyName": "invocations",
                "targetTracking": {
                    "targetValue": target,
                    "predefinedMetricSpecification": {"predefinedMetricType": INVOCATIONS},
                    "scaleOutCooldown": 60,
                    "scaleInCooldown": 60,
                    **tracking,
                },
            }
        ],
    }


def rid(name: str) -> str:
    return f"inference-component/{name}"


def aas(world: OperatorTestbed) -> Any:
    return world.emulator.client("application-autoscaling")


def target(world: OperatorTestbed, name: str) -> dict[str, Any] | None:
    found = aas(world).describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[rid(name)]
    )
    items: list[dict[str, Any]] = found["ScalableTargets"]
    return items[0] if items else None


def policies(world: OperatorTestbed, name: str) -> dict[str, dict[str, Any]]:
    found = aas(world).describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=rid(name))
    return {p["PolicyName"]: p for p in found["ScalingPolicies"]}


def about(call: dict[str, Any], name: str) -> bool:
    request = call.get("request") or {}
    return (
        request.get("InferenceComponentName") == name
        or request.get("ResourceId") == rid(name)
        or alarm_name(name) in (request.get("AlarmNames") or [request.get("AlarmName")])
    )


def operator_calls(world: OperatorTestbed, name: str) -> list[dict[str, Any]]:
    return [c for c in world.emulator.admin.calls() if about(c, name) and not c["error"]]


def autoscaling_writes(world: OperatorTestbed, name: str, since: int = 0) -> list[str]:
    return [
        c["operation"]
        for c in operator_calls(world, name)[since:]
        if c.get("service") != "SageMaker" and not c["operation"].startswith("Describe")
    ]


def copy_writes(world: OperatorTestbed, name: str) -> list[dict[str, Any]]:
    return [c for c in operator_calls(world, name) if c["operation"] in COPY_WRITES]


def scaling_status(world: OperatorTestbed, name: str) -> dict[str, Any]:
    return dict(((world.get(name) or {}).get("status") or {}).get("autoScaling") or {})


def wait_scaling(
    world: OperatorTestbed, name: str, timeout: float = 90, **want: Any
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        st = scaling_status(world, name)
        return st if st and all(st.get(k) == v for k, v in want.items()) else None

    return wait_for(probe, timeout=timeout, interval=0.2, what=f"{name} autoScaling {want}")


def wait_copies(
    world: OperatorTestbed, name: str, copies: int, timeout: float = 120
) -> dict[str, Any]:
    """The resource reports `copies` desired and running, settled."""
    return wait_scaling(
        world, name, timeout, desiredCopies=copies, currentCopies=copies, state=_settled(copies)
    )


def _settled(copies: int) -> str:
    return "AtZero" if copies == 0 else "Steady"


# ---------------------------------------------------------------------------- 1


def test_declared_scaling_exists_and_load_moves_copies_without_operator_writes(
    world: OperatorTestbed,
) -> None:
    world.apply(world.manifest("chat", copies=1, autoScaling=scaling(1, 4)))
    world.wait_ready("chat")
    st = wait_scaling(world, "chat", registered=True, state="Steady")
    assert (st["minCopies"], st["maxCopies"], st["range"]) == (1, 4, "1-4")
    found = target(world, "chat")
    assert found is not None
    assert (found["MinCapacity"], found["MaxCapacity"]) == (1, 4)
    assert found["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
    policy = policies(world, "chat")["invocations"]
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 10
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == INVOCATIONS
    assert STEP_POLICY_NAME not in policies(world, "chat")  # minCopies 1: no scale from zero

    # 35 invocations on one copy at a target of 10: the autoscaler asks for 4
    world.emulator.admin.load("chat", "invocationsPerCopy", total=35)
    st = wait_copies(world, "chat", 4)
    assert st["lastActivity"]["description"] == "Setting desired copy count to 4."
    assert "triggered policy invocations" in st["lastActivity"]["cause"]
    assert (world.get("chat") or {})["status"]["copies"] == "4/4"
    # idle: back to the minimum
    world.emulator.admin.load("chat", "invocationsPerCopy", total=0)
    st = wait_copies(world, "chat", 1)
    assert st["lastActivity"]["description"] == "Setting desired copy count to 1."
    reasons = {e["reason"] for e in world.events("chat")}
    assert {"ScalingActivity", "AutoScalingSynced"} <= reasons
    assert world.condition("chat", "Ready")["status"] == "True"  # type: ignore[index]
    assert copy_writes(world, "chat") == []
    assert (
        world.operator.metric("ic_operator_component_copies", resource="chat", kind="current") == 1
    )
    assert world.operator.metric("ic_operator_component_copies", resource="chat", kind="max") == 4


# ---------------------------------------------------------------------------- 2


def test_hand_edited_policy_is_restored_and_max_copies_is_one_register(
    world: OperatorTestbed,
) -> None:
    world.apply(world.manifest("chat", copies=1, autoScaling=scaling(1, 4)))
    world.wait_ready("chat")
    wait_scaling(world, "chat", registered=True, state="Steady")
    edited = policies(world, "chat")["invocations"]
    config = edited["TargetTrackingScalingPolicyConfiguration"]
    aas(world).put_scaling_policy(
        PolicyName="invocations",
        ServiceNamespace="sagemaker",
        ResourceId=rid("chat"),
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={**config, "TargetValue": 99.0},
    )
    assert (
        policies(world, "chat")["invocations"]["TargetTrackingScalingPolicyConfiguration"][
            "TargetValue"
        ]
        == 99
    )
    wait_for(
        lambda: (
            policies(world, "chat")["invocations"]["TargetTrackingScalingPolicyConfiguration"][
                "TargetValue"
            ]
            == 10
        ),
        timeout=60,
        interval=0.2,
        what="the hand-edited policy restored",
    )

    since = len(operator_calls(world, "chat"))
    world.patch("chat", {"spec": {"autoScaling": {"maxCopies": 6}}})
    wait_scaling(world, "chat", maxCopies=6)
    world.wait_ready("chat", generation=2)
    world.wait_timer_passes(2)
    assert autoscaling_writes(world, "chat", since) == ["RegisterScalableTarget"]
    found = target(world, "chat")
    assert found is not None and (found["MinCapacity"], found["MaxCapacity"]) == (1, 6)
    assert copy_writes(world, "chat") == []


# ---------------------------------------------------------------------------- 3


def test_scale_to_zero_and_back_then_delete_deregisters_first(world: OperatorTestbed) -> None:
    world.apply(world.manifest("nightly", copies=1, autoScaling=scaling(0, 2)))
    world.wait_ready("nightly")
    wait_scaling(world, "nightly", registered=True)
    step = policies(world, "nightly")[STEP_POLICY_NAME]
    alarms = world.emulator.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name("nightly")])
    (alarm,) = alarms["MetricAlarms"]
    assert alarm["MetricName"] == "NoCapacityInvocationFailures"
    assert alarm["AlarmActions"] == [step["PolicyARN"]]
    assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "nightly"}]

    # idle: the target-tracking policy scales in to zero
    world.emulator.admin.load("nightly", "invocationsPerCopy", total=0)
    st = wait_copies(world, "nightly", 0)
    assert "NoCapacityInvocationFailures" in st["message"]
    # a request finds no copy: the alarm fires and the step policy adds one
    assert world.emulator.admin.requests("nightly", 3) == {"served": 0, "failed": 3}
    # and traffic goes on at a rate one copy serves (so the copy stays while we look)
    world.emulator.admin.load("nightly", "invocationsPerCopy", total=5)
    st = wait_scaling(world, "nightly", desiredCopies=1, currentCopies=1, state="Steady")
    assert STEP_POLICY_NAME in st["lastActivity"]["cause"]
    assert copy_writes(world, "nightly") == []

    world.kubectl("delete", "smic", "nightly", "-n", world.namespace, "--wait=true", timeout=90)
    order = [
        c["operation"]
        for c in operator_calls(world, "nightly")
        if c["operation"]
        in ("DeleteAlarms", "DeregisterScalableTarget", "DeleteInferenceComponent")
    ]
    assert order == ["DeleteAlarms", "DeregisterScalableTarget", "DeleteInferenceComponent"]
    assert target(world, "nightly") is None
    # each write posted its event, the deletes too
    synced = [e["message"] for e in world.events("nightly") if e["reason"] == "AutoScalingSynced"]
    assert "DeleteAlarms (cloudwatch)" in synced
    assert "DeregisterScalableTarget (application-autoscaling)" in synced
    gone = world.emulator.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name("nightly")])
    assert gone["MetricAlarms"] == []


# ---------------------------------------------------------------------------- 4


def test_retain_leaves_target_policies_and_alarm(world: OperatorTestbed) -> None:
    world.apply(
        world.manifest("kept", copies=1, autoScaling=scaling(0, 2), deletionPolicy="Retain")
    )
    world.wait_ready("kept")
    wait_scaling(world, "kept", registered=True)
    world.kubectl("delete", "smic", "kept", "-n", world.namespace, "--wait=true", timeout=90)
    assert world.get("kept") is None
    assert target(world, "kept") is not None
    assert set(policies(world, "kept")) == {"invocations", STEP_POLICY_NAME}
    kept = world.emulator.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name("kept")])
    assert len(kept["MetricAlarms"]) == 1
    removals = ("DeleteAlarms", "DeregisterScalableTarget", "DeleteScalingPolicy")
    assert [c for c in operator_calls(world, "kept") if c["operation"] in removals] == []
    assert world.describe("kept")["InferenceComponentStatus"] == "InService"
