"""The simulated autoscaler: load moves copies through the real scaling path.

Waits poll the emulator (activities, history, the scaler's tick count), never the clock.
"""

from __future__ import annotations

import urllib.error
from typing import Any

import pytest

from tests.emulator.helpers import create_ic, describe
from tests.emulator.test_autoscaling import RID, TARGET, register, step_out, tracking
from tests.emulator.test_cloudwatch import NO_CAPACITY_ALARM
from tests.fixtures.emulator import Admin, wait_for


def activities(aas: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = aas.describe_scaling_activities(
        ServiceNamespace="sagemaker", ResourceId=RID
    )["ScalingActivities"]
    return found


def settled_at(aas: Any, sm: Any, copies: int) -> dict[str, Any]:
    """Wait for a successful activity to `copies` and the component InService with them."""

    def probe() -> dict[str, Any] | None:
        done = [
            a
            for a in activities(aas)
            if a["Description"] == f"Setting desired copy count to {copies}."
            and a["StatusCode"] == "Successful"
        ]
        d = describe(sm)
        if done and d["InferenceComponentStatus"] == "InService":
            assert d["RuntimeConfig"]["CurrentCopyCount"] == copies
            return done[0]
        return None

    return wait_for(probe, what=f"scaled to {copies} copies")


def ticks_pass(admin: Admin, n: int) -> None:
    start = admin.autoscaler()["ticks"]
    wait_for(lambda: admin.autoscaler()["ticks"] >= start + n, what=f"{n} autoscaler ticks")


def track(aas: Any, **config: Any) -> list[str]:
    put = aas.put_scaling_policy(
        PolicyName="track",
        **TARGET,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=tracking(**config),
    )
    return [a["AlarmName"] for a in put["Alarms"]]


def test_load_scales_out_through_the_runtime_config_path(
    aas: Any, sm: Any, admin: Admin, endpoint: str
) -> None:
    create_ic(sm, copies=1)
    register(aas, 1, 8)
    alarms = track(aas, target=10.0, ScaleOutCooldown=60)
    admin.clear_calls()
    # 35 invocations per copy on one copy: ceil(1 * 35 / 10) = 4 copies
    assert admin.load("ic", "invocationsPerCopy", value=35)["total"] == 35
    activity = settled_at(aas, sm, 4)
    high = next(a for a in alarms if "-AlarmHigh-" in a)
    assert activity["Cause"] == f"monitor alarm {high} in state ALARM triggered policy track"
    assert activity["StatusMessage"] == (
        "Successfully set desired copy count to 4. Change successfully fulfilled by sagemaker."
    )
    assert activity["ServiceNamespace"] == "sagemaker"
    # the component went Updating (UPDATE_RC_IN_PROGRESS) and back, like a client's call
    states = [(h["state"], h["desired"], h["current"]) for h in admin.history("ic")]
    assert ("UPDATE_RC_IN_PROGRESS", 4, 1) in states
    assert states[-1] == ("IN_SERVICE", 4, 4)
    # ... but no client wrote the copy count
    assert admin.calls("UpdateInferenceComponentRuntimeConfig") == []
    assert admin.calls("UpdateInferenceComponent") == []
    # 8.75 per copy now: between the low (9) and high (10) thresholds, so it stays at 4
    ticks_pass(admin, 200)
    assert describe(sm)["RuntimeConfig"]["DesiredCopyCount"] == 4
    assert len(activities(aas)) == 1


def test_scale_in_waits_out_its_cooldown_but_scale_out_does_not(
    aas: Any, sm: Any, admin: Admin, endpoint: str
) -> None:
    create_ic(sm, copies=4)
    register(aas, 1, 8)
    track(aas, target=10.0, ScaleInCooldown=100_000, ScaleOutCooldown=0)
    # 15 invocations over 4 copies (3.75 each): ceil(4 * 3.75 / 10) = 2
    admin.load("ic", "invocationsPerCopy", total=15)
    first = settled_at(aas, sm, 2)
    assert "-AlarmLow-" in first["Cause"]
    # idle now: the policy would go to the minimum, but the scale-in cooldown holds
    admin.load("ic", "invocationsPerCopy", total=0)
    ticks_pass(admin, 300)  # 3000 service seconds: the low alarm fired again and again
    assert describe(sm)["RuntimeConfig"]["DesiredCopyCount"] == 2
    assert len(activities(aas)) == 1
    # a scale-out is not held back by the scale-in cooldown (doc)
    admin.load("ic", "invocationsPerCopy", total=35)
    settled_at(aas, sm, 4)


def test_disable_scale_in_keeps_copies(aas: Any, sm: Any, admin: Admin, endpoint: str) -> None:
    create_ic(sm, copies=3)
    register(aas, 1, 8)
    assert len(track(aas, target=10.0, DisableScaleIn=True, ScaleInCooldown=0)) == 1
    admin.load("ic", "invocationsPerCopy", total=0)
    ticks_pass(admin, 200)
    assert describe(sm)["RuntimeConfig"]["DesiredCopyCount"] == 3
    assert activities(aas) == []


def test_registration_moves_copies_into_the_bounds(
    aas: Any, sm: Any, admin: Admin, endpoint: str
) -> None:
    create_ic(sm, copies=1)
    register(aas, 2, 4)
    activity = settled_at(aas, sm, 2)
    assert activity["Cause"] == "minimum capacity was set to 2"
    aas.register_scalable_target(**TARGET, MaxCapacity=2, MinCapacity=1)
    aas.register_scalable_target(**TARGET, MinCapacity=0, MaxCapacity=1)
    assert settled_at(aas, sm, 1)["Cause"] == "maximum capacity was set to 1"


def test_scale_to_zero_and_back_out_when_requests_arrive(
    aas: Any, cw: Any, sm: Any, admin: Admin, endpoint: str
) -> None:
    """The SageMaker guide's setup: min 0, target tracking, a step policy on an alarm."""
    create_ic(sm, copies=2)
    register(aas, 0, 4)
    track(aas, target=10.0, ScaleInCooldown=0)
    step = aas.put_scaling_policy(
        PolicyName="from-zero",
        **TARGET,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration=step_out(cooldown=60),
    )
    cw.put_metric_alarm(**{**NO_CAPACITY_ALARM, "AlarmActions": [step["PolicyARN"]]})
    admin.load("ic", "invocationsPerCopy", total=0)
    settled_at(aas, sm, 0)
    at_zero = describe(sm)
    assert at_zero["RuntimeConfig"] == {"DesiredCopyCount": 0, "CurrentCopyCount": 0}
    # nothing arrives yet: the no-capacity alarm sees zero failures
    wait_for(
        lambda: (
            cw.describe_alarms(AlarmNames=["ic-no-capacity"])["MetricAlarms"][0]["StateValue"]
            == "OK"
        ),
        what="no-capacity alarm OK",
    )
    assert admin.requests("ic", 3) == {"served": 0, "failed": 3}
    activity = settled_at(aas, sm, 1)
    assert activity["Cause"] == (
        "monitor alarm ic-no-capacity in state ALARM triggered policy from-zero"
    )
    path = [(h["status"], h["current"]) for h in admin.history("ic")]
    zero = path.index(("InService", 0))
    assert ("InService", 1) in path[zero:]
    assert admin.requests("ic", 1) == {"served": 1, "failed": 0}


def test_a_standing_load_at_zero_copies_fails_and_scales_out(
    aas: Any, cw: Any, sm: Any, admin: Admin, endpoint: str
) -> None:
    create_ic(sm, copies=1)
    register(aas, 0, 4)
    step = aas.put_scaling_policy(
        PolicyName="from-zero",
        **TARGET,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration=step_out(),
    )
    cw.put_metric_alarm(**{**NO_CAPACITY_ALARM, "AlarmActions": [step["PolicyARN"]]})
    sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 0}
    )
    wait_for(
        lambda: (
            describe(sm)["RuntimeConfig"]["CurrentCopyCount"] == 0
            and describe(sm)["InferenceComponentStatus"] == "InService"
        ),
        what="at zero",
    )
    admin.load("ic", "concurrentRequestsPerCopy", total=2)
    assert "ic-no-capacity" in settled_at(aas, sm, 1)["Cause"]


def test_scheduled_rate_action_raises_the_minimum(
    aas: Any, sm: Any, admin: Admin, endpoint: str
) -> None:
    create_ic(sm, copies=1)
    register(aas, 1, 4)
    aas.put_scheduled_action(
        **TARGET,
        ScheduledActionName="floor",
        Schedule="rate(5 minutes)",
        ScalableTargetAction={"MinCapacity": 3, "MaxCapacity": 4},
    )
    activity = settled_at(aas, sm, 3)
    assert activity["Cause"] == "scheduled action name floor set the capacity range to [3, 4]"
    (target,) = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 4)
    causes = [a["Cause"] for a in activities(aas)]
    assert "scheduled action name floor was triggered" in causes


def test_suspended_dynamic_scaling_does_nothing(
    aas: Any, sm: Any, admin: Admin, endpoint: str
) -> None:
    create_ic(sm, copies=1)
    register(aas, 1, 8, SuspendedState={"DynamicScalingOutSuspended": True})
    track(aas, target=10.0)
    admin.load("ic", "invocationsPerCopy", value=35)
    ticks_pass(admin, 100)
    assert describe(sm)["RuntimeConfig"]["DesiredCopyCount"] == 1
    aas.register_scalable_target(**TARGET, SuspendedState={"DynamicScalingOutSuspended": False})
    settled_at(aas, sm, 4)


def test_load_admin_errors(admin: Admin, sm: Any, endpoint: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as missing:
        admin.load("absent", "invocationsPerCopy", value=1)
    assert missing.value.code == 404
    create_ic(sm)
    with pytest.raises(urllib.error.HTTPError) as bad:
        admin.load("ic", "cpu", value=1)
    assert bad.value.code == 400
