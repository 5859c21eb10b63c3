"""spec.endpointRef: which SageMaker endpoint an ACK `Endpoint` object stands for, and
whether ACK says it is ready to host components.

GitOps applies an ACK Endpoint and the components on it together; for minutes ACK is
still creating the endpoint. This module turns what the Kubernetes side read of that
object (:class:`AckLookup`) into either the endpoint's name or the reason to wait, with
a message that names the object, its endpointStatus, ACK's own condition messages and
how long it has been so. It reads nothing itself and calls no AWS API: a component
whose reference is not resolved is never sent to SageMaker.

After the first resolution the name is the one recorded in status.endpointName: the
component stays on its endpoint even if the ACK object is later edited or deleted
(that is reported in the EndpointResolved condition, not followed). Whether the
endpoint itself is ready after that is the endpoint readiness path's question.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from ic_operator.events import Event
from ic_operator.models import EndpointRef, InferenceComponentStatus
from ic_operator.reconcile import conditions
from ic_operator.reconcile.types import Act, Plan, Wake

CONDITION = "EndpointResolved"
ACK_GROUP, ACK_VERSION, ACK_PLURAL = "sagemaker.services.k8s.aws", "v1alpha1", "endpoints"
SYNCED, TERMINAL = "ACK.ResourceSynced", "ACK.Terminal"
IN_SERVICE = "InService"


class Found(StrEnum):
    OBJECT = "Object"  # the ACK Endpoint exists: AckLookup.body holds it
    MISSING = "Missing"  # no such object in that namespace
    NO_KIND = "NoKind"  # the ACK Endpoint CRD is not installed
    FORBIDDEN = "Forbidden"  # the operator's RBAC does not let it read that namespace's


@dataclass(frozen=True)
class AckLookup:
    found: Found
    body: Mapping[str, Any] | None = None


class AckEndpoints(Protocol):
    """The Kubernetes side: the ACK Endpoint ``namespace/name`` as last seen."""

    async def get(self, namespace: str, name: str) -> AckLookup: ...


@dataclass(frozen=True)
class Resolution:
    """The outcome: ``endpoint`` when resolved (``plan`` None), else the plan that waits
    or refuses; ``condition`` is the EndpointResolved condition in either case."""

    endpoint: str | None
    plan: Plan | None
    condition: tuple[str, str, str]  # status, reason, message


def target(ref: EndpointRef, namespace: str) -> tuple[str, str]:
    """(namespace, name) of the ACK Endpoint a component in ``namespace`` refers to."""
    return (ref.namespace or namespace, ref.name)


def refused(ref: EndpointRef, namespace: str, *, cross_namespace: bool) -> Resolution | None:
    """A reference into another namespace, unless the operator is told to allow them:
    refused before the object is even read, so no namespace learns another's objects."""
    where, name = target(ref, namespace)
    if where == namespace or cross_namespace:
        return None
    message = (
        f"endpointRef names ACK Endpoint {where}/{name} in another namespace; the operator "
        "allows only references within the component's namespace (setting "
        "crossNamespaceEndpointRefs, default off)"
    )
    plan = Plan(Act.BLOCKED, "EndpointRefNotPermitted", message, degraded=True, wake=Wake.IDLE)
    return Resolution(None, plan, ("False", "NotPermitted", message))


def resolve(
    ref: EndpointRef,
    namespace: str,
    lookup: AckLookup,
    status: InferenceComponentStatus,
    now: float,
) -> Resolution:
    """The endpoint ``ref`` stands for, or why the component waits for it."""
    where, name = target(ref, namespace)
    label = f"ACK Endpoint {where}/{name}"
    recorded = status.endpoint_name
    body = lookup.body or {}
    named = (body.get("spec") or {}).get("endpointName")
    if recorded is not None:
        return _kept(label, recorded, lookup, named)
    if lookup.found is Found.NO_KIND:
        message = (
            f"waiting for {label}: the ACK Endpoint kind ({ACK_PLURAL}.{ACK_GROUP}) is not "
            "installed in the cluster; install ACK's SageMaker controller and its CRDs"
        )
        return _waiting("AckEndpointKindMissing", message, degraded=True)
    if lookup.found is Found.FORBIDDEN:
        message = (
            f"waiting for {label}: the operator may not read ACK Endpoints in namespace "
            f"{where!r} (RBAC: get on {ACK_PLURAL}.{ACK_GROUP}; the chart grants it with "
            "crossNamespaceEndpointRefs)"
        )
        return _waiting("EndpointRefForbidden", message, degraded=True)
    if lookup.found is Found.MISSING:
        message = f"waiting for {label}: it does not exist; it is resolved when it is created"
        return _waiting("EndpointRefNotFound", message, degraded=False)
    acks = _ack_conditions(body)
    state = str((body.get("status") or {}).get("endpointStatus") or "unknown")
    terminal = acks.get(TERMINAL)
    if terminal is not None and terminal[0] == "True":
        message = f"{label} is in a terminal state (ACK.Terminal): {terminal[1] or 'no message'}"
        return _waiting("EndpointRefTerminal", message, degraded=True)
    synced = acks.get(SYNCED, ("Unknown", ""))[0] == "True"
    if isinstance(named, str) and named and synced and state == IN_SERVICE:
        message = f"{label} is synced and InService: SageMaker endpoint {named!r}"
        return Resolution(named, None, ("True", "Resolved", message))
    message = (
        f"waiting for {label} (SageMaker endpoint {named!r}): endpointStatus {state}; "
        f"{_describe(acks)}; {_age(body, acks, now)}"
    )
    return _waiting("WaitingForEndpointRef", message, degraded=False)


def _kept(label: str, recorded: str, lookup: AckLookup, named: Any) -> Resolution:
    """Resolved before: the recorded name stands; a moved or vanished object is said."""
    if lookup.found is not Found.OBJECT:
        message = (
            f"{label} no longer exists; the component stays on SageMaker endpoint "
            f"{recorded!r}, resolved earlier"
        )
        return Resolution(recorded, None, ("True", "EndpointRefGone", message))
    if named != recorded:
        message = (
            f"{label} now names SageMaker endpoint {named!r}; the component stays on "
            f"{recorded!r}, resolved earlier (endpointRef is immutable: to move the "
            "component, create a new resource)"
        )
        return Resolution(recorded, None, ("True", "EndpointRefChanged", message))
    message = f"{label} resolved to SageMaker endpoint {recorded!r}"
    return Resolution(recorded, None, ("True", "Resolved", message))


def _waiting(reason: str, message: str, *, degraded: bool) -> Resolution:
    """Wait without a timer of its own: a change of the ACK object wakes the component
    (the watch), the resync interval is the slow retry behind it."""
    action = Act.BLOCKED if degraded else Act.WAIT
    plan = Plan(action, reason, message, degraded=degraded, wake=Wake.RESYNC)
    return Resolution(None, plan, ("False", reason, message))


def _ack_conditions(body: Mapping[str, Any]) -> dict[str, tuple[str, str, str | None]]:
    """ACK's conditions by type: (status, message, lastTransitionTime)."""
    out: dict[str, tuple[str, str, str | None]] = {}
    for cond in (body.get("status") or {}).get("conditions") or []:
        if isinstance(cond, Mapping) and "type" in cond:
            message = str(cond.get("message") or cond.get("reason") or "").strip()
            out[str(cond["type"])] = (
                str(cond.get("status", "Unknown")),
                message,
                cond.get("lastTransitionTime"),
            )
    return out


def _describe(acks: Mapping[str, tuple[str, str, str | None]]) -> str:
    if not acks:
        return "ACK has not reported any condition yet (is ACK's SageMaker controller running?)"
    parts = []
    for ctype, (state, message, _) in sorted(acks.items()):
        parts.append(f"{ctype}={state}" + (f" ({message})" if message else ""))
    return ", ".join(parts)


def _age(
    body: Mapping[str, Any], acks: Mapping[str, tuple[str, str, str | None]], now: float
) -> str:
    """How long it has been so: since ResourceSynced last changed, else since creation."""
    since = acks.get(SYNCED, ("", "", None))[2]
    what = "not synced for"
    if since is None:
        since = (body.get("metadata") or {}).get("creationTimestamp")
        what = "created"
    started = _epoch(since)
    if started is None:
        return "age unknown"
    seconds = max(0, int(now - started))
    minutes, rest = divmod(seconds, 60)
    span = f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
    return f"{what} {span}" + (" ago" if what == "created" else "")


def _epoch(stamp: Any) -> float | None:
    if not isinstance(stamp, str):
        return None
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def recorded(
    status: InferenceComponentStatus,
    previous: InferenceComponentStatus,
    resolution: Resolution,
    *,
    generation: int,
    now: str,
) -> InferenceComponentStatus:
    """``status`` (the pass's) with the EndpointResolved condition and the resolved name;
    lastTransitionTime moves only when the condition's status differs from ``previous``
    (the stored status: the pass's own conditions are only Ready, Progressing, Degraded)."""
    (condition,) = conditions.merge(
        previous.conditions, {CONDITION: resolution.condition}, generation=generation, now=now
    )
    others = [c for c in status.conditions if c.type != CONDITION]
    endpoint = resolution.endpoint or status.endpoint_name
    return status.model_copy(update={"conditions": [*others, condition], "endpoint_name": endpoint})


def news(before: InferenceComponentStatus, after: InferenceComponentStatus) -> tuple[Event, ...]:
    """An event when the reference resolves, and a Warning when the ACK object moves away
    from the endpoint the component stays on; once per change, not every pass."""
    old = next((c for c in before.conditions if c.type == CONDITION), None)
    new = next((c for c in after.conditions if c.type == CONDITION), None)
    if new is None or new.status != "True" or (old is not None and old.reason == new.reason):
        return ()
    kind = "Normal" if new.reason == "Resolved" else "Warning"
    return (Event(kind, new.reason, new.message),)
