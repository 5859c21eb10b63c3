"""The Application Auto Scaling and CloudWatch operations the operator may call.

The counterpart of ``sagemaker.OPERATIONS`` for spec.autoScaling: the client that
sends ``autoscaling_plan.Call``s must refuse anything else, and docs/iam-policy.json
grants exactly these (tests/test_iam_policy.py holds the two equal, both ways).
Kept apart from sagemaker.py so the allow-list of each service is read in one place.
"""

from __future__ import annotations

from typing import Final

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

OPERATIONS: Final = {
    "application-autoscaling": APPLICATION_AUTOSCALING_OPERATIONS,
    "cloudwatch": CLOUDWATCH_OPERATIONS,
}
"""Service (boto3 client name) -> operations; the IAM prefix is the same name."""

WRITE_OPERATIONS: Final = frozenset(
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
