"""How SageMaker rolls out a change of the specification: batches, bake time, rollback.

Sent with every UpdateInferenceComponent that carries the specification, and
mirrored from botocore's `InferenceComponentDeploymentConfig` like the rest of the
spec; the percent bounds the model does not carry come from rules.py.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from ic_operator.models._base import WireModel
from ic_operator.models.patterns import ALARM_NAME_PATTERN, CapacitySizeType
from ic_operator.models.rules import BATCH_PERCENT, ROLLBACK_BATCH_PERCENT


class CapacitySize(WireModel):
    """A batch size, as a number of copies or a percentage of capacity."""

    type: CapacitySizeType = Field(
        description="COPY_COUNT: value is a number of copies. CAPACITY_PERCENT: a percentage.",
    )
    value: int = Field(ge=1, description="Number of copies or percentage, depending on type.")


class RollingUpdatePolicy(WireModel):
    """Replace copies in batches, watching alarms after each batch."""

    rules = (BATCH_PERCENT, ROLLBACK_BATCH_PERCENT)

    maximum_batch_size: CapacitySize = Field(
        description=(
            "Copies replaced per step: CAPACITY_PERCENT 5-50, or COPY_COUNT of at most half "
            "of runtimeConfig.copyCount."
        ),
    )
    wait_interval_in_seconds: int = Field(
        ge=0,
        le=3600,
        description=(
            "Bake time after each batch (0-3600 s), during which the rollback alarms are watched."
        ),
    )
    maximum_execution_timeout_in_seconds: int | None = Field(
        default=None,
        ge=600,
        le=28800,
        description="Time limit for the whole deployment (600-28800 s); exceeding it fails it.",
    )
    rollback_maximum_batch_size: CapacitySize | None = Field(
        default=None,
        description=(
            "Copies restored per step when rolling back. Absent means all at once (100%, "
            "blue/green)."
        ),
    )


class Alarm(WireModel):
    """A CloudWatch alarm that rolls the deployment back when it fires."""

    alarm_name: Annotated[
        str, StringConstraints(min_length=1, max_length=255, pattern=ALARM_NAME_PATTERN)
    ] = Field(description="Name of a CloudWatch alarm in the same account and Region.")


class AutoRollbackConfiguration(WireModel):
    """Alarms that make SageMaker roll a deployment back."""

    alarms: list[Alarm] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description=(
            "CloudWatch alarms (1-10) watched during the deployment; if one fires, SageMaker "
            "rolls back and the operator reports lastDeployment.outcome: RolledBack."
        ),
    )


class DeploymentConfig(WireModel):
    """How SageMaker rolls out a spec change (sent with every UpdateInferenceComponent)."""

    rolling_update_policy: RollingUpdatePolicy = Field(
        description="Batch size, bake time and time limit of the rolling update.",
    )
    auto_rollback_configuration: AutoRollbackConfiguration | None = Field(
        default=None,
        description="CloudWatch alarms that roll the update back when they fire.",
    )
