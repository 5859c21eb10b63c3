"""The Application Auto Scaling and CloudWatch operations the operator may call.

The counterpart of ``sagemaker.OPERATIONS`` for spec.autoScaling: the client that
sends ``autoscaling_plan.Call``s must refuse anything else, and docs/iam-policy.json
grants exactly these (tests/test_iam_policy.py holds the two equal, both ways).
Kept apart from sagemaker.py so the allow-list of each service is read in one place.
"""

from __future__ import annotations

from typing import Final

from ic_operator.aws import client as sagemaker
from ic_operator.aws.client import ErrorKind, ServiceRules

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


_KINDS: Final = {
    # Application Auto Scaling
    "ObjectNotFoundException": ErrorKind.NOT_FOUND,
    "ResourceNotFoundException": ErrorKind.NOT_FOUND,
    "ConcurrentUpdateException": ErrorKind.BUSY,
    "LimitExceededException": ErrorKind.CAPACITY,
    # Application Auto Scaling could not read the policy's alarms: a permission problem
    # of the caller or its service-linked role.
    "FailedResourceAccessException": ErrorKind.ACCESS_DENIED,
    "InternalServiceException": ErrorKind.RETRYABLE,
    # CloudWatch (wire codes, which differ from the shape names)
    "ResourceNotFound": ErrorKind.NOT_FOUND,
    "ConcurrentModificationException": ErrorKind.BUSY,
    "ResourceConflict": ErrorKind.BUSY,
    "LimitExceeded": ErrorKind.CAPACITY,
    "InternalServiceError": ErrorKind.RETRYABLE,
    "InvalidParameterValue": ErrorKind.INVALID,
    "InvalidParameterCombination": ErrorKind.INVALID,
    "MissingParameter": ErrorKind.INVALID,
    "ValidationError": ErrorKind.INVALID,
}


def classify(code: str, message: str, http_status: int | None = None) -> ErrorKind:
    """The ErrorKind of an Application Auto Scaling or CloudWatch error, so that the
    loop decides on the same kinds as for SageMaker. Codes both services share with
    SageMaker (throttling, access denied, ValidationException with SageMaker's
    "while it is in state" wording, which Application Auto Scaling passes through)
    go to SageMaker's classification."""
    kind = _KINDS.get(code)
    return kind if kind is not None else sagemaker.classify(code, message, http_status)


RULES: Final = {
    service: ServiceRules(operations, WRITE_OPERATIONS, classify)
    for service, operations in OPERATIONS.items()
}
"""What the one client door (``SageMakerClient(services=RULES)``) enforces for both."""
