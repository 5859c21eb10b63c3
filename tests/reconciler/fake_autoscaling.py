"""In-memory Application Auto Scaling and CloudWatch for the reconciler suite.

Serves the calls :mod:`ic_operator.autoscaling.sync` sends, in boto3's parsed form
(numbers the way the JSON services echo them), paginates the Describe calls so the
NextToken loop is exercised, and plays the autoscaler: :meth:`scale` moves a
component's DesiredCopyCount in the fake SageMaker and records a scaling activity, the
way Application Auto Scaling does (never through the operator).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ic_operator.aws.errors import ErrorKind, SageMakerError
from ic_operator.models.autoscaling_requests import STEP_POLICY_NAME

PAGE = 1  # one entry per page: every Describe needs its NextToken loop


def _rid(request: Mapping[str, Any]) -> str:
    return str(request.get("ResourceId") or "")


def _page(items: list[Any], key: str, request: Mapping[str, Any]) -> dict[str, Any]:
    start = int(request.get("NextToken") or 0)
    out: dict[str, Any] = {key: copy.deepcopy(items[start : start + PAGE])}
    if start + PAGE < len(items):
        out["NextToken"] = str(start + PAGE)
    return out


def _filtered(by_rid: dict[str, dict[str, Any]], request: Mapping[str, Any]) -> list[Any]:
    """One target's entries, or with no ResourceId every entry of the namespace."""
    if request.get("ResourceId"):
        return list(by_rid.get(_rid(request), {}).values())
    return [item for _, entries in sorted(by_rid.items()) for item in entries.values()]


def _doubles(value: Any) -> Any:
    """The JSON services echo the double members as floats (4 -> 4.0)."""
    if isinstance(value, dict):
        return {
            k: float(v)
            if k in {"TargetValue", "Threshold", "MetricIntervalLowerBound"}
            else _doubles(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_doubles(v) for v in value]
    return value


@dataclass
class FakeAutoScaling:
    clock: Callable[[], float]
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)  # resource id -> target
    policies: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    actions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    activities: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def handle(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        handler: Callable[[dict[str, Any]], dict[str, Any]] = getattr(self, "_" + operation)
        return handler(request)

    # ----------------------------------------------------------------- the autoscaler

    def scale(self, sagemaker: Any, name: str, desired: int, cause: str) -> None:
        """Application Auto Scaling sets DesiredCopyCount through SageMaker's scaling path."""
        component = sagemaker.components[name]
        component["RuntimeConfig"]["DesiredCopyCount"] = desired
        component["InferenceComponentStatus"] = "Updating"
        component["LastModifiedTime"] = self.clock()
        self.activities.setdefault(f"inference-component/{name}", []).insert(
            0,
            {
                "ActivityId": f"a-{len(self.activities)}-{desired}",
                "ResourceId": f"inference-component/{name}",
                "Description": f"Setting desired copy count to {desired}.",
                "Cause": cause,
                "StartTime": f"2027-01-15T08:00:{int(self.clock()) % 60:02d}+00:00",
                "StatusCode": "InProgress",
            },
        )

    # ----------------------------------------------------------------- Application Auto Scaling

    def _RegisterScalableTarget(self, r: dict[str, Any]) -> dict[str, Any]:
        rid = _rid(r)
        old = self.targets.get(rid, {"RoleARN": "arn:aws:iam::1:role/slr", "CreationTime": 1})
        self.targets[rid] = {**old, **r}
        return {"ScalableTargetARN": f"arn:aws:application-autoscaling:x:1:scalable-target/{rid}"}

    def _DeregisterScalableTarget(self, r: dict[str, Any]) -> dict[str, Any]:
        rid = _rid(r)
        if rid not in self.targets:
            raise SageMakerError(
                "DeregisterScalableTarget", ErrorKind.NOT_FOUND, "ObjectNotFoundException", rid
            )
        del self.targets[rid]
        for alarm in [a for a, doc in self.alarms.items() if doc.get("_policy_of") == rid]:
            del self.alarms[alarm]
        self.policies.pop(rid, None)
        self.actions.pop(rid, None)
        return {}

    def _DescribeScalableTargets(self, r: dict[str, Any]) -> dict[str, Any]:
        wanted = set(r.get("ResourceIds") or self.targets)
        items = [t for rid, t in sorted(self.targets.items()) if rid in wanted]
        return _page(items, "ScalableTargets", r)

    def _PutScalingPolicy(self, r: dict[str, Any]) -> dict[str, Any]:
        rid = _rid(r)
        if rid not in self.targets:
            raise SageMakerError(
                "PutScalingPolicy", ErrorKind.NOT_FOUND, "ObjectNotFoundException", rid
            )
        name = r["PolicyName"]
        arn = f"arn:aws:autoscaling:us-east-1:1:scalingPolicy:u:resource/{rid}:policyName/{name}"
        stored = _doubles(copy.deepcopy(r))
        stored.update(PolicyARN=arn, CreationTime="2027-01-15T08:00:00+00:00")
        if r["PolicyType"] == "TargetTrackingScaling":
            stored["Alarms"] = [{"AlarmName": f"TargetTracking-{rid}-AlarmHigh-x"}]
        self.policies.setdefault(rid, {})[name] = stored
        return {"PolicyARN": arn, "Alarms": stored.get("Alarms", [])}

    def _DeleteScalingPolicy(self, r: dict[str, Any]) -> dict[str, Any]:
        self.policies.get(_rid(r), {}).pop(r["PolicyName"], None)
        return {}

    def _DescribeScalingPolicies(self, r: dict[str, Any]) -> dict[str, Any]:
        return _page(_filtered(self.policies, r), "ScalingPolicies", r)

    def _PutScheduledAction(self, r: dict[str, Any]) -> dict[str, Any]:
        self.actions.setdefault(_rid(r), {})[r["ScheduledActionName"]] = copy.deepcopy(r)
        return {}

    def _DeleteScheduledAction(self, r: dict[str, Any]) -> dict[str, Any]:
        self.actions.get(_rid(r), {}).pop(r["ScheduledActionName"], None)
        return {}

    def _DescribeScheduledActions(self, r: dict[str, Any]) -> dict[str, Any]:
        return _page(_filtered(self.actions, r), "ScheduledActions", r)

    def _DescribeScalingActivities(self, r: dict[str, Any]) -> dict[str, Any]:
        items = self.activities.get(_rid(r), [])[: int(r.get("MaxResults", 50))]
        return {"ScalingActivities": copy.deepcopy(items)}

    # ----------------------------------------------------------------- CloudWatch

    def _PutMetricAlarm(self, r: dict[str, Any]) -> dict[str, Any]:
        actions = r.get("AlarmActions") or []
        owner = next(
            (a.split("resource/")[1].split(":")[0] for a in actions if STEP_POLICY_NAME in a),
            None,
        )
        self.alarms[r["AlarmName"]] = {**_doubles(r), "StateValue": "OK", "_policy_of": owner}
        return {}

    def _DeleteAlarms(self, r: dict[str, Any]) -> dict[str, Any]:
        for name in r["AlarmNames"]:
            self.alarms.pop(name, None)
        return {}

    def _DescribeAlarms(self, r: dict[str, Any]) -> dict[str, Any]:
        names = set(r.get("AlarmNames") or self.alarms)
        prefix = str(r.get("AlarmNamePrefix") or "")
        items = [
            {k: v for k, v in a.items() if not k.startswith("_")}
            for n, a in sorted(self.alarms.items())
            if n in names and n.startswith(prefix)
        ]
        return {"MetricAlarms": items}
