"""Refusals of the operator's credentials or actions: what they name, and saying so once.

A denied action or a rejected credential is a human's problem (an IAM policy, a trust
policy, a revoked key), so the report must say who was refused what on which resource,
and it must not flood the log: a thousand components refused the same action on every
backoff would bury it. :class:`RefusalLog` logs a refusal when it first appears or
changes, and once more when it clears; the per-resource report is the status condition.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from ic_operator.aws.errors import ErrorKind, SageMakerError

log = logging.getLogger("ic_operator.aws")

# IAM's action prefix of each service the operator calls (boto3's name -> IAM's).
IAM_PREFIX: Mapping[str, str] = {
    "sagemaker": "sagemaker",
    "application-autoscaling": "application-autoscaling",
    "cloudwatch": "cloudwatch",
    "sts": "sts",
}

# The request members that name what a call acts on, in the order they are looked for.
_RESOURCE_MEMBERS = (
    ("InferenceComponentName", "inference component"),
    ("ResourceArn", ""),
    ("ResourceId", ""),  # Application Auto Scaling: endpoint/E/variant/V or inference-component/N
    ("EndpointName", "endpoint"),
    ("EndpointNameEquals", "the inference components of endpoint"),
    ("AlarmName", "alarm"),
    ("PolicyName", "scaling policy"),
)
_CREDENTIALS = "*credentials*"  # a credential refusal is one problem whatever the action


def provider_role() -> str:
    """The role botocore's credential provider assumes (IRSA's variable, as the EKS webhook
    sets it); empty when the credentials come from elsewhere. A refused refresh names it."""
    return os.environ.get("AWS_ROLE_ARN", "")


def action_of(service: str, operation: str) -> str:
    return f"{IAM_PREFIX.get(service, service)}:{operation}"


def resource_of(request: Mapping[str, Any]) -> str:
    """What the request acts on, as a person would look for it (empty for a listing)."""
    for member, kind in _RESOURCE_MEMBERS:
        value = request.get(member)
        if isinstance(value, str) and value:
            return f"{kind} {value}" if kind else value
    names = request.get("AlarmNames")
    if isinstance(names, list) and names:
        return "alarms " + ", ".join(str(n) for n in names)
    return ""


class RefusalLog:
    """One log line per refusal when it appears or changes, and one when it clears."""

    def __init__(self) -> None:
        self._active: dict[str, str] = {}  # action (or _CREDENTIALS) -> the code logged

    @staticmethod
    def _key(err: SageMakerError) -> str:
        return _CREDENTIALS if err.kind is ErrorKind.CREDENTIALS else err.action

    def refused(self, err: SageMakerError) -> None:
        # By code, not message: AWS's message names the resource, and a thousand components
        # refused the same action are one problem.
        key = self._key(err)
        if self._active.get(key) == err.code:
            return
        self._active[key] = err.code
        log.warning(
            "%s; components that need it report Degraded and retry with backoff",
            err.refusal(),
        )

    def succeeded(self, action: str) -> None:
        for key in (_CREDENTIALS, action):
            if self._active.pop(key, None) is not None:
                log.info(
                    "%s",
                    "AWS accepts the operator's credentials again"
                    if key == _CREDENTIALS
                    else f"{action} is allowed again",
                )
