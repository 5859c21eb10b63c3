"""The operator's autoscaling plan against the emulator: accepted, read back in sync.

For every example with spec.autoScaling: the calls the operator's planner makes are
accepted by the emulator (model validation and service rules), and what the emulator's
Describe calls return then plans to nothing (the planner's normalisation agrees with the
emulator's echo); removal leaves no target, policy or alarm behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ic_operator.autoscaling import plan as planning
from ic_operator.models.autoscaling import AutoScaling
from tests.emulator.helpers import create_ic

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _autoscaled() -> list[Path]:
    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and "autoScaling" in (doc.get("spec") or {}):
                found.append(path)
                break
    return found


def _spec(path: Path) -> dict[str, Any]:
    for doc in yaml.safe_load_all(path.read_text()):
        if isinstance(doc, dict) and "autoScaling" in (doc.get("spec") or {}):
            spec: dict[str, Any] = doc["spec"]["autoScaling"]
            return spec
    raise AssertionError(path)


def observe(aas: Any, cw: Any, component: str) -> planning.TargetReading:
    def run(call: planning.Call) -> Any:
        client = aas if call.service == planning.AAS else cw
        return getattr(client, _snake(call.operation))(**call.request)

    targets = run(planning.target_read(component))
    policies = scheduled = None
    if targets["ScalableTargets"]:
        policies, scheduled = (run(c) for c in planning.detail_reads(component))
    alarms = run(planning.alarm_read(component))
    return planning.observed_from(
        component,
        targets=targets,
        policies=policies,
        scheduled_actions=scheduled,
        alarms=alarms,
    )


def apply(aas: Any, cw: Any, calls: list[planning.Call]) -> None:
    step_arn = None
    for planned in calls:
        call = planned
        if planned.needs_step_policy_arn:
            assert step_arn is not None, "the step policy is planned before its alarm"
            call = planning.with_step_policy_arn(planned, step_arn)
        client = aas if call.service == planning.AAS else cw
        result = getattr(client, _snake(call.operation))(**call.request)
        if call.operation == "PutScalingPolicy" and "StepScalingPolicyConfiguration" in (
            call.request
        ):
            step_arn = result["PolicyARN"]


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


@pytest.mark.parametrize("example", _autoscaled(), ids=lambda p: p.stem)
def test_plan_is_accepted_and_reads_back_in_sync(
    example: Path, aas: Any, cw: Any, sm: Any, endpoint: str
) -> None:
    desired = AutoScaling.model_validate(_spec(example))
    create_ic(sm, "ic", copies=max(1, desired.min_copies))
    first = planning.sync_calls(desired, observe(aas, cw, "ic"), "ic", owned=True)
    assert first, "nothing exists yet, so something must be created"
    apply(aas, cw, first)
    assert planning.sync_calls(desired, observe(aas, cw, "ic"), "ic", owned=True) == []
    removal = planning.sync_calls(None, observe(aas, cw, "ic"), "ic", owned=True)
    apply(aas, cw, removal)
    after = observe(aas, cw, "ic")
    assert after.target is None and after.alarm is None
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert cw.describe_alarms()["MetricAlarms"] == []
