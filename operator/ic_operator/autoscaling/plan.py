"""spec.autoScaling against what Application Auto Scaling and CloudWatch report: the
minimal list of write calls (pure).

The same rules as the component's own diff: compare after normalisation (numbers by
value, service defaults filled in, server-set members such as ARNs, creation times
and the target-tracking alarms ignored), send nothing when in sync, and send only
what differs — a changed maxCopies is one RegisterScalableTarget, a policy edited
or deleted by hand is one PutScalingPolicy. Everything on the target belongs to the
spec: a policy or scheduled action added by hand is deleted, except that
SuspendedState (a pause set by hand) is never touched.

Calls come out in an order that works: the target before its policies, the step
policy before the alarm that triggers it; removal deletes the alarm, then
deregisters the target (which deletes its policies and scheduled actions, as
DeregisterScalableTarget documents), all before the component itself is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from ic_operator.models.autoscaling import AutoScaling
from ic_operator.models.autoscaling_requests import (
    ALARM_PREFIX,
    DEFAULT_COOLDOWN_SECONDS,
    SCALABLE_DIMENSION,
    SERVICE_NAMESPACE,
    STEP_POLICY_NAME,
    alarm_name,
    alarm_request,
    resource_id,
    target_key,
)

Service = Literal["application-autoscaling", "cloudwatch"]
AAS: Service = "application-autoscaling"
CLOUDWATCH: Service = "cloudwatch"


@dataclass(frozen=True)
class Call:
    """One request to Application Auto Scaling or CloudWatch, in boto3 keyword form."""

    service: Service
    operation: str
    request: Mapping[str, Any]
    # True on a PutMetricAlarm planned together with the step policy's first
    # PutScalingPolicy: its AlarmActions need the PolicyARN that call returns
    # (see ``with_step_policy_arn``).
    needs_step_policy_arn: bool = False


@dataclass(frozen=True)
class TargetReading:
    """What the Describe calls returned for one component (entries as botocore parses
    them); ``target`` None means no scalable target is registered."""

    target: Mapping[str, Any] | None = None
    policies: Sequence[Mapping[str, Any]] = ()
    scheduled_actions: Sequence[Mapping[str, Any]] = ()
    alarm: Mapping[str, Any] | None = None


# --- reads -----------------------------------------------------------------------------


def target_read(component: str) -> Call:
    """DescribeScalableTargets for this component's target only."""
    return Call(
        AAS,
        "DescribeScalableTargets",
        {
            "ServiceNamespace": SERVICE_NAMESPACE,
            "ResourceIds": [resource_id(component)],
            "ScalableDimension": SCALABLE_DIMENSION,
        },
    )


def detail_reads(component: str) -> list[Call]:
    """DescribeScalingPolicies and DescribeScheduledActions; needed only when the target
    exists (neither can exist without it). Both paginate with NextToken."""
    return [
        Call(AAS, "DescribeScalingPolicies", target_key(component)),
        Call(AAS, "DescribeScheduledActions", target_key(component)),
    ]


# The listings shared by every component. DescribeScalableTargets takes at most 50
# ResourceIds and answers at most 50 a page, as do the policy and scheduled action
# listings; DescribeAlarms answers at most 100 a page (botocore's models).
PAGE = 50
ALARM_PAGE = 100


def targets_reads(components: Sequence[str]) -> list[Call]:
    """DescribeScalableTargets for these components' targets, 50 ResourceIds a call."""
    ids = sorted({resource_id(c) for c in components})
    return [
        Call(
            AAS,
            "DescribeScalableTargets",
            {
                "ServiceNamespace": SERVICE_NAMESPACE,
                "ResourceIds": ids[i : i + PAGE],
                "ScalableDimension": SCALABLE_DIMENSION,
                "MaxResults": PAGE,
            },
        )
        for i in range(0, len(ids), PAGE)
    ]


def namespace_reads() -> list[Call]:
    """Every scaling policy and scheduled action of the SageMaker namespace, and every
    alarm the operator names: one listing each (in pages) answers all components."""
    namespace = {"ServiceNamespace": SERVICE_NAMESPACE, "MaxResults": PAGE}
    return [
        Call(AAS, "DescribeScalingPolicies", namespace),
        Call(AAS, "DescribeScheduledActions", namespace),
        Call(
            CLOUDWATCH,
            "DescribeAlarms",
            {"AlarmNamePrefix": ALARM_PREFIX, "MaxRecords": ALARM_PAGE},
        ),
    ]


def alarm_read(component: str) -> Call:
    return Call(CLOUDWATCH, "DescribeAlarms", {"AlarmNames": [alarm_name(component)]})


def alarm_read_needed(desired: AutoScaling | None, policies: Sequence[Mapping[str, Any]]) -> bool:
    """The alarm is looked at when it should exist, or when the step policy it triggers
    still does (leaving scale to zero, or removing everything)."""
    if desired is not None and desired.scales_to_zero:
        return True
    return any(p.get("PolicyName") == STEP_POLICY_NAME for p in policies)


def activities_read(component: str, *, limit: int = 5) -> Call:
    """DescribeScalingActivities, newest first; for status.autoScaling.lastActivity."""
    return Call(AAS, "DescribeScalingActivities", {**target_key(component), "MaxResults": limit})


def observed_from(
    component: str,
    *,
    targets: Mapping[str, Any],
    policies: Mapping[str, Any] | None = None,
    scheduled_actions: Mapping[str, Any] | None = None,
    alarms: Mapping[str, Any] | None = None,
) -> TargetReading:
    """The reading from the (merged, all pages) Describe responses, keeping only entries of
    this component's target and the operator's alarm."""
    ours = resource_id(component)

    def mine(items: Any) -> tuple[Mapping[str, Any], ...]:
        return tuple(
            i
            for i in items or []
            if i.get("ResourceId") == ours
            and i.get("ScalableDimension", SCALABLE_DIMENSION) == SCALABLE_DIMENSION
        )

    found = mine(targets.get("ScalableTargets"))
    alarm = [
        a
        for a in (alarms or {}).get("MetricAlarms", [])
        if a.get("AlarmName") == alarm_name(component)
    ]
    return TargetReading(
        target=found[0] if found else None,
        policies=mine((policies or {}).get("ScalingPolicies")),
        scheduled_actions=mine((scheduled_actions or {}).get("ScheduledActions")),
        alarm=alarm[0] if alarm else None,
    )


# --- normalisation ---------------------------------------------------------------------


def _canon(value: Any) -> Any:
    """Numbers by value (4 == 4.0), lists and maps recursively, everything else as is."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        return {k: _canon(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    return value


_TRACKING_DEFAULTS = {
    "ScaleOutCooldown": DEFAULT_COOLDOWN_SECONDS,
    "ScaleInCooldown": DEFAULT_COOLDOWN_SECONDS,
    "DisableScaleIn": False,
}


def _tracking(config: Mapping[str, Any]) -> Any:
    return _canon({**_TRACKING_DEFAULTS, **config})


def _same_policy(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> bool:
    if desired["PolicyType"] != observed.get("PolicyType"):
        return False
    if desired["PolicyType"] == "TargetTrackingScaling":
        key = "TargetTrackingScalingPolicyConfiguration"
        return bool(_tracking(desired[key]) == _tracking(observed.get(key) or {}))
    key = "StepScalingPolicyConfiguration"
    return bool(_canon(desired[key]) == _canon(observed.get(key) or {}))


def _instant(value: Any) -> Any:
    """A time as an aware datetime (botocore gives aware ones; a naive one is UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _same_action(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> bool:
    return bool(
        desired["Schedule"] == observed.get("Schedule")
        and desired.get("Timezone", "UTC") == observed.get("Timezone", "UTC")
        and _instant(desired.get("StartTime")) == _instant(observed.get("StartTime"))
        and _instant(desired.get("EndTime")) == _instant(observed.get("EndTime"))
        and _canon(desired["ScalableTargetAction"])
        == _canon(dict(observed.get("ScalableTargetAction") or {}))
    )


def _alarm_form(alarm: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    out = {k: _canon(alarm.get(k)) for k in keys}
    out["Dimensions"] = sorted((d["Name"], d["Value"]) for d in alarm.get("Dimensions") or [])
    out["AlarmActions"] = sorted(alarm.get("AlarmActions") or [])
    return out


def _same_alarm(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> bool:
    keys = list(desired)
    return _alarm_form(desired, keys) == _alarm_form(observed, keys)


# --- the plan --------------------------------------------------------------------------


def sync_calls(
    desired: AutoScaling | None, observed: TargetReading, component: str, *, owned: bool
) -> list[Call]:
    """The write calls that make AWS match ``desired`` (empty when in sync).

    ``desired`` None with ``owned`` (status.autoScaling.registered: the operator
    registered the target) removes everything; without ``owned`` a target registered
    by someone else (copyCountOwner: External with Terraform, say) is left alone.
    """
    if desired is None:
        return removal(observed, component) if owned else []
    calls: list[Call] = []
    target = observed.target
    if (
        target is None
        or target.get("MinCapacity") != desired.min_copies
        or target.get("MaxCapacity") != desired.max_copies
    ):
        calls.append(Call(AAS, "RegisterScalableTarget", desired.target_request(component)))

    wanted = {r["PolicyName"]: r for r in desired.policy_requests(component)}
    have = {p["PolicyName"]: p for p in observed.policies}
    for name, request in wanted.items():
        if name not in have or not _same_policy(request, have[name]):
            calls.append(Call(AAS, "PutScalingPolicy", request))

    actions = {r["ScheduledActionName"]: r for r in desired.scheduled_action_requests(component)}
    scheduled = {a["ScheduledActionName"]: a for a in observed.scheduled_actions}
    for name, request in actions.items():
        if name not in scheduled or not _same_action(request, scheduled[name]):
            calls.append(Call(AAS, "PutScheduledAction", request))

    if desired.scales_to_zero:
        step = have.get(STEP_POLICY_NAME)
        arn = step.get("PolicyARN") if step else None
        alarm = alarm_request(component, arn or "")
        if arn is None:
            calls.append(Call(CLOUDWATCH, "PutMetricAlarm", alarm, needs_step_policy_arn=True))
        elif observed.alarm is None or not _same_alarm(alarm, observed.alarm):
            calls.append(Call(CLOUDWATCH, "PutMetricAlarm", alarm))
    elif observed.alarm is not None:
        calls.append(_delete_alarm(component))

    for name in have.keys() - wanted.keys():
        calls.append(
            Call(AAS, "DeleteScalingPolicy", {"PolicyName": name, **target_key(component)})
        )
    for name in scheduled.keys() - actions.keys():
        calls.append(
            Call(
                AAS,
                "DeleteScheduledAction",
                {"ScheduledActionName": name, **target_key(component)},
            )
        )
    return calls


def with_step_policy_arn(call: Call, arn: str) -> Call:
    """The PutMetricAlarm with the ARN the step policy's PutScalingPolicy returned."""
    assert call.needs_step_policy_arn
    return replace(
        call, request={**call.request, "AlarmActions": [arn]}, needs_step_policy_arn=False
    )


def _delete_alarm(component: str) -> Call:
    return Call(CLOUDWATCH, "DeleteAlarms", {"AlarmNames": [alarm_name(component)]})


def removal(observed: TargetReading, component: str) -> list[Call]:
    """Everything the operator created, removed: the alarm, then the target (which takes
    its policies and scheduled actions with it). Sent before DeleteInferenceComponent;
    with deletionPolicy: Retain nothing is sent at all."""
    calls: list[Call] = []
    if observed.alarm is not None:
        calls.append(_delete_alarm(component))
    if observed.target is not None:
        calls.append(Call(AAS, "DeregisterScalableTarget", target_key(component)))
    return calls


def owned(desired: AutoScaling | None, registered: bool) -> bool:
    """Whether the operator answers for the target: the spec declares it, or the status
    records that the operator registered it (autoScaling was removed from the spec)."""
    return desired is not None or registered
