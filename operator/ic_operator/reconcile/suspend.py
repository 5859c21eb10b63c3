"""spec.suspend: the plan a pass made, held back and shown. Pure: no I/O, no clock.

A suspended resource is observed and planned exactly as any other, so the plan in
status.pendingPlan is the one resuming executes; only its execution is withheld. What a
reviewer needs before unsuspending is there: each call with its request (environment
values never shown), and each field where the spec and SageMaker differ with both
values. An error the planner reports (a rollback, a foreign component, an invalid spec)
stays an error: suspension never hides Degraded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ic_operator.autoscaling.plan import Call
from ic_operator.models import FieldDifference, PendingPlan, PlannedCall
from ic_operator.reconcile.diffing import differences
from ic_operator.reconcile.ownership import desired_tags, tag_changes
from ic_operator.reconcile.types import (
    ACTIONS,
    SENDS,
    Act,
    Desired,
    Observed,
    Plan,
    StatusDelta,
    Wake,
)

# One step of a differences() path: a key, and an index or instance type in brackets (an
# instance type has dots of its own: ml.g5.2xlarge).
_PART = re.compile(r"[^.\[]+(?:\[[^\]]*\])?")

# Enough for a full UpdateInferenceComponent; what is cut is said to be cut.
MAX_PARAMETERS = 40
MAX_VALUE = 256


def planned(
    operation: str, request: Mapping[str, Any] | None, service: str = "sagemaker"
) -> PlannedCall:
    """One call as a reviewer reads it: the request flattened to dotted paths."""
    flat: dict[str, str] = {}
    _flatten(request or {}, "", flat)
    if len(flat) > MAX_PARAMETERS:
        kept = dict(list(flat.items())[: MAX_PARAMETERS - 1])
        kept["..."] = f"{len(flat) - len(kept)} more parameters not shown"
        flat = kept
    return PlannedCall(operation=operation, service=service, parameters=flat)


def _flatten(value: Any, path: str, out: dict[str, str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "Environment" and isinstance(item, Mapping):
                out[where] = _hidden(item)
            else:
                _flatten(item, where, out)
    elif isinstance(value, list | tuple) and value:
        for i, item in enumerate(value):
            _flatten(item, f"{path}[{i}]", out)
    else:
        out[path] = _text(value)


def _hidden(environment: Mapping[str, Any]) -> str:
    """Environment values may be secrets: their names only."""
    names = ", ".join(sorted(environment)) or "none"
    return f"variables {names} (values not shown)"


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def sagemaker_calls(plan: Plan, desired: Desired, observed: Observed) -> list[PlannedCall]:
    """The SageMaker calls of ``plan``, and those that follow it without a new decision:
    the tags after an update, the create after the delete of a Failed component."""
    calls: list[PlannedCall] = []
    operation = ACTIONS[plan.action].operation
    if operation is not None:
        calls.append(planned(operation, plan.request))
    add, remove = dict(plan.tags_add), tuple(plan.tags_remove)
    if plan.action in (Act.UPDATE, Act.UPDATE_RUNTIME_CONFIG) and observed.tags is not None:
        add, remove = tag_changes(desired_tags(desired), observed.tags)
    arn = (observed.component or {}).get("InferenceComponentArn")
    if add:
        tags = [{"Key": k, "Value": v} for k, v in sorted(add.items())]
        calls.append(planned("AddTags", {"ResourceArn": arn, "Tags": tags}))
    if remove:
        calls.append(planned("DeleteTags", {"ResourceArn": arn, "TagKeys": list(remove)}))
    if plan.action is Act.DELETE:  # the Failed component is recreated once it is gone
        calls.append(
            planned(
                "CreateInferenceComponent",
                {
                    "InferenceComponentName": desired.name,
                    "EndpointName": desired.endpoint,
                },
            )
        )
    return calls


def field_differences(
    desired: Desired, observed: Observed, view: Mapping[str, Any] | None
) -> list[FieldDifference]:
    """Spec vs SageMaker, field by field, with the values on both sides (``view``: the
    Describe in request form; None when no Describe was read this pass)."""
    component = observed.component
    if component is None:
        return [FieldDifference(field="inferenceComponentName", spec=desired.name, observed=None)]
    out: list[FieldDifference] = []
    if view is not None:
        wire = desired.spec.aws_specification()
        for path in differences(wire, view):
            out.append(FieldDifference(field=path, spec=_at(wire, path), observed=_at(view, path)))
        rc = desired.spec.runtime_config
        copies = (component.get("RuntimeConfig") or {}).get("DesiredCopyCount")
        if (
            rc is not None
            and desired.spec.copy_count_owner() == "Operator"
            and copies != rc.copy_count
        ):
            out.append(
                FieldDifference(
                    field="runtimeConfig.copyCount",
                    spec=str(rc.copy_count),
                    observed=None if copies is None else str(copies),
                )
            )
    if observed.tags is not None:
        wanted = desired_tags(desired)
        add, remove = tag_changes(wanted, observed.tags)
        for key in sorted({*add, *remove}):
            have = observed.tags.get(key)
            out.append(FieldDifference(field=f"tags.{key}", spec=wanted.get(key), observed=have))
    return out


def _at(tree: Mapping[str, Any], path: str) -> str | None:
    """The value at a :func:`differences` path (lowerCamel, dotted, ``[i]`` or
    ``[instanceType]``), as JSON text; None when absent."""
    node: Any = tree
    for part in _PART.findall(path):
        name, _, index = part.partition("[")
        key = name[:1].upper() + name[1:]
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
        if index:
            node = _item(node, index.rstrip("]"))
            if node is None:
                return None
        if key == "Environment" and isinstance(node, Mapping):
            return _hidden(node)
    return _text(node)


def _item(node: Any, index: str) -> Any:
    if not isinstance(node, list):
        return None
    if index.isdigit():
        return node[int(index)] if int(index) < len(node) else None
    return next(
        (s for s in node if isinstance(s, Mapping) and s.get("InstanceType") == index), None
    )


def summary(calls: Sequence[PlannedCall]) -> str:
    return ", ".join(call.operation for call in calls) or "nothing"


def hold(
    plan: Plan,
    desired: Desired,
    observed: Observed,
    *,
    view: Mapping[str, Any] | None,
    scaling: Sequence[Call],
    since: str,
) -> Plan:
    """``plan`` made while suspended: nothing is sent, everything is shown. Its reading,
    a verdict on an earlier deployment and the ownership stay recorded; what a write
    would have recorded (a new deployment, the tags' digest) does not."""
    state = (observed.component or {}).get("InferenceComponentStatus", "NotFound")
    if plan.action is Act.BLOCKED:
        pending = PendingPlan(suspended_since=since, summary="nothing", message=plan.message)
        return replace(plan, pending=pending)
    calls = sagemaker_calls(plan, desired, observed)
    calls += [planned(c.operation, c.request, c.service) for c in scaling]
    found = field_differences(desired, observed, view)
    held = f"resuming will send {summary(calls)}" if calls else "SageMaker matches the spec"
    message = (
        f"suspended (spec.suspend): nothing is written to AWS; SageMaker reports {state}; {held}"
    )
    pending = PendingPlan(
        suspended_since=since,
        summary=summary(calls),
        message=message,
        calls=calls,
        differences=found,
    )
    if plan.action in SENDS:
        record = StatusDelta(
            deployment=plan.record.judged,
            judged=plan.record.judged,
            revised=plan.record.revised,
            confirmed=plan.record.confirmed,
            owned=plan.record.owned,
        )
        wake, delay = Wake.RESYNC, None
    else:  # a transition already running is still followed, and reported
        record, wake, delay = plan.record, plan.wake, plan.delay
    return Plan(
        Act.SUSPENDED,
        "Suspended",
        message,
        wake=wake,
        delay=delay,
        degraded=plan.degraded,
        record=record,
        pending=pending,
    )


def still_held(previous: PendingPlan | None, now: str, message: str) -> PendingPlan:
    """A suspended pass that failed to read: the plan last shown stands, the failure is
    said (a pass must never look resumed because a read failed)."""
    if previous is not None:
        return previous.model_copy(update={"message": f"suspended; {message}"})
    return PendingPlan(suspended_since=now, summary="unknown", message=f"suspended; {message}")


def hold_deletion(plan: Plan, name: str, removal: Sequence[Call], since: str) -> Plan:
    """A Delete planned while suspended: the finalizer stays and the component with it,
    so nothing is lost silently and nothing is deleted while writes are paused."""
    calls = [planned(c.operation, c.request, c.service) for c in removal]
    calls.append(planned(ACTIONS[plan.action].operation or "", plan.request))
    message = (
        f"deletion suspended (spec.suspend): {name!r} stays in SageMaker and the finalizer "
        "stays; set spec.suspend to false to delete it, or spec.deletionPolicy to Retain to "
        f"keep it. Resuming will send {summary(calls)}"
    )
    pending = PendingPlan(
        suspended_since=since, summary=summary(calls), message=message, calls=calls
    )
    return Plan(Act.SUSPENDED, "Suspended", message, wake=Wake.RESYNC, pending=pending)
