"""The operations the operator may call, per service, and what the door must know of
each service.

docs/iam-policy.json grants exactly these (tests/test_iam_policy.py holds the two equal,
both ways); the SageMaker client is built from a service model that holds only them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ic_operator.aws.errors import ErrorKind, classify_autoscaling, classify_sagemaker

SAGEMAKER = "sagemaker"

OPERATIONS: frozenset[str] = frozenset(
    {
        "CreateInferenceComponent",
        "DescribeInferenceComponent",
        "UpdateInferenceComponent",
        "UpdateInferenceComponentRuntimeConfig",
        "DeleteInferenceComponent",
        "ListInferenceComponents",
        "AddTags",
        "ListTags",
        "DeleteTags",
        # Is the endpoint ready to host a write? One call per endpoint, shared by every
        # component on it (reconcile/endpoint_watch.py).
        "DescribeEndpoint",
    }
)
"""Every SageMaker operation the operator may call; docs/iam-policy.json grants exactly these."""

WRITE_OPERATIONS: frozenset[str] = frozenset(
    {
        "CreateInferenceComponent",
        "UpdateInferenceComponent",
        "UpdateInferenceComponentRuntimeConfig",
        "DeleteInferenceComponent",
        "AddTags",
        "DeleteTags",
    }
)

APPLICATION_AUTOSCALING_OPERATIONS: Final = frozenset(
    {
        "RegisterScalableTarget",
        "DeregisterScalableTarget",
        "DescribeScalableTargets",
        "PutScalingPolicy",
        "DeleteScalingPolicy",
        "DescribeScalingPolicies",
        "PutScheduledAction",
        "DeleteScheduledAction",
        "DescribeScheduledActions",
        "DescribeScalingActivities",
    }
)

CLOUDWATCH_OPERATIONS: Final = frozenset({"PutMetricAlarm", "DescribeAlarms", "DeleteAlarms"})

AUTOSCALING_OPERATIONS: Final = {
    "application-autoscaling": APPLICATION_AUTOSCALING_OPERATIONS,
    "cloudwatch": CLOUDWATCH_OPERATIONS,
}
"""Service (boto3 client name) -> operations; the IAM prefix is the same name."""

AUTOSCALING_WRITE_OPERATIONS: Final = frozenset(
    {
        "RegisterScalableTarget",
        "DeregisterScalableTarget",
        "PutScalingPolicy",
        "DeleteScalingPolicy",
        "PutScheduledAction",
        "DeleteScheduledAction",
        "PutMetricAlarm",
        "DeleteAlarms",
    }
)
"""Writes go first in the shared call budget, as SageMaker's do."""


@dataclass(frozen=True)
class ServiceRules:
    """What the door needs to know of a service besides SageMaker."""

    operations: frozenset[str]  # the allow-list (the IAM policy mirrors it)
    writes: frozenset[str]  # spend the budget's write lane
    classify: Callable[[str, str, int | None], ErrorKind]
    # SageMaker's writes may land though their answer is lost, and are confirmed by
    # reading; autoscaling's puts and deletes are idempotent, so a retry is enough.
    confirms: bool = False


SAGEMAKER_RULES = ServiceRules(OPERATIONS, WRITE_OPERATIONS, classify_sagemaker, confirms=True)


AUTOSCALING_RULES: Final = {
    service: ServiceRules(operations, AUTOSCALING_WRITE_OPERATIONS, classify_autoscaling)
    for service, operations in AUTOSCALING_OPERATIONS.items()
}
"""What the one client door (``SageMakerClient(services=RULES)``) enforces for both."""
