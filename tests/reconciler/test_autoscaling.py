"""spec.autoScaling in the reconcile loop, against in-memory SageMaker, Application Auto
Scaling and CloudWatch: what is read when, what is written, status and events.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ic_operator.aws.errors import ErrorKind, SageMakerError
from ic_operator.aws.operations import AUTOSCALING_WRITE_OPERATIONS as AAS_WRITES
from ic_operator.models.autoscaling_requests import STEP_POLICY_NAME, alarm_name
from ic_operator.reconcile.types import Trigger
from tests.reconciler.fake_autoscaling import FakeAutoScaling
from tests.reconciler.harness import SETTINGS, Rig, run

pytestmark = pytest.mark.filterwarnings("error")

RID = "inference-component/llm"
SCALING: dict[str, Any] = {
    "minCopies": 1,
    "maxCopies": 8,
    "policies": [
        {
            "policyName": "concurrency",
            "targetTracking": {
                "targetValue": 4,
                "predefinedMetricSpecification": {
                    "predefinedMetricType": (
                        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
                    )
                },
                "scaleOutCooldown": 60,
            },
        }
    ],
}
TO_ZERO = {**SCALING, "minCopies": 0}
ROLE_SESSION = "arn:aws:sts::123456789012:assumed-role/ic-operator/test"


def world(scaling: dict[str, Any] = SCALING, **kw: Any) -> Rig:
    return Rig(autoScaling=scaling, runtimeConfig={"copyCount": 2}, **kw)


def degraded_message(w: Rig) -> str:
    return next(c["message"] for c in w.status["conditions"] if c["type"] == "Degraded")


def aas(w: Rig) -> FakeAutoScaling:
    assert w.sm.autoscaling is not None
    return w.sm.autoscaling


def autoscaling_ops(w: Rig) -> list[str]:
    return [c.operation for c in w.sm.calls if c.service != "sagemaker"]


def autoscaling_writes(w: Rig) -> list[str]:
    return [op for op in autoscaling_ops(w) if op in AAS_WRITES]


async def created(w: Rig) -> None:
    await w.step(Trigger.START)
    w.sm.settle("llm")
    await w.until(lambda: w.ready() and "autoScaling" in w.status)


def test_create_registers_target_and_policy_and_never_writes_the_copy_count() -> None:
    async def scenario() -> None:
        w = world()
        await created(w)
        create = w.sm.accepted("CreateInferenceComponent")[0].request
        assert create["RuntimeConfig"] == {"CopyCount": 2}  # the initial count only
        target = aas(w).targets[RID]
        assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 8)
        assert target["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
        assert set(aas(w).policies[RID]) == {"concurrency"}
        assert not aas(w).alarms
        assert autoscaling_writes(w) == ["RegisterScalableTarget", "PutScalingPolicy"]
        st = w.status["autoScaling"]
        assert (st["minCopies"], st["maxCopies"], st["range"]) == (1, 8, "1-8")
        assert (st["desiredCopies"], st["currentCopies"], st["state"]) == (2, 2, "Steady")
        assert st["registered"] is True
        assert "AutoScalingSynced" in w.kube.reasons()
        assert w.sm.ops("UpdateInferenceComponentRuntimeConfig") == []

    run(scenario)


def test_scale_to_zero_adds_the_step_policy_and_its_alarm_with_the_policy_arn() -> None:
    async def scenario() -> None:
        w = world(TO_ZERO)
        await created(w)
        policies = aas(w).policies[RID]
        assert set(policies) == {"concurrency", STEP_POLICY_NAME}
        alarm = aas(w).alarms[alarm_name("llm")]
        assert alarm["AlarmActions"] == [policies[STEP_POLICY_NAME]["PolicyARN"]]
        assert alarm["MetricName"] == "NoCapacityInvocationFailures"
        writes = autoscaling_writes(w)
        assert writes.index("PutScalingPolicy") < writes.index("PutMetricAlarm")

    run(scenario)


ROUND = [
    "DescribeScalableTargets",
    "DescribeScalingPolicies",
    "DescribeScheduledActions",
    "DescribeAlarms",
]


def test_steady_state_reads_autoscaling_only_in_shared_rounds_once_per_interval() -> None:
    async def scenario() -> None:
        settings = replace(SETTINGS, autoscaling_resync_interval=3600)
        w = world(settings=settings)
        await created(w)
        w.sm.calls.clear()
        writes = w.kube.status_writes
        await w.step(Trigger.TIMER)  # the first settled pass: the first round
        # one page each: the targets by ResourceIds, the namespace's policies and
        # scheduled actions, the operator's alarms by prefix
        assert autoscaling_ops(w) == ROUND
        calls = {c.operation: c.request for c in w.sm.calls}
        assert calls["DescribeScalableTargets"]["ResourceIds"] == [RID]
        assert "ResourceId" not in calls["DescribeScalingPolicies"]
        assert calls["DescribeAlarms"]["AlarmNamePrefix"] == "sagemaker-ic-operator-"
        w.sm.calls.clear()
        for _ in range(11):  # eleven resyncs of 300 s: under the hour
            await w.step(Trigger.TIMER)
        assert autoscaling_ops(w) == []
        assert w.sm.ops() == ["ListInferenceComponents"] * 11
        assert w.kube.status_writes == writes
        await w.step(Trigger.TIMER)  # the twelfth: the hour has passed
        assert autoscaling_writes(w) == []
        assert autoscaling_ops(w) == ROUND
        assert w.kube.status_writes == writes  # in sync: nothing to record

    run(scenario)


def test_autoscaler_moves_copies_status_says_scaling_and_the_operator_never_writes_them() -> None:
    async def scenario() -> None:
        w = world()
        await created(w)
        cause = "monitor alarm TargetTracking-AlarmHigh in state ALARM triggered policy concurrency"
        aas(w).scale(w.sm, "llm", 5, cause)
        await w.step(Trigger.TIMER)
        st = w.status["autoScaling"]
        assert (st["desiredCopies"], st["currentCopies"], st["state"]) == (5, 2, "Scaling")
        assert st["lastActivity"]["cause"] == cause
        assert st["lastActivity"]["statusCode"] == "InProgress"
        assert w.kube.condition("Progressing") == ("True", "Scaling")
        assert "ScalingActivity" in w.kube.reasons()
        aas(w).activities[RID][0]["StatusCode"] = "Successful"
        w.sm.settle("llm")
        await w.until(lambda: w.status["autoScaling"]["state"] == "Steady")
        st = w.status["autoScaling"]
        assert (st["desiredCopies"], st["currentCopies"]) == (5, 5)
        assert st["lastActivity"]["statusCode"] == "Successful"
        assert w.status["copies"] == "5/5"
        assert w.sm.ops("UpdateInferenceComponentRuntimeConfig", "UpdateInferenceComponent") == []

    run(scenario)


def test_a_policy_edited_by_hand_is_restored_at_the_autoscaling_resync() -> None:
    async def scenario() -> None:
        settings = replace(SETTINGS, autoscaling_resync_interval=600)
        w = world(settings=settings)
        await created(w)
        config = aas(w).policies[RID]["concurrency"]["TargetTrackingScalingPolicyConfiguration"]
        config["TargetValue"] = 40.0
        w.sm.calls.clear()
        await w.until(lambda: "PutScalingPolicy" in autoscaling_ops(w))
        assert autoscaling_writes(w) == ["PutScalingPolicy"]
        restored = aas(w).policies[RID]["concurrency"]["TargetTrackingScalingPolicyConfiguration"]
        assert restored["TargetValue"] == 4.0

    run(scenario)


def test_a_changed_max_copies_is_one_register_scalable_target() -> None:
    async def scenario() -> None:
        w = world()
        await created(w)
        w.sm.calls.clear()
        w.kube.edit({"autoScaling": {**SCALING, "maxCopies": 12}})
        await w.until(lambda: w.ready() and w.status["autoScaling"]["maxCopies"] == 12)
        assert autoscaling_writes(w) == ["RegisterScalableTarget"]
        assert aas(w).targets[RID]["MaxCapacity"] == 12
        assert w.sm.ops("UpdateInferenceComponent", "UpdateInferenceComponentRuntimeConfig") == []

    run(scenario)


def test_removing_autoscaling_deregisters_what_the_operator_registered() -> None:
    async def scenario() -> None:
        w = world(TO_ZERO)
        await created(w)
        w.sm.calls.clear()
        w.kube.edit({"autoScaling": None})
        await w.until(lambda: w.ready() and "autoScaling" not in w.status)
        assert autoscaling_writes(w) == ["DeleteAlarms", "DeregisterScalableTarget"]
        assert not aas(w).targets and not aas(w).alarms

    run(scenario)


def test_delete_deregisters_before_the_component_goes() -> None:
    async def scenario() -> None:
        w = world(TO_ZERO)
        await created(w)
        w.sm.calls.clear()
        await w.finalize()
        removal = ["DeleteAlarms", "DeregisterScalableTarget", "DeleteInferenceComponent"]
        assert [c.operation for c in w.sm.calls if c.operation in removal] == removal
        assert not aas(w).targets and not aas(w).alarms
        # Each autoscaling write posts its event, on delete as in a pass.
        synced = [m for t, r, m in w.kube.events if r == "AutoScalingSynced"]
        assert synced[-2:] == [
            "DeleteAlarms (cloudwatch)",
            "DeregisterScalableTarget (application-autoscaling)",
        ]
        assert w.kube.reasons()[-3:] == ["AutoScalingSynced", "AutoScalingSynced", "Deleting"]

    run(scenario)


def test_retain_leaves_target_policies_and_alarm() -> None:
    async def scenario() -> None:
        w = world(TO_ZERO, deletionPolicy="Retain")
        await created(w)
        w.sm.calls.clear()
        result = await w.finalize()
        assert result.released
        assert w.sm.calls == []
        assert RID in aas(w).targets and alarm_name("llm") in aas(w).alarms

    run(scenario)


def test_an_autoscaling_failure_is_reported_and_retried() -> None:
    async def scenario() -> None:
        w = world()
        await w.step(Trigger.START)
        w.sm.settle("llm")
        w.sm.fail["RegisterScalableTarget"] = SageMakerError(
            "RegisterScalableTarget",
            ErrorKind.ACCESS_DENIED,
            "AccessDeniedException",
            "no",
            action="application-autoscaling:RegisterScalableTarget",
            resource=RID,
            principal=ROLE_SESSION,
        )
        await w.until(lambda: "AutoScalingFailed" in w.kube.reasons())
        # The component itself is InService and Ready; Degraded names who was refused
        # what on which resource, until a sync is allowed.
        assert w.kube.condition("Ready") == ("True", "InSync")
        assert w.kube.condition("Degraded") == ("True", "AutoScalingAccessDenied")
        assert degraded_message(w).startswith(
            f"{ROLE_SESSION} was refused application-autoscaling:RegisterScalableTarget "
            f"on {RID}: AccessDeniedException: no. The operator retries every 60 s"
        )
        await w.until(lambda: RID in aas(w).targets)
        assert w.status["autoScaling"]["registered"] is True
        await w.until(lambda: w.kube.condition("Degraded") == ("False", "AsExpected"))

    run(scenario)


def test_a_routine_autoscaling_failure_is_an_event_not_degraded() -> None:
    async def scenario() -> None:
        w = world()
        await w.step(Trigger.START)
        w.sm.settle("llm")
        w.sm.fail["RegisterScalableTarget"] = SageMakerError(
            "RegisterScalableTarget", ErrorKind.RETRYABLE, "ThrottlingException", "slow down"
        )
        await w.until(lambda: "AutoScalingFailed" in w.kube.reasons())
        assert w.kube.condition("Degraded") == ("False", "AsExpected")
        await w.until(lambda: RID in aas(w).targets)

    run(scenario)
