"""spec.autoScaling against observed Application Auto Scaling and CloudWatch state: the
calls planned, table by table, and "apply the plan, plan again: nothing" for each.

``aws`` below is a fake of the two services' state (unit tests only): it applies
write calls the way the services document them and answers in their Describe
shapes, with the server-set members (ARNs, creation times, target-tracking alarms)
and the number forms (4 -> 4.0) that normalisation must see through.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters

from ic_operator.autoscaling.plan import (
    Call,
    TargetReading,
    activities_read,
    alarm_read,
    alarm_read_needed,
    detail_reads,
    observed_from,
    owned,
    removal,
    sync_calls,
    target_read,
    with_step_policy_arn,
)
from ic_operator.aws import operations
from ic_operator.models import AutoScaling
from ic_operator.models.autoscaling_requests import (
    SCALABLE_DIMENSION,
    STEP_POLICY_NAME,
    alarm_name,
    resource_id,
)

IC = "chat"
RID = resource_id(IC)
CONCURRENCY = "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
INVOCATIONS = "SageMakerInferenceComponentInvocationsPerCopy"


def scaling(**changes: Any) -> AutoScaling:
    doc: dict[str, Any] = {
        "minCopies": 1,
        "maxCopies": 8,
        "policies": [
            {
                "policyName": "concurrency",
                "targetTracking": {
                    "targetValue": 4,
                    "predefinedMetricSpecification": {"predefinedMetricType": CONCURRENCY},
                    "scaleOutCooldown": 60,
                },
            }
        ],
        "scheduledActions": [
            {
                "scheduledActionName": "mornings",
                "schedule": "cron(0 8 ? * MON-FRI *)",
                "timezone": "Europe/Berlin",
                "minCopies": 2,
            }
        ],
    }
    doc.update(changes)
    return AutoScaling.model_validate(doc)


ZERO = {"minCopies": 0, "scheduledActions": None}


class FakeAws:
    """Application Auto Scaling and CloudWatch state for one component."""

    def __init__(self) -> None:
        self.target: dict[str, Any] | None = None
        self.policies: dict[str, dict[str, Any]] = {}
        self.actions: dict[str, dict[str, Any]] = {}
        self.alarm: dict[str, Any] | None = None

    def observed(self) -> TargetReading:
        return observed_from(
            IC,
            targets={"ScalableTargets": [self.target] if self.target else []},
            policies={"ScalingPolicies": list(self.policies.values())},
            scheduled_actions={"ScheduledActions": list(self.actions.values())},
            alarms={"MetricAlarms": [self.alarm] if self.alarm else []},
        )

    def apply(self, calls: list[Call]) -> None:
        step_arn = None
        for planned in calls:
            call = planned
            if planned.needs_step_policy_arn:
                assert step_arn is not None, "the step policy must be put first"
                call = with_step_policy_arn(planned, step_arn)
            step_arn = self._apply(call) or step_arn

    def _apply(self, call: Call) -> str | None:
        r = dict(call.request)
        op = call.operation
        if op == "RegisterScalableTarget":
            self.target = {
                **(self.target or {"RoleARN": "arn:aws:iam::1:role/slr", "CreationTime": 1}),
                **r,
            }
        elif op == "PutScalingPolicy":
            name = r["PolicyName"]
            arn = (
                f"arn:aws:autoscaling:eu-west-1:1:scalingPolicy:u:resource/{RID}:policyName/{name}"
            )
            stored = _floats(copy.deepcopy(r))
            stored.update(PolicyARN=arn, CreationTime=datetime(2026, 1, 1, tzinfo=UTC))
            if r["PolicyType"] == "TargetTrackingScaling":
                stored["Alarms"] = [{"AlarmName": f"TargetTracking-{RID}-AlarmHigh-x"}]
            self.policies[name] = stored
            return arn if name == STEP_POLICY_NAME else None
        elif op == "PutScheduledAction":
            self.actions[r["ScheduledActionName"]] = {**r, "ScheduledActionARN": "arn:x"}
        elif op == "PutMetricAlarm":
            self.alarm = {**_floats(r), "AlarmArn": "arn:aws:cloudwatch:x", "StateValue": "OK"}
        elif op == "DeleteAlarms":
            self.alarm = None
        elif op == "DeleteScalingPolicy":
            del self.policies[r["PolicyName"]]
        elif op == "DeleteScheduledAction":
            del self.actions[r["ScheduledActionName"]]
        elif op == "DeregisterScalableTarget":
            self.target, self.policies, self.actions = None, {}, {}
        else:
            raise AssertionError(op)
        return None


def _floats(value: Any) -> Any:
    """Numbers as a JSON service echoes doubles: 4 -> 4.0 for the double members."""
    if isinstance(value, dict):
        return {
            k: float(v)
            if k in {"TargetValue", "Threshold", "MetricIntervalLowerBound"}
            else _floats(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return value


def synced(desired: AutoScaling) -> FakeAws:
    aws = FakeAws()
    aws.apply(sync_calls(desired, aws.observed(), IC, owned=True))
    assert sync_calls(desired, aws.observed(), IC, owned=True) == []
    return aws


def ops(calls: list[Call]) -> list[tuple[str, str]]:
    """(operation, the name it is about) per call."""
    out = []
    for c in calls:
        r = c.request
        name = (
            r.get("PolicyName") or r.get("ScheduledActionName") or (r.get("AlarmNames") or [""])[0]
        )
        out.append((c.operation, name or r.get("AlarmName") or r.get("ResourceId", "")))
    return out


# --- creation and sync -----------------------------------------------------------------


def test_from_nothing_registers_then_puts_policy_and_schedule() -> None:
    calls = sync_calls(scaling(), TargetReading(), IC, owned=False)
    assert ops(calls) == [
        ("RegisterScalableTarget", RID),
        ("PutScalingPolicy", "concurrency"),
        ("PutScheduledAction", "mornings"),
    ]
    assert calls[0].request == {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "inference-component/chat",
        "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
        "MinCapacity": 1,
        "MaxCapacity": 8,
    }
    assert calls[1].request == {
        "PolicyName": "concurrency",
        "ServiceNamespace": "sagemaker",
        "ResourceId": "inference-component/chat",
        "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 4.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": CONCURRENCY},
            "ScaleOutCooldown": 60,
        },
    }
    assert calls[2].request["ScalableTargetAction"] == {"MinCapacity": 2}
    assert calls[2].request["Timezone"] == "Europe/Berlin"
    assert all(c.service == "application-autoscaling" for c in calls)


def test_in_sync_is_zero_calls_despite_server_forms() -> None:
    """Server-set members, 4.0 for 4, and cooldown/disableScaleIn defaults filled in by
    the service are all the same as the spec."""
    aws = synced(scaling())
    aws.policies["concurrency"]["TargetTrackingScalingPolicyConfiguration"].update(
        ScaleInCooldown=300, DisableScaleIn=False
    )
    aws.actions["mornings"]["CreationTime"] = datetime(2026, 1, 1, tzinfo=UTC)
    assert sync_calls(scaling(), aws.observed(), IC, owned=True) == []


# --- drift and edits: exactly the calls that differ --------------------------------------


def _edit_policy(aws: FakeAws, **config: Any) -> None:
    aws.policies["concurrency"]["TargetTrackingScalingPolicyConfiguration"].update(config)


@pytest.mark.parametrize(
    ("desired", "drift", "expected"),
    [
        pytest.param(
            scaling(maxCopies=12), None, [("RegisterScalableTarget", RID)], id="max-copies-changed"
        ),
        pytest.param(
            scaling(),
            lambda aws: aws.policies.pop("concurrency"),
            [("PutScalingPolicy", "concurrency")],
            id="policy-deleted-by-hand",
        ),
        pytest.param(
            scaling(),
            lambda aws: _edit_policy(aws, TargetValue=10.0),
            [("PutScalingPolicy", "concurrency")],
            id="policy-target-edited-by-hand",
        ),
        pytest.param(
            scaling(),
            lambda aws: _edit_policy(aws, ScaleInCooldown=30),
            [("PutScalingPolicy", "concurrency")],
            id="default-cooldown-edited-by-hand",
        ),
        pytest.param(
            scaling(),
            lambda aws: aws.target.update(MinCapacity=0),  # type: ignore[union-attr]
            [("RegisterScalableTarget", RID)],
            id="min-capacity-edited-by-hand",
        ),
        pytest.param(
            scaling(),
            lambda aws: aws.policies.__setitem__(
                "extra", {**aws.policies["concurrency"], "PolicyName": "extra"}
            ),
            [("DeleteScalingPolicy", "extra")],
            id="policy-added-by-hand",
        ),
        pytest.param(
            scaling(),
            lambda aws: aws.target.update(  # type: ignore[union-attr]
                SuspendedState={"DynamicScalingInSuspended": True}
            ),
            [],
            id="pause-set-by-hand-stands",
        ),
        pytest.param(
            scaling(),
            lambda aws: aws.actions["mornings"].update(Schedule="cron(0 9 ? * MON-FRI *)"),
            [("PutScheduledAction", "mornings")],
            id="schedule-edited-by-hand",
        ),
        pytest.param(
            scaling(scheduledActions=None),
            None,
            [("DeleteScheduledAction", "mornings")],
            id="scheduled-action-removed-from-spec",
        ),
        pytest.param(
            scaling(
                policies=[
                    {
                        "policyName": "invocations",
                        "targetTracking": {
                            "targetValue": 10,
                            "predefinedMetricSpecification": {"predefinedMetricType": INVOCATIONS},
                        },
                    }
                ]
            ),
            None,
            [("PutScalingPolicy", "invocations"), ("DeleteScalingPolicy", "concurrency")],
            id="policy-renamed",
        ),
    ],
)
def test_only_what_differs_is_written(
    desired: AutoScaling, drift: Any, expected: list[Any]
) -> None:
    aws = synced(scaling())
    if drift is not None:
        drift(aws)
    calls = sync_calls(desired, aws.observed(), IC, owned=True)
    assert ops(calls) == expected
    aws.apply(calls)
    assert sync_calls(desired, aws.observed(), IC, owned=True) == []


def test_scheduled_times_compare_as_instants() -> None:
    desired = scaling(
        scheduledActions=[
            {
                "scheduledActionName": "launch",
                "schedule": "at(2027-01-04T08:00:00)",
                "startTime": "2027-01-01T00:00:00Z",
                "maxCopies": 4,
            }
        ]
    )
    aws = synced(desired)
    aws.actions["launch"]["StartTime"] = datetime.fromisoformat("2027-01-01T01:00:00+01:00")
    aws.actions["launch"]["Timezone"] = "UTC"  # the service's default, echoed
    assert sync_calls(desired, aws.observed(), IC, owned=True) == []


# --- scale to zero -----------------------------------------------------------------------


def test_scale_to_zero_from_nothing_puts_step_policy_then_alarm() -> None:
    desired = scaling(**ZERO)
    calls = sync_calls(desired, TargetReading(), IC, owned=False)
    assert ops(calls) == [
        ("RegisterScalableTarget", RID),
        ("PutScalingPolicy", "concurrency"),
        ("PutScalingPolicy", STEP_POLICY_NAME),
        ("PutMetricAlarm", alarm_name(IC)),
    ]
    step, alarm = calls[2], calls[3]
    assert step.request["PolicyType"] == "StepScaling"
    assert step.request["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity",
        "MetricAggregationType": "Maximum",
        "Cooldown": 60,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
    }
    assert alarm.service == "cloudwatch" and alarm.needs_step_policy_arn
    resolved = with_step_policy_arn(alarm, "arn:step").request
    assert resolved["AlarmActions"] == ["arn:step"]
    assert {k: resolved[k] for k in ("MetricName", "Namespace", "Dimensions", "Statistic")} == {
        "MetricName": "NoCapacityInvocationFailures",
        "Namespace": "AWS/SageMaker",
        "Dimensions": [{"Name": "InferenceComponentName", "Value": IC}],
        "Statistic": "Sum",
    }
    assert resolved["AlarmName"] == "sagemaker-ic-operator-chat-scale-out-from-zero"


@pytest.mark.parametrize(
    ("drift", "expected"),
    [
        pytest.param(
            lambda aws: setattr(aws, "alarm", None), [("PutMetricAlarm", "")], id="alarm-deleted"
        ),
        pytest.param(
            lambda aws: aws.alarm.update(Threshold=5.0),
            [("PutMetricAlarm", "")],
            id="alarm-threshold-edited",
        ),
        pytest.param(
            lambda aws: aws.alarm.update(AlarmActions=[]),
            [("PutMetricAlarm", "")],
            id="alarm-action-removed",
        ),
        pytest.param(
            lambda aws: aws.policies.pop(STEP_POLICY_NAME),
            [("PutScalingPolicy", STEP_POLICY_NAME), ("PutMetricAlarm", "")],
            id="step-policy-deleted",
        ),
        pytest.param(
            lambda aws: aws.alarm.update(StateValue="ALARM", StateReason="fired"),
            [],
            id="alarm-state-is-not-drift",
        ),
    ],
)
def test_scale_to_zero_drift_is_corrected(drift: Any, expected: list[Any]) -> None:
    desired = scaling(**ZERO)
    aws = synced(desired)
    drift(aws)
    calls = sync_calls(desired, aws.observed(), IC, owned=True)
    assert [(op, name if op != "PutMetricAlarm" else "") for op, name in ops(calls)] == expected
    aws.apply(calls)
    assert sync_calls(desired, aws.observed(), IC, owned=True) == []
    assert aws.alarm is not None
    assert aws.alarm["AlarmActions"] == [aws.policies[STEP_POLICY_NAME]["PolicyARN"]]


def test_leaving_scale_to_zero_removes_alarm_then_step_policy() -> None:
    aws = synced(scaling(**ZERO))
    calls = sync_calls(scaling(minCopies=1, scheduledActions=None), aws.observed(), IC, owned=True)
    assert ops(calls) == [
        ("RegisterScalableTarget", RID),
        ("DeleteAlarms", alarm_name(IC)),
        ("DeleteScalingPolicy", STEP_POLICY_NAME),
    ]


# --- removal -----------------------------------------------------------------------------


def test_removal_deletes_alarm_then_deregisters() -> None:
    aws = synced(scaling(**ZERO))
    calls = removal(aws.observed(), IC)
    assert ops(calls) == [("DeleteAlarms", alarm_name(IC)), ("DeregisterScalableTarget", RID)]
    aws.apply(calls)
    assert aws.observed() == TargetReading()
    assert removal(aws.observed(), IC) == []


def test_autoscaling_removed_from_spec_removes_only_what_the_operator_registered() -> None:
    aws = synced(scaling())
    assert ops(sync_calls(None, aws.observed(), IC, owned=True)) == [
        ("DeregisterScalableTarget", RID)
    ]
    # A target someone else registered (copyCountOwner: External) is not ours to remove.
    assert sync_calls(None, aws.observed(), IC, owned=False) == []
    assert owned(None, registered=True) and owned(scaling(), registered=False)
    assert not owned(None, registered=False)


# --- reads -------------------------------------------------------------------------------


def test_observed_keeps_only_this_components_entries() -> None:
    other = {"ResourceId": "inference-component/other", "ScalableDimension": SCALABLE_DIMENSION}
    variant = {"ResourceId": RID, "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"}
    mine = {"ResourceId": RID, "ScalableDimension": SCALABLE_DIMENSION, "MinCapacity": 1}
    seen = observed_from(
        IC,
        targets={"ScalableTargets": [other, variant, mine]},
        policies={"ScalingPolicies": [{**other, "PolicyName": "p"}]},
        alarms={"MetricAlarms": [{"AlarmName": "someone-elses"}]},
    )
    assert seen == TargetReading(target=mine)


def test_alarm_is_read_only_when_it_may_exist() -> None:
    step = [{"PolicyName": STEP_POLICY_NAME}]
    assert alarm_read_needed(scaling(**ZERO), [])
    assert not alarm_read_needed(scaling(), [{"PolicyName": "concurrency"}])
    assert alarm_read_needed(scaling(), step)
    assert alarm_read_needed(None, step)


def test_every_planned_call_is_allowed() -> None:
    """Reads, writes and removal stay inside the autoscaling allow-lists (which
    the IAM policy grants), each under its own service."""
    aws = synced(scaling(**ZERO))
    calls = [
        *sync_calls(scaling(**ZERO), TargetReading(), IC, owned=False),
        *sync_calls(scaling(), aws.observed(), IC, owned=True),
        *sync_calls(scaling(scheduledActions=None), synced(scaling()).observed(), IC, owned=True),
        *removal(aws.observed(), IC),
        target_read(IC),
        *detail_reads(IC),
        alarm_read(IC),
        activities_read(IC),
    ]
    for call in calls:
        assert call.operation in operations.AUTOSCALING_OPERATIONS[call.service], call
    assert {c.operation for c in calls} == set().union(*operations.AUTOSCALING_OPERATIONS.values())


def test_every_planned_request_is_valid_botocore_input() -> None:
    """botocore's own parameter validation (what boto3 runs before sending) accepts
    every request the plan builds, customized metrics and scheduled times included."""
    custom = {
        "policyName": "queue",
        "targetTracking": {
            "targetValue": 20,
            "customizedMetricSpecification": {
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {
                                "metricName": "QueueDepth",
                                "namespace": "Team/Serving",
                                "dimensions": [{"name": "Queue", "value": "chat"}],
                            },
                            "stat": "Average",
                        },
                        "returnData": False,
                    },
                    {"id": "e1", "expression": "m1 / 10", "returnData": True},
                ]
            },
            "scaleInCooldown": 600,
            "disableScaleIn": False,
        },
    }
    timed = {
        "scheduledActionName": "launch",
        "schedule": "at(2027-01-04T08:00:00)",
        "startTime": "2027-01-01T00:00:00Z",
        "endTime": "2027-01-08T00:00:00Z",
        "minCopies": 2,
        "maxCopies": 6,
    }
    desired = scaling(minCopies=0, policies=[custom], scheduledActions=[timed])
    calls = [
        *(
            with_step_policy_arn(c, "arn:step") if c.needs_step_policy_arn else c
            for c in sync_calls(desired, TargetReading(), IC, owned=False)
        ),
        *removal(synced(desired).observed(), IC),
        target_read(IC),
        *detail_reads(IC),
        alarm_read(IC),
        activities_read(IC),
    ]
    session = botocore.session.get_session()
    for call in calls:
        shape = session.get_service_model(call.service).operation_model(call.operation).input_shape
        validate_parameters(dict(call.request), shape)  # raises ParamValidationError
