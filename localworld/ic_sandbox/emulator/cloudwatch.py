"""CloudWatch metric alarms: PutMetricAlarm, DescribeAlarms, DeleteAlarms, SetAlarmState.

An alarm's state lives in `EmulatorState.alarms` (the one place rolling deployments watch, and the
admin API sets), so an alarm created here, set by the admin API or by SetAlarmState, and
evaluated by the autoscaler simulation is the same alarm. Alarms on the metrics the emulator
emits (scaler.py) are evaluated every period; any other alarm keeps the state it was
last given, as a real alarm on a metric nobody publishes would stay INSUFFICIENT_DATA.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field

from .errors import ApiError
from .protocols import Handler, Json, offset_page
from .state import EmulatorState

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
# Period: 10, 20, 30 or a multiple of 60 seconds (doc, PutMetricAlarm); 1 and 5 are
# high-resolution custom-metric periods the emulator does not evaluate
ALLOWED_SHORT_PERIODS = (1, 5, 10, 20, 30)

_BREACH = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def _error(code: str, message: str) -> ApiError:
    return ApiError(code, message)


def _tags(tags: list[Json] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}


@dataclass
class AlarmRecord:
    name: str
    arn: str
    definition: Json
    tags: dict[str, str]
    configured_at: float
    state: str = "INSUFFICIENT_DATA"
    reason: str = "Unchecked: Initial alarm creation"
    state_updated: float = 0.0
    datapoints: deque[float | None] = field(default_factory=deque)

    @property
    def period(self) -> int:
        return int(self.definition.get("Period", 60))

    @property
    def actions_enabled(self) -> bool:
        return bool(self.definition.get("ActionsEnabled", True))

    def dimensions(self) -> dict[str, str]:
        return {d["Name"]: d["Value"] for d in self.definition.get("Dimensions") or []}

    def describe(self) -> Json:
        out = {
            k: copy.deepcopy(v)
            for k, v in self.definition.items()
            if k not in ("Tags", "AlarmName", "ActionsEnabled")
        }
        out.update(
            {
                "AlarmName": self.name,
                "AlarmArn": self.arn,
                "AlarmConfigurationUpdatedTimestamp": self.configured_at,
                "ActionsEnabled": self.actions_enabled,
                "OKActions": list(self.definition.get("OKActions") or []),
                "AlarmActions": list(self.definition.get("AlarmActions") or []),
                "InsufficientDataActions": list(
                    self.definition.get("InsufficientDataActions") or []
                ),
                "StateValue": self.state,
                "StateReason": self.reason,
                "StateUpdatedTimestamp": self.state_updated,
                "StateTransitionedTimestamp": self.state_updated,
                "Dimensions": copy.deepcopy(self.definition.get("Dimensions") or []),
            }
        )
        return out


class CloudWatch:
    def __init__(self, world: EmulatorState) -> None:
        self.world = world
        self.alarms: dict[str, AlarmRecord] = {}
        world.reset_hooks.append(self.alarms.clear)
        self.handlers: dict[str, Handler] = {
            "PutMetricAlarm": self.put_metric_alarm,
            "DescribeAlarms": self.describe_alarms,
            "DeleteAlarms": self.delete_alarms,
            "SetAlarmState": self.set_alarm_state,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    def arn(self, name: str) -> str:
        w = self.world
        return f"arn:{w.partition}:cloudwatch:{w.region}:{w.account_id}:alarm:{name}"

    # ---- state, shared with EmulatorState.alarms -------------------------------------------
    def sync(self, rec: AlarmRecord) -> None:
        """Adopt a state set through the admin API since this record last looked."""
        state = self.world.alarms.get(rec.name, rec.state)
        if state != rec.state:
            rec.state = state
            rec.reason = "Alarm state set through the emulator's admin API."
            rec.state_updated = self.world.clock.now()

    def set_state(self, rec: AlarmRecord, state: str, reason: str) -> bool:
        """Move the alarm to `state`; True when that is a transition."""
        self.sync(rec)
        if state == rec.state:
            return False
        rec.state = state
        rec.reason = reason
        rec.state_updated = self.world.clock.now()
        self.world.set_alarm(rec.name, state)
        return True

    def evaluate(self, rec: AlarmRecord, value: float | None) -> None:
        """Record one datapoint (None: missing) and apply the alarm's rule to the window.

        ALARM when at least DatapointsToAlarm of the last EvaluationPeriods datapoints breach;
        missing datapoints follow TreatMissingData (default `missing`: they are left out, and
        a window with none present is INSUFFICIENT_DATA). Doc for the rule, inf for the
        emulator's simplification that one evaluation happens per period.
        """
        d = rec.definition
        periods = int(d.get("EvaluationPeriods", 1))
        needed = int(d.get("DatapointsToAlarm", periods))
        rec.datapoints.append(value)
        while len(rec.datapoints) > periods:
            rec.datapoints.popleft()
        breach = _BREACH.get(d.get("ComparisonOperator", ""))
        threshold = float(d.get("Threshold", 0.0))
        treat = d.get("TreatMissingData", "missing")
        present = [v for v in rec.datapoints if v is not None]
        missing = len(rec.datapoints) - len(present)
        if breach is None:
            return
        breaching = sum(1 for v in present if breach(v, threshold))
        if treat == "breaching":
            breaching += missing
        if breaching >= needed:
            state = "ALARM"
        elif not present and treat in ("missing", "ignore"):
            if treat == "ignore":
                return
            state = "INSUFFICIENT_DATA"
        else:
            state = "OK"
        shown = "no datapoints" if value is None else f"[{value:g}]"
        verb = "was" if state == "ALARM" else "was not"
        self.set_state(
            rec,
            state,
            f"Threshold Crossed: recent datapoint {shown} {verb} "
            f"{d.get('ComparisonOperator', '')} the threshold ({threshold:g}).",
        )

    # ---- operations -------------------------------------------------------------------------
    def put(self, req: Json) -> AlarmRecord:
        """Create or replace an alarm (also used for the alarms target tracking creates)."""
        self._check(req)
        name = req["AlarmName"]
        old = self.alarms.get(name)
        body = {k: copy.deepcopy(v) for k, v in req.items() if k != "Tags"}
        now = self.world.clock.now()
        if old is not None:
            self.sync(old)
            old.definition = body
            old.configured_at = now
            old.datapoints.clear()
            return old  # tags given when updating an alarm are ignored (doc)
        rec = AlarmRecord(
            name=name,
            arn=self.arn(name),
            definition=body,
            tags=_tags(req.get("Tags")),
            configured_at=now,
            state_updated=now,
        )
        self.alarms[name] = rec
        # an alarm the admin API already set keeps that state; a new one starts unchecked
        self.world.alarms.setdefault(name, rec.state)
        self.sync(rec)
        return rec

    def _check(self, req: Json) -> None:
        """The rules model validation cannot express (doc: PutMetricAlarm; messages inf)."""
        single = req.get("MetricName") is not None
        math = req.get("Metrics") is not None
        if single and math:
            raise _error(
                "InvalidParameterCombination",
                "The parameters MetricName and Metrics are mutually exclusive.",
            )
        if not single and not math:
            raise _error("MissingParameter", "Either MetricName or Metrics must be specified.")
        for key in ("EvaluationPeriods", "ComparisonOperator"):
            if req.get(key) is None:
                raise _error("MissingParameter", f"The parameter {key} is required.")
        if req.get("Threshold") is None and req.get("ThresholdMetricId") is None:
            raise _error("MissingParameter", "The parameter Threshold is required.")
        if single:
            if req.get("Namespace") is None:
                raise _error("MissingParameter", "The parameter Namespace is required.")
            if req.get("Period") is None:
                raise _error("MissingParameter", "The parameter Period is required.")
            if (req.get("Statistic") is None) == (req.get("ExtendedStatistic") is None):
                raise _error(
                    "InvalidParameterCombination",
                    "Exactly one of the parameters Statistic and ExtendedStatistic must be "
                    "specified.",
                )
            period = int(req["Period"])
            if period not in ALLOWED_SHORT_PERIODS and period % 60 != 0:
                raise _error(
                    "InvalidParameterValue",
                    "The parameter Period must be 10, 20, 30 or a multiple of 60.",
                )
        periods = int(req["EvaluationPeriods"])
        datapoints = req.get("DatapointsToAlarm")
        if datapoints is not None and int(datapoints) > periods:
            raise _error(
                "InvalidParameterValue",
                "DatapointsToAlarm must be less than or equal to EvaluationPeriods.",
            )

    def put_metric_alarm(self, req: Json) -> Json:
        self.put(req)
        return {}

    def describe_alarms(self, req: Json) -> Json:
        types = req.get("AlarmTypes") or ["MetricAlarm"]
        names = req.get("AlarmNames")
        prefix = req.get("AlarmNamePrefix")
        if names is not None and prefix is not None:
            raise _error(
                "InvalidParameterCombination",
                "AlarmNames and AlarmNamePrefix cannot be specified together.",
            )
        pool = sorted(self.alarms.values(), key=lambda r: r.name) if "MetricAlarm" in types else []
        if names is not None:
            wanted = set(names)
            pool = [r for r in pool if r.name in wanted]
        if prefix is not None:
            pool = [r for r in pool if r.name.startswith(prefix)]
        for rec in pool:
            self.sync(rec)
        if (state := req.get("StateValue")) is not None:
            pool = [r for r in pool if r.state == state]
        if (action := req.get("ActionPrefix")) is not None:
            pool = [
                r
                for r in pool
                if any(
                    a.startswith(action)
                    for key in ("AlarmActions", "OKActions", "InsufficientDataActions")
                    for a in r.definition.get(key) or []
                )
            ]
        page, token = offset_page(
            pool,
            req.get("NextToken"),
            int(req.get("MaxRecords", 50)),
            _error("InvalidNextToken", "The service cannot find the token."),
        )
        out: Json = {"MetricAlarms": [r.describe() for r in page], "CompositeAlarms": []}
        if token is not None:
            out["NextToken"] = token
        return out

    def delete(self, names: list[str]) -> None:
        for name in names:
            if self.alarms.pop(name, None) is not None:
                self.world.alarms.pop(name, None)

    def delete_alarms(self, req: Json) -> Json:
        # unknown names are ignored rather than failing the whole call (inf)
        self.delete(list(req["AlarmNames"]))
        return {}

    def set_alarm_state(self, req: Json) -> Json:
        rec = self.alarms.get(req["AlarmName"])
        if rec is None:
            raise _error("ResourceNotFound", f"Alarm {req['AlarmName']} does not exist.")
        # like AWS, the next evaluation of the alarm's metric may move it again (doc)
        if not self.set_state(rec, req["StateValue"], req["StateReason"]):
            rec.reason = req["StateReason"]
        return {}

    # ---- tags (PutMetricAlarm only adds tags to a new alarm: doc) ----------------------------
    def _by_arn(self, arn: str) -> AlarmRecord:
        rec = self.alarms.get(arn.rsplit(":alarm:", 1)[-1]) if ":alarm:" in arn else None
        if rec is None or rec.arn != arn:
            raise _error("ResourceNotFoundException", f"Resource {arn} does not exist.")
        return rec

    def tag_resource(self, req: Json) -> Json:
        self._by_arn(req["ResourceARN"]).tags.update(_tags(req["Tags"]))
        return {}

    def untag_resource(self, req: Json) -> Json:
        rec = self._by_arn(req["ResourceARN"])
        for key in req["TagKeys"]:
            rec.tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, req: Json) -> Json:
        tags = self._by_arn(req["ResourceARN"]).tags
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
