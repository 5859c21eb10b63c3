"""The records Application Auto Scaling keeps: scalable targets, policies, scheduled actions,
activities.

The one kind of target the emulator can scale is `sagemaker` / `inference-component/NAME` /
`sagemaker:inference-component:DesiredCopyCount` (doc [AAS]); each record renders itself as
the Describe* operations answer it.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

from .errors import ApiError
from .protocols import Json

NAMESPACE = "sagemaker"
RESOURCE_PREFIX = "inference-component/"
DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
SERVICE_LINKED_ROLE = (
    "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)
# the cooldown Application Auto Scaling applies when a policy gives none: 300 s for SageMaker
# endpoint variants (doc [AAS]); the same for inference components (inf)
DEFAULT_COOLDOWN = 300

Key = tuple[str, str, str]


class NotFound(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__("ObjectNotFoundException", message)


def key_text(key: Key) -> str:
    return f"service namespace: {key[0]}, resource ID: {key[1]}, scalable dimension: {key[2]}"


@dataclass
class Target:
    key: Key
    arn: str
    min: int
    max: int
    role_arn: str
    created: float
    suspended: Json = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # a registration's bound the component's copy count is outside, applied by the scaler
    pending_bound: str | None = None

    @property
    def component(self) -> str:
        return self.key[1][len(RESOURCE_PREFIX) :]

    def describe(self) -> Json:
        ns, rid, dim = self.key
        return {
            "ServiceNamespace": ns,
            "ResourceId": rid,
            "ScalableDimension": dim,
            "MinCapacity": self.min,
            "MaxCapacity": self.max,
            "RoleARN": self.role_arn,
            "CreationTime": self.created,
            "SuspendedState": {
                "DynamicScalingInSuspended": bool(self.suspended.get("DynamicScalingInSuspended")),
                "DynamicScalingOutSuspended": bool(
                    self.suspended.get("DynamicScalingOutSuspended")
                ),
                "ScheduledScalingSuspended": bool(self.suspended.get("ScheduledScalingSuspended")),
            },
            "ScalableTargetARN": self.arn,
        }


@dataclass
class Policy:
    name: str
    arn: str
    key: Key
    policy_type: str
    created: float
    step: Json | None = None
    target_tracking: Json | None = None
    alarms: list[Json] = field(default_factory=list)
    # service-clock times of this policy's last scale-out and scale-in, for cooldowns
    last_out: float = -math.inf
    last_in: float = -math.inf

    def describe(self) -> Json:
        ns, rid, dim = self.key
        out: Json = {
            "PolicyARN": self.arn,
            "PolicyName": self.name,
            "ServiceNamespace": ns,
            "ResourceId": rid,
            "ScalableDimension": dim,
            "PolicyType": self.policy_type,
            "Alarms": copy.deepcopy(self.alarms),
            "CreationTime": self.created,
        }
        if self.step is not None:
            out["StepScalingPolicyConfiguration"] = copy.deepcopy(self.step)
        if self.target_tracking is not None:
            out["TargetTrackingScalingPolicyConfiguration"] = copy.deepcopy(self.target_tracking)
        return out


@dataclass
class Scheduled:
    name: str
    arn: str
    key: Key
    schedule: str
    created: float
    timezone: str | None = None
    start: float | None = None
    end: float | None = None
    action: Json = field(default_factory=dict)
    # when it next runs: wall clock for at(), the scaler's service seconds for rate()
    due_wall: float | None = None
    due_service: float | None = None
    every: float | None = None

    def describe(self) -> Json:
        ns, rid, dim = self.key
        out: Json = {
            "ScheduledActionName": self.name,
            "ScheduledActionARN": self.arn,
            "ServiceNamespace": ns,
            "Schedule": self.schedule,
            "ResourceId": rid,
            "ScalableDimension": dim,
            "ScalableTargetAction": copy.deepcopy(self.action),
            "CreationTime": self.created,
        }
        if self.timezone is not None:
            out["Timezone"] = self.timezone
        if self.start is not None:
            out["StartTime"] = self.start
        if self.end is not None:
            out["EndTime"] = self.end
        return out


@dataclass
class Activity:
    activity_id: str
    key: Key
    description: str
    cause: str
    start: float
    status: str = "InProgress"
    end: float | None = None
    message: str | None = None
    details: str | None = None

    def describe(self) -> Json:
        ns, rid, dim = self.key
        out: Json = {
            "ActivityId": self.activity_id,
            "ServiceNamespace": ns,
            "ResourceId": rid,
            "ScalableDimension": dim,
            "Description": self.description,
            "Cause": self.cause,
            "StartTime": self.start,
            "StatusCode": self.status,
        }
        if self.end is not None:
            out["EndTime"] = self.end
        if self.message is not None:
            out["StatusMessage"] = self.message
        if self.details is not None:
            out["Details"] = self.details
        return out
