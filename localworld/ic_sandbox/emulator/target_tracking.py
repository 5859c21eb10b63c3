"""Target tracking: the predefined metrics and the CloudWatch alarms a policy creates.

PutScalingPolicy with a target tracking configuration creates (or updates) a high alarm and,
unless scale-in is disabled, a low one, as AWS does; the scaler evaluates them like any
other alarm and invokes the policy named in their actions.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass

from .cloudwatch import CloudWatch
from .errors import validation
from .protocols import Json
from .scaling_records import DIMENSION, Policy


@dataclass(frozen=True)
class Metric:
    """A predefined metric: what target tracking alarms on (names doc, alarm shape inf)."""

    name: str
    statistic: str
    period: int
    high_periods: int
    low_periods: int


PREDEFINED: dict[str, Metric] = {
    "SageMakerInferenceComponentInvocationsPerCopy": Metric(
        "InvocationsPerCopy", "Sum", 60, high_periods=3, low_periods=15
    ),
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": Metric(
        "ConcurrentRequestsPerCopy", "Maximum", 10, high_periods=3, low_periods=15
    ),
}


def check_tracking(tracking: Json) -> None:
    predefined = tracking.get("PredefinedMetricSpecification")
    custom = tracking.get("CustomizedMetricSpecification")
    if (predefined is None) == (custom is None):
        raise validation(
            "Exactly one of PredefinedMetricSpecification and "
            "CustomizedMetricSpecification must be specified."
        )
    if predefined is not None and predefined["PredefinedMetricType"] not in PREDEFINED:
        raise validation(
            f"Predefined metric type {predefined['PredefinedMetricType']} is not supported "
            f"for scalable dimension {DIMENSION}. Use one of: {', '.join(PREDEFINED)}."
        )
    if custom is not None and custom.get("Metrics") is None:
        missing = [k for k in ("MetricName", "Namespace", "Statistic") if not custom.get(k)]
        if missing:
            raise validation(
                f"CustomizedMetricSpecification requires {', '.join(missing)} "
                "unless Metrics is specified."
            )


def tracking_alarms(cloudwatch: CloudWatch, policy: Policy, tracking: Json) -> None:
    """Create or update the alarms AWS creates for a target tracking policy.

    `TargetTracking-<resource id>-AlarmHigh-<uuid>` (and `-AlarmLow-` unless scale-in is
    disabled), described "DO NOT EDIT OR DELETE", with the policy ARN as their action
    (obs: the names and description AWS gives target tracking alarms). Names are kept on
    update; an update that disables scale-in deletes the low alarm.
    """
    rid = policy.key[1]
    target = float(tracking["TargetValue"])
    predefined = tracking.get("PredefinedMetricSpecification")
    custom = tracking.get("CustomizedMetricSpecification") or {}
    metric_part: Json
    high_periods, low_periods = 3, 15
    if predefined is not None:
        metric = PREDEFINED[predefined["PredefinedMetricType"]]
        metric_part = {
            "Namespace": "AWS/SageMaker",
            "MetricName": metric.name,
            "Statistic": metric.statistic,
            "Dimensions": [{"Name": "InferenceComponentName", "Value": rid.split("/", 1)[1]}],
            "Period": metric.period,
        }
        high_periods, low_periods = metric.high_periods, metric.low_periods
    elif custom.get("Metrics") is not None:
        metric_part = {
            "Metrics": [
                {
                    k: copy.deepcopy(v)
                    for k, v in q.items()
                    if k in ("Id", "Expression", "Label", "MetricStat", "ReturnData")
                }
                for q in custom["Metrics"]
            ]
        }
    else:
        metric_part = {
            "Namespace": custom["Namespace"],
            "MetricName": custom["MetricName"],
            "Statistic": custom["Statistic"],
            "Dimensions": copy.deepcopy(custom.get("Dimensions") or []),
            "Period": 60,
        }
        if custom.get("Unit"):
            metric_part["Unit"] = custom["Unit"]
    names = {
        ("AlarmHigh" if "-AlarmHigh-" in a["AlarmName"] else "AlarmLow"): a for a in policy.alarms
    }
    wanted = ["AlarmHigh"] if tracking.get("DisableScaleIn") else ["AlarmHigh", "AlarmLow"]
    alarms: list[Json] = []
    for kind in ("AlarmHigh", "AlarmLow"):
        existing = names.get(kind)
        if kind not in wanted:
            if existing is not None:
                cloudwatch.delete([existing["AlarmName"]])
            continue
        name = (
            existing["AlarmName"]
            if existing is not None
            else f"TargetTracking-{rid}-{kind}-{uuid.uuid4()}"
        )
        high = kind == "AlarmHigh"
        periods = high_periods if high else low_periods
        rec = cloudwatch.put(
            {
                "AlarmName": name,
                "AlarmDescription": (
                    f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy.arn}."
                ),
                "ActionsEnabled": True,
                "AlarmActions": [policy.arn],
                **metric_part,
                "EvaluationPeriods": periods,
                "DatapointsToAlarm": periods,
                "Threshold": target if high else target * 0.9,
                "ComparisonOperator": "GreaterThanThreshold" if high else "LessThanThreshold",
            }
        )
        alarms.append({"AlarmName": rec.name, "AlarmARN": rec.arn})
    policy.alarms = alarms
