"""`spec.autoScaling`: the copy count owned by Application Auto Scaling, declared here.

One block says "this model, 1 to 8 copies, target 4 concurrent requests per copy,
scale to zero when idle"; the operator turns it into the Application Auto Scaling
scalable target, its scaling policies and scheduled actions, and (for
``minCopies: 0``) the step-scaling policy and CloudWatch alarm that SageMaker
documents for scaling out from zero (autoscaling_requests builds those requests).
Peers make users declare these elsewhere and hope the two agree.

Members mirror botocore's application-autoscaling model (PutScalingPolicy's
TargetTrackingScalingPolicyConfiguration, PutScheduledAction) with their
constraints; tests/unit/test_botocore_model.py walks the service model to keep it
so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from ic_operator.models import autoscaling_requests
from ic_operator.models._base import K8sModel, WireModel
from ic_operator.models.autoscaling_requests import STEP_POLICY_NAME
from ic_operator.models.patterns import (
    MAX_POLICIES,
    MAX_SCHEDULED_ACTIONS,
    POLICY_NAME_PATTERN,
    SCHEDULED_ACTION_NAME_PATTERN,
    MetricStatistic,
    PredefinedMetricType,
)
from ic_operator.models.patterns import xml_text as _xml
from ic_operator.models.rules import (
    DISTINCT_ACTION_NAMES,
    DISTINCT_POLICY_NAMES,
    MIN_AT_MOST_MAX,
    NOT_THE_STEP_POLICY,
    ONE_CUSTOMIZED_METRIC_FORM,
    ONE_METRIC,
    POSITIVE_TARGET,
    SCHEDULE_EXPRESSION,
    SCHEDULED_ACTION_SETS_A_BOUND,
    SCHEDULED_MIN_AT_MOST_MAX,
)

# --- target tracking ------------------------------------------------------------------


class PredefinedMetricSpecification(WireModel):
    """One of the metrics SageMaker publishes per inference component copy."""

    predefined_metric_type: PredefinedMetricType = Field(
        description=(
            "SageMakerInferenceComponentInvocationsPerCopy (invocations per copy per minute) "
            "or SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution "
            "(concurrent requests per copy, published every 10 seconds)."
        ),
    )


class MetricDimension(WireModel):
    """A CloudWatch dimension of a customized metric."""

    name: str = Field(description="Dimension name, for example InferenceComponentName.")
    value: str = Field(description="Dimension value.")


class TargetTrackingMetricDimension(WireModel):
    """A dimension of a metric in a metric math query."""

    name: Annotated[str, _xml(1, 255)] = Field(description="Dimension name.")
    value: Annotated[str, _xml(1, 1024)] = Field(description="Dimension value.")


class TargetTrackingMetric(WireModel):
    """A CloudWatch metric: namespace, name and dimensions."""

    dimensions: list[TargetTrackingMetricDimension] | None = Field(
        default=None, description="The metric's dimensions, all of them, as published."
    )
    metric_name: Annotated[str, _xml(1, 255)] | None = Field(
        default=None, description="Name of the metric."
    )
    namespace: Annotated[str, _xml(1, 255)] | None = Field(
        default=None, description="Namespace of the metric, for example AWS/SageMaker."
    )


class TargetTrackingMetricStat(WireModel):
    """A metric with the statistic that turns it into one number per period."""

    metric: TargetTrackingMetric = Field(description="The CloudWatch metric.")
    stat: Annotated[str, _xml()] = Field(
        description="Statistic: Average, Sum, Maximum, p99 and so on (Average recommended)."
    )
    unit: Annotated[str, _xml(1, 1023)] | None = Field(
        default=None, description="Unit of the metric, when it is published with one."
    )


class TargetTrackingMetricDataQuery(WireModel):
    """One metric or metric math expression of a customized metric."""

    expression: Annotated[str, _xml(1, 2048)] | None = Field(
        default=None,
        description="Metric math over the other queries' ids; set this or metricStat.",
    )
    id: Annotated[str, _xml(1, 255)] = Field(
        description="Identifier the expressions refer to (unique within metrics)."
    )
    label: Annotated[str, _xml()] | None = Field(
        default=None, description="Human-readable label of this query."
    )
    metric_stat: TargetTrackingMetricStat | None = Field(
        default=None, description="The metric and statistic; set this or expression."
    )
    return_data: bool | None = Field(
        default=None,
        description="True on exactly one query: the value scaling tracks (default true).",
    )


class CustomizedMetricSpecification(WireModel):
    """A CloudWatch metric of your own to track instead of a predefined one."""

    rules = (ONE_CUSTOMIZED_METRIC_FORM,)

    metric_name: str | None = Field(default=None, description="Name of the metric.")
    namespace: str | None = Field(default=None, description="Namespace of the metric.")
    dimensions: list[MetricDimension] | None = Field(
        default=None, description="The metric's dimensions, all of them, as published."
    )
    statistic: MetricStatistic | None = Field(
        default=None, description="Average, Minimum, Maximum, SampleCount or Sum."
    )
    unit: str | None = Field(default=None, description="Unit of the metric.")
    metrics: list[TargetTrackingMetricDataQuery] | None = Field(
        default=None,
        description="Metric math queries instead of a single metric (metricName etc. unset).",
    )


class TargetTracking(WireModel):
    """Keep a metric at a target value by adding and removing copies
    (botocore ``TargetTrackingScalingPolicyConfiguration``)."""

    rules = (ONE_METRIC, POSITIVE_TARGET)

    target_value: float = Field(
        description=(
            "Value of the metric to hold, per copy: for example 4 concurrent requests per copy."
        ),
    )
    predefined_metric_specification: PredefinedMetricSpecification | None = Field(
        default=None, description="A metric SageMaker publishes per copy."
    )
    customized_metric_specification: CustomizedMetricSpecification | None = Field(
        default=None, description="A CloudWatch metric of your own."
    )
    scale_out_cooldown: int | None = Field(
        default=None,
        ge=0,
        description="Seconds to wait after a scale-out before another (default 300).",
    )
    scale_in_cooldown: int | None = Field(
        default=None,
        ge=0,
        description="Seconds after a scale-in before another scale-in may start (default 300).",
    )
    disable_scale_in: bool | None = Field(
        default=None,
        description="True: this policy only adds copies; something else removes them.",
    )


class ScalingPolicy(K8sModel):
    """A target-tracking scaling policy on the component's copy count."""

    rules = (NOT_THE_STEP_POLICY,)

    policy_name: Annotated[
        str, StringConstraints(min_length=1, max_length=256, pattern=POLICY_NAME_PATTERN)
    ] = Field(
        description=(
            "Name of the policy, unique within autoScaling.policies (printable ASCII, 1-256). "
            f"'{STEP_POLICY_NAME}' is reserved for the operator."
        ),
    )
    target_tracking: TargetTracking = Field(
        description="The metric to track, its target value, cooldowns and disableScaleIn.",
    )


# --- scheduled actions ----------------------------------------------------------------


class ScheduledAction(K8sModel):
    """Change minCopies/maxCopies on a schedule (botocore ``PutScheduledAction``)."""

    rules = (SCHEDULED_ACTION_SETS_A_BOUND, SCHEDULED_MIN_AT_MOST_MAX)

    scheduled_action_name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=256, pattern=SCHEDULED_ACTION_NAME_PATTERN),
    ] = Field(
        description=(
            "Name of the action, unique within scheduledActions (1-256 characters; no "
            "leading or trailing space, no control characters, ':', '/' or '|')."
        ),
    )
    schedule: Annotated[str, _xml(1, 1600), SCHEDULE_EXPRESSION] = Field(
        description=(
            "When to run: at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(minutes hours "
            "day-of-month month day-of-week year)."
        ),
    )
    timezone: Annotated[str, _xml(1, 1600)] | None = Field(
        default=None,
        description="IANA time zone of at and cron expressions, for example Europe/Berlin "
        "(default UTC).",
    )
    start_time: datetime | None = Field(
        default=None, description="The action is not run before this time (RFC 3339)."
    )
    end_time: datetime | None = Field(
        default=None, description="The action is not run after this time (RFC 3339)."
    )
    min_copies: int | None = Field(
        default=None, ge=0, description="minCopies from this time on (MinCapacity)."
    )
    max_copies: int | None = Field(
        default=None, ge=1, description="maxCopies from this time on (MaxCapacity)."
    )


# --- the block ------------------------------------------------------------------------


class AutoScaling(K8sModel):
    """Application Auto Scaling owns the copy count, within [minCopies, maxCopies]."""

    rules = (MIN_AT_MOST_MAX, DISTINCT_POLICY_NAMES, DISTINCT_ACTION_NAMES)

    min_copies: int = Field(
        ge=0,
        description=(
            "Fewest copies the autoscaler may leave (MinCapacity). 0 scales to zero when idle: "
            "the operator adds a step-scaling policy and a CloudWatch alarm on "
            "NoCapacityInvocationFailures that bring a copy back on the first request. Needs "
            "an endpoint whose variant has ManagedInstanceScaling with MinInstanceCount 0."
        ),
    )
    max_copies: int = Field(ge=1, description="Most copies the autoscaler may run (MaxCapacity).")
    policies: list[ScalingPolicy] = Field(
        min_length=1,
        max_length=MAX_POLICIES,
        description="Target-tracking policies (1-49); each adds copies when its metric is "
        "above target and removes them when below.",
    )
    scheduled_actions: list[ScheduledAction] | None = Field(
        default=None,
        max_length=MAX_SCHEDULED_ACTIONS,
        description="Changes of minCopies/maxCopies on a schedule (at most 200).",
    )

    @property
    def scales_to_zero(self) -> bool:
        return self.min_copies == 0

    # The AWS requests this block becomes (autoscaling_requests), bound as methods.
    target_request: ClassVar = autoscaling_requests.target_request
    policy_requests: ClassVar = autoscaling_requests.policy_requests
    scheduled_action_requests: ClassVar = autoscaling_requests.scheduled_action_requests
