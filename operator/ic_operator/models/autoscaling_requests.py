"""The Application Auto Scaling and CloudWatch requests `spec.autoScaling` becomes.

The scalable target's identity (namespace, resource id, dimension) is fixed by the
component and never written by users; the step policy and the alarm for
``minCopies: 0`` are the ones SageMaker documents for scaling out from zero ("Scale
an endpoint to zero instances", SageMaker Developer Guide). `AutoScaling` binds the
builders that take it as methods, so callers write ``scaling.policy_requests(name)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ic_operator.models.autoscaling import AutoScaling, ScalingPolicy, ScheduledAction

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


def target_request(scaling: AutoScaling, component: str) -> dict[str, Any]:
    """RegisterScalableTarget keyword arguments. RoleARN is left out: Application
    Auto Scaling then uses (and on first use creates) its SageMaker service-linked
    role. SuspendedState is left out too, so a pause set by hand is not undone."""
    return {
        **target_key(component),
        "MinCapacity": scaling.min_copies,
        "MaxCapacity": scaling.max_copies,
    }


def policy_requests(scaling: AutoScaling, component: str) -> list[dict[str, Any]]:
    """PutScalingPolicy keyword arguments for every policy, the step policy last."""
    requests = [_policy_request(p, component) for p in scaling.policies]
    if scaling.scales_to_zero:
        requests.append(step_policy_request(component))
    return requests


def scheduled_action_requests(scaling: AutoScaling, component: str) -> list[dict[str, Any]]:
    """PutScheduledAction keyword arguments for every scheduled action."""
    return [_scheduled_action_request(a, component) for a in scaling.scheduled_actions or []]


def _policy_request(policy: ScalingPolicy, component: str) -> dict[str, Any]:
    return {
        "PolicyName": policy.policy_name,
        **target_key(component),
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": policy.target_tracking.to_aws(),
    }


def _scheduled_action_request(action: ScheduledAction, component: str) -> dict[str, Any]:
    bounds: dict[str, int] = {}
    if action.min_copies is not None:
        bounds["MinCapacity"] = action.min_copies
    if action.max_copies is not None:
        bounds["MaxCapacity"] = action.max_copies
    request: dict[str, Any] = {
        "ScheduledActionName": action.scheduled_action_name,
        **target_key(component),
        "Schedule": action.schedule,
        "ScalableTargetAction": bounds,
    }
    for key, value in (
        ("Timezone", action.timezone),
        ("StartTime", action.start_time),
        ("EndTime", action.end_time),
    ):
        if value is not None:
            request[key] = value
    return request


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
