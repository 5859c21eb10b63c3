"""spec.autoScaling and status.autoScaling: who owns the copy count, the wire forms,
and the status built from Describe readings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ic_operator.models import InferenceComponentSpec, InferenceComponentStatus
from ic_operator.models.autoscaling_requests import STEP_POLICY_NAME
from ic_operator.models.autoscaling_status import (
    COLD_START_MESSAGE,
    auto_scaling_status,
    last_activity,
    scaling_state,
)
from tests.unit.test_crd import example_docs

EXAMPLES = dict(example_docs())


def spec(name: str, **changes: Any) -> InferenceComponentSpec:
    doc = {**EXAMPLES[name]["spec"], **changes}
    return InferenceComponentSpec.parse(doc, creating=True)


def test_with_autoscaling_the_autoscaler_owns_the_copy_count() -> None:
    scaled = spec("autoscaling.yaml:chat-mistral-7b")
    assert scaled.copy_count_owner() == "External"
    # The API server fills in copyCountOwner: Operator; autoScaling still wins.
    explicit = spec(
        "autoscaling.yaml:chat-mistral-7b",
        runtimeConfig={"copyCount": 2, "copyCountOwner": "Operator"},
    )
    assert explicit.copy_count_owner() == "External"
    assert spec("basic.yaml:llama3-8b").copy_count_owner() == "Operator"
    assert spec("autoscaled.yaml:embeddings-bge").copy_count_owner() == "External"


def test_batch_size_rule_does_not_apply_to_an_autoscaled_count() -> None:
    """maximumBatchSize COPY_COUNT <= copyCount/2 is about a count the operator keeps;
    with autoScaling copyCount is only the initial count."""
    doc = {
        **EXAMPLES["autoscaling.yaml:chat-mistral-7b"]["spec"],
        "runtimeConfig": {"copyCount": 1},
        "deploymentConfig": {
            "rollingUpdatePolicy": {
                "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
                "waitIntervalInSeconds": 60,
            }
        },
    }
    InferenceComponentSpec.parse(doc, creating=True)


def test_scale_to_zero_example_requests() -> None:
    scaling = spec("scale-to-zero.yaml:nightly-summarizer").auto_scaling
    assert scaling is not None and scaling.scales_to_zero
    assert scaling.target_request("nightly-summarizer") == {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "inference-component/nightly-summarizer",
        "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
        "MinCapacity": 0,
        "MaxCapacity": 4,
    }
    names = [r["PolicyName"] for r in scaling.policy_requests("nightly-summarizer")]
    assert names == ["invocations", STEP_POLICY_NAME]
    assert scaling.scheduled_action_requests("nightly-summarizer") == []


def test_scheduled_action_request() -> None:
    scaling = spec(
        "autoscaling.yaml:chat-mistral-7b",
        autoScaling={
            **EXAMPLES["autoscaling.yaml:chat-mistral-7b"]["spec"]["autoScaling"],
            "scheduledActions": [
                {
                    "scheduledActionName": "launch week",
                    "schedule": "at(2027-01-04T08:00:00)",
                    "startTime": "2027-01-01T00:00:00Z",
                    "endTime": "2027-01-08T00:00:00Z",
                    "minCopies": 4,
                    "maxCopies": 8,
                }
            ],
        },
    ).auto_scaling
    assert scaling is not None
    assert scaling.scheduled_action_requests("chat") == [
        {
            "ScheduledActionName": "launch week",
            "ServiceNamespace": "sagemaker",
            "ResourceId": "inference-component/chat",
            "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
            "Schedule": "at(2027-01-04T08:00:00)",
            "ScalableTargetAction": {"MinCapacity": 4, "MaxCapacity": 8},
            "StartTime": datetime(2027, 1, 1, tzinfo=UTC),
            "EndTime": datetime(2027, 1, 8, tzinfo=UTC),
        }
    ]


def test_customized_metric_goes_out_in_wire_form() -> None:
    base = EXAMPLES["scale-to-zero.yaml:nightly-summarizer"]["spec"]["autoScaling"]
    policy = {
        "policyName": "queue",
        "targetTracking": {
            "targetValue": 20,
            "customizedMetricSpecification": {
                "metricName": "QueueDepth",
                "namespace": "Team/Serving",
                "dimensions": [{"name": "InferenceComponentName", "value": "nightly-summarizer"}],
                "statistic": "Average",
            },
            "disableScaleIn": True,
        },
    }
    scaling = spec(
        "scale-to-zero.yaml:nightly-summarizer", autoScaling={**base, "policies": [policy]}
    ).auto_scaling
    assert scaling is not None
    (request, _step) = scaling.policy_requests("nightly-summarizer")
    assert request["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 20.0,
        "CustomizedMetricSpecification": {
            "MetricName": "QueueDepth",
            "Namespace": "Team/Serving",
            "Dimensions": [{"Name": "InferenceComponentName", "Value": "nightly-summarizer"}],
            "Statistic": "Average",
        },
        "DisableScaleIn": True,
    }


# --- status ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("registered", "desired", "current", "state"),
    [
        (False, 3, 3, "NotRegistered"),
        (True, 3, 3, "Steady"),
        (True, 4, 2, "Scaling"),
        (True, 0, 1, "Scaling"),
        (True, 0, 0, "AtZero"),
        (True, 1, 0, "Scaling"),
    ],
)
def test_scaling_state(registered: bool, desired: int, current: int, state: str) -> None:
    assert scaling_state(registered, desired, current)[0] == state


def test_status_from_readings() -> None:
    older = {
        "StartTime": datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        "StatusCode": "Successful",
        "Description": "Setting desired copy count to 2.",
        "Cause": "monitor alarm TargetTracking-AlarmLow in state ALARM triggered policy x",
    }
    newest = {
        "StartTime": datetime(2026, 12, 1, 11, 0, tzinfo=UTC),
        "EndTime": datetime(2026, 12, 1, 11, 1, tzinfo=UTC),
        "StatusCode": "Successful",
        "Description": "Setting desired copy count to 0.",
        "Cause": "monitor alarm TargetTracking-AlarmLow in state ALARM triggered policy x",
    }
    status = auto_scaling_status(
        {"MinCapacity": 0, "MaxCapacity": 4},
        [older, newest],
        desired_copies=0,
        current_copies=0,
        registered_by_operator=True,
    )
    assert status.state == "AtZero" and status.message == COLD_START_MESSAGE
    assert status.range == "0-4" and status.registered
    assert status.last_activity is not None
    assert status.last_activity.description == "Setting desired copy count to 0."
    assert status.last_activity.end_time == "2026-12-01T11:01:00+00:00"
    stored = {"autoScaling": status.to_k8s(), "somethingNewer": 1}
    assert InferenceComponentStatus.parse(stored).auto_scaling == status
    assert last_activity([]) is None


def test_status_without_a_target() -> None:
    status = auto_scaling_status(
        None, [], desired_copies=2, current_copies=2, registered_by_operator=True
    )
    assert status.state == "NotRegistered" and not status.registered and status.range is None
