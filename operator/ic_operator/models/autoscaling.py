"""`spec.autoScaling`: the copy count owned by Application Auto Scaling, declared here.

One block says "this model, 1 to 8 copies, target 4 concurrent requests per copy,
scale to zero when idle"; the operator turns it into the Application Auto Scaling
scalable target, its scaling policies and scheduled actions, and (for
``minCopies: 0``) the step-scaling policy and CloudWatch alarm that SageMaker
documents for scaling out from zero ("Scale an endpoint to zero instances",
SageMaker Developer Guide). Peers make users declare these elsewhere and hope the
two agree.

Members mirror botocore's application-autoscaling model (PutScalingPolicy's
TargetTrackingScalingPolicyConfiguration, PutScheduledAction) with their
constraints; tests/unit/test_botocore_model.py walks the service model to keep it
so. The scalable target's identity (namespace, resource id, dimension) is fixed by
the component and never written by users.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)

from ic_operator.models._base import K8sModel, WireModel

SERVICE_NAMESPACE = "sagemaker"
SCALABLE_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
# The policy and the alarm the operator adds for minCopies: 0. Their names are
# reserved; the alarm's prefix is what docs/iam-policy.json scopes CloudWatch to.
STEP_POLICY_NAME = "sagemaker-ic-operator-scale-out-from-zero"
ALARM_PREFIX = "sagemaker-ic-operator-"
# SageMaker emits NoCapacityInvocationFailures when a request reaches a component
# with no copy to serve it (same guide, "To enable an endpoint to scale out from zero").
NO_CAPACITY_METRIC = "NoCapacityInvocationFailures"
NO_CAPACITY_NAMESPACE = "AWS/SageMaker"
# Application Auto Scaling's cooldown default for SageMaker (user guide, "Define
# cooldown periods"); an unset cooldown compares equal to it.
DEFAULT_COOLDOWN_SECONDS = 300

INFERENCE_COMPONENT_METRICS = (
    "SageMakerInferenceComponentInvocationsPerCopy",
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
)
PredefinedMetricType = Literal[
    "SageMakerInferenceComponentInvocationsPerCopy",
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
]
MetricStatistic = Literal["Average", "Minimum", "Maximum", "SampleCount", "Sum"]

# botocore: [\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]* (XML text).
# The surrogate pair stands for the supplementary planes, which RE2 and Rust's regex
# write as code points; the walk test lists the translation.
XML_TEXT_PATTERN = r"^[\x{20}-\x{D7FF}\x{E000}-\x{FFFD}\x{10000}-\x{10FFFF}\r\n\t]*$"
# botocore: \p{Print}+ (Java: printable ASCII, space included).
POLICY_NAME_PATTERN = r"^[\x20-\x7E]+$"
# botocore: a lookahead meaning "no leading or trailing space, no control character,
# no ':', '/' or '|'" -> the same without lookaround.
_ACTION_CHAR = r"[^\x00-\x1f\x7f-\x9f:/|]"
_ACTION_EDGE = r"[^ \x00-\x1f\x7f-\x9f:/|]"
SCHEDULED_ACTION_NAME_PATTERN = rf"^{_ACTION_EDGE}({_ACTION_CHAR}*{_ACTION_EDGE})?$"

# at(...), rate(...) or cron(...), as PutScheduledAction documents Schedule.
SCHEDULE_FORM = r"^(at|rate|cron)\(.*\)$"

MAX_POLICIES = 49  # Application Auto Scaling allows 50 per target; one is the operator's
MAX_SCHEDULED_ACTIONS = 200  # Application Auto Scaling's quota per scalable target


def _cel(rule: str, message: str) -> JsonValue:
    return {"rule": rule, "message": message}


def _xml(low: int | None = None, high: int | None = None) -> Any:
    return StringConstraints(min_length=low, max_length=high, pattern=XML_TEXT_PATTERN)


def resource_id(component: str) -> str:
    """The scalable target's ResourceId for an inference component."""
    return f"inference-component/{component}"


def alarm_name(component: str) -> str:
    """The operator's scale-out-from-zero alarm; unique per component and Region."""
    return f"{ALARM_PREFIX}{component}-scale-out-from-zero"


def target_key(component: str) -> dict[str, str]:
    """ServiceNamespace, ResourceId and ScalableDimension: every call carries them."""
    return {
        "ServiceNamespace": SERVICE_NAMESPACE,
        "ResourceId": resource_id(component),
        "ScalableDimension": SCALABLE_DIMENSION,
    }


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

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                _cel(
                    "has(self.metrics) ? !(has(self.metricName) || has(self.namespace) || "
                    "has(self.dimensions) || has(self.statistic) || has(self.unit)) : "
                    "(has(self.metricName) && has(self.namespace) && has(self.statistic))",
                    "customizedMetricSpecification: set either metrics, or metricName, "
                    "namespace and statistic",
                )
            ]
        }
    )

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

    @model_validator(mode="after")
    def _one_form(self) -> CustomizedMetricSpecification:
        single = (self.metric_name, self.namespace, self.dimensions, self.statistic, self.unit)
        ok = (
            all(v is None for v in single)
            if self.metrics is not None
            else None not in (self.metric_name, self.namespace, self.statistic)
        )
        if not ok:
            raise ValueError(
                "customizedMetricSpecification: set either metrics, or metricName, namespace "
                "and statistic"
            )
        return self


class TargetTracking(WireModel):
    """Keep a metric at a target value by adding and removing copies
    (botocore ``TargetTrackingScalingPolicyConfiguration``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                _cel(
                    "has(self.predefinedMetricSpecification) != "
                    "has(self.customizedMetricSpecification)",
                    "set exactly one of predefinedMetricSpecification or "
                    "customizedMetricSpecification",
                ),
                _cel("self.targetValue > 0.0", "targetValue must be greater than 0"),
            ]
        }
    )

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

    @model_validator(mode="after")
    def _one_metric(self) -> TargetTracking:
        if (self.predefined_metric_specification is None) == (
            self.customized_metric_specification is None
        ):
            raise ValueError(
                "set exactly one of predefinedMetricSpecification or customizedMetricSpecification"
            )
        if not self.target_value > 0:
            raise ValueError("targetValue must be greater than 0")
        return self


class ScalingPolicy(K8sModel):
    """A target-tracking scaling policy on the component's copy count."""

    policy_name: Annotated[
        str, StringConstraints(min_length=1, max_length=256, pattern=POLICY_NAME_PATTERN)
    ] = Field(
        description=(
            "Name of the policy, unique within autoScaling.policies (printable ASCII, 1-256). "
            f"'{STEP_POLICY_NAME}' is reserved for the operator."
        ),
        json_schema_extra={
            "x-kubernetes-validations": [
                _cel(
                    f"self != '{STEP_POLICY_NAME}'",
                    f"policyName '{STEP_POLICY_NAME}' is reserved for the operator",
                )
            ]
        },
    )
    target_tracking: TargetTracking = Field(
        description="The metric to track, its target value, cooldowns and disableScaleIn.",
    )

    @model_validator(mode="after")
    def _not_reserved(self) -> ScalingPolicy:
        if self.policy_name == STEP_POLICY_NAME:
            raise ValueError(f"policyName '{STEP_POLICY_NAME}' is reserved for the operator")
        return self

    def put_request(self, component: str) -> dict[str, Any]:
        """PutScalingPolicy keyword arguments."""
        return {
            "PolicyName": self.policy_name,
            **target_key(component),
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": self.target_tracking.to_aws(),
        }


# --- scheduled actions ----------------------------------------------------------------


class ScheduledAction(K8sModel):
    """Change minCopies/maxCopies on a schedule (botocore ``PutScheduledAction``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                _cel(
                    "has(self.minCopies) || has(self.maxCopies)",
                    "a scheduled action sets minCopies, maxCopies or both",
                ),
                _cel(
                    "!has(self.minCopies) || !has(self.maxCopies) || "
                    "self.minCopies <= self.maxCopies",
                    "minCopies must be at most maxCopies",
                ),
            ]
        }
    )

    scheduled_action_name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=256, pattern=SCHEDULED_ACTION_NAME_PATTERN),
    ] = Field(
        description=(
            "Name of the action, unique within scheduledActions (1-256 characters; no "
            "leading or trailing space, no control characters, ':', '/' or '|')."
        ),
    )
    schedule: Annotated[str, _xml(1, 1600)] = Field(
        description=(
            "When to run: at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(minutes hours "
            "day-of-month month day-of-week year)."
        ),
        json_schema_extra={
            "x-kubernetes-validations": [
                _cel(
                    f"self.matches(r'{SCHEDULE_FORM}')",
                    "schedule must be at(...), rate(...) or cron(...)",
                )
            ]
        },
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

    @field_validator("schedule")
    @classmethod
    def _schedule_form(cls, value: str) -> str:
        if not re.fullmatch(SCHEDULE_FORM, value):
            raise ValueError("schedule must be at(...), rate(...) or cron(...)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ScheduledAction:
        if self.min_copies is None and self.max_copies is None:
            raise ValueError("a scheduled action sets minCopies, maxCopies or both")
        if (
            self.min_copies is not None
            and self.max_copies is not None
            and self.min_copies > self.max_copies
        ):
            raise ValueError("minCopies must be at most maxCopies")
        return self

    def put_request(self, component: str) -> dict[str, Any]:
        """PutScheduledAction keyword arguments."""
        action: dict[str, int] = {}
        if self.min_copies is not None:
            action["MinCapacity"] = self.min_copies
        if self.max_copies is not None:
            action["MaxCapacity"] = self.max_copies
        request: dict[str, Any] = {
            "ScheduledActionName": self.scheduled_action_name,
            **target_key(component),
            "Schedule": self.schedule,
            "ScalableTargetAction": action,
        }
        for key, value in (
            ("Timezone", self.timezone),
            ("StartTime", self.start_time),
            ("EndTime", self.end_time),
        ):
            if value is not None:
                request[key] = value
        return request


# --- the block ------------------------------------------------------------------------

_UNIQUE_POLICY_NAMES = _cel(
    "self.all(p, self.exists_one(q, q.policyName == p.policyName))",
    "policies need distinct policyNames",
)
_UNIQUE_ACTION_NAMES = _cel(
    "self.all(a, self.exists_one(b, b.scheduledActionName == a.scheduledActionName))",
    "scheduledActions need distinct scheduledActionNames",
)


class AutoScaling(K8sModel):
    """Application Auto Scaling owns the copy count, within [minCopies, maxCopies]."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                _cel("self.minCopies <= self.maxCopies", "minCopies must be at most maxCopies"),
            ]
        }
    )

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
        json_schema_extra={"x-kubernetes-validations": [_UNIQUE_POLICY_NAMES]},
    )
    scheduled_actions: list[ScheduledAction] | None = Field(
        default=None,
        max_length=MAX_SCHEDULED_ACTIONS,
        description="Changes of minCopies/maxCopies on a schedule (at most 200).",
        json_schema_extra={"x-kubernetes-validations": [_UNIQUE_ACTION_NAMES]},
    )

    @model_validator(mode="after")
    def _consistent(self) -> AutoScaling:
        if self.min_copies > self.max_copies:
            raise ValueError("minCopies must be at most maxCopies")
        names = [p.policy_name for p in self.policies]
        if len(set(names)) != len(names):
            raise ValueError("policies need distinct policyNames")
        actions = [a.scheduled_action_name for a in self.scheduled_actions or []]
        if len(set(actions)) != len(actions):
            raise ValueError("scheduledActions need distinct scheduledActionNames")
        return self

    @property
    def scales_to_zero(self) -> bool:
        return self.min_copies == 0

    # --- requests ---------------------------------------------------------------------

    def target_request(self, component: str) -> dict[str, Any]:
        """RegisterScalableTarget keyword arguments. RoleARN is left out: Application
        Auto Scaling then uses (and on first use creates) its SageMaker service-linked
        role. SuspendedState is left out too, so a pause set by hand is not undone."""
        return {
            **target_key(component),
            "MinCapacity": self.min_copies,
            "MaxCapacity": self.max_copies,
        }

    def policy_requests(self, component: str) -> list[dict[str, Any]]:
        """PutScalingPolicy keyword arguments for every policy, the step policy last."""
        requests = [p.put_request(component) for p in self.policies]
        if self.scales_to_zero:
            requests.append(step_policy_request(component))
        return requests

    def scheduled_action_requests(self, component: str) -> list[dict[str, Any]]:
        return [a.put_request(component) for a in self.scheduled_actions or []]


# The step policy SageMaker documents for scaling out from zero: one copy whenever
# the no-capacity alarm fires.
STEP_SCALING_CONFIGURATION: dict[str, Any] = {
    "AdjustmentType": "ChangeInCapacity",
    "MetricAggregationType": "Maximum",
    "Cooldown": 60,
    "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
}


def step_policy_request(component: str) -> dict[str, Any]:
    """PutScalingPolicy keyword arguments of the scale-out-from-zero step policy."""
    return {
        "PolicyName": STEP_POLICY_NAME,
        **target_key(component),
        "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": STEP_SCALING_CONFIGURATION,
    }


def alarm_request(component: str, step_policy_arn: str) -> dict[str, Any]:
    """PutMetricAlarm keyword arguments of the scale-out-from-zero alarm.

    SageMaker's guide uses Sum over 60 s with GreaterThanThreshold 1, which needs two
    failed requests in a minute; GreaterThanOrEqualToThreshold wakes the component on
    the first. Missing data (no requests at all) is not breaching: idle stays idle.
    """
    return {
        "AlarmName": alarm_name(component),
        "AlarmDescription": (
            f"sagemaker-ic-operator: add a copy of inference component {component} when a "
            "request finds none (scale out from zero)."
        ),
        "ActionsEnabled": True,
        "AlarmActions": [step_policy_arn],
        "MetricName": NO_CAPACITY_METRIC,
        "Namespace": NO_CAPACITY_NAMESPACE,
        "Statistic": "Sum",
        "Dimensions": [{"Name": "InferenceComponentName", "Value": component}],
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }
