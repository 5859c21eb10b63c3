"""The endpoint under a component: is it ready to take this component's write? Pure.

A component's writes (Create, Update, UpdateRuntimeConfig) go to an endpoint that
another tool makes and changes: for minutes after a GitOps apply it is Creating, and an
UpdateEndpoint, a SageMaker maintenance (SystemUpdating) or a rollback puts it in a
transition again. SageMaker refuses component writes then, and an endpoint that failed,
is being deleted or is gone never takes them. Sending the write anyway and backing off
on the refusal is what made components start up to ten minutes after their endpoint:
instead, the endpoint's state (one shared DescribeEndpoint, see
:mod:`~ic_operator.reconcile.endpoint_watch`) is an input of the plan, and
:func:`gate` turns a write the endpoint cannot take into a wait that says why. Reads
are never gated: a component on an endpoint in a transition is still observed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ic_operator.models import InferenceComponentStatus
from ic_operator.names import RETRY_ANNOTATION
from ic_operator.reconcile.types import Act, Desired, Plan, PollPolicy, Wake, epoch

# Transitions that end by themselves: a component's write waits for them.
WAITS: frozenset[str] = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
# Transitions the endpoint watch follows (a Deleting endpoint is followed to its end, so
# the components on it say "gone" when it is).
TRANSITIONS: frozenset[str] = WAITS | {"Deleting"}
GATED: frozenset[Act] = frozenset({Act.CREATE, Act.UPDATE, Act.UPDATE_RUNTIME_CONFIG})
# The condition reason of a write held by an endpoint that will not take it by itself
# (Degraded); any other status a write cannot go to is EndpointNotReady.
BROKEN: Mapping[str | None, str] = {
    None: "EndpointNotFound",
    "Deleting": "EndpointDeleting",
    "Failed": "EndpointFailed",
    "OutOfService": "EndpointOutOfService",
    "UpdateRollbackFailed": "EndpointUpdateRollbackFailed",
}
# Every reason a write held for its endpoint carries: such a component waits for the
# endpoint watch to say the endpoint changed.
HELD_REASONS: frozenset[str] = frozenset(
    {"WaitingForEndpoint", "EndpointNotReady", *BROKEN.values()}
)

# How long each transition is expected to take (seconds; inf: SageMaker's endpoint
# creation and updates take minutes, deletions about one). They set the pace at which
# the watch describes an endpoint in a transition: see :func:`pace`.
EXPECTED: Mapping[str, float] = {
    "Creating": 600.0,
    "Updating": 600.0,
    "SystemUpdating": 600.0,
    "RollingBack": 600.0,
    "Deleting": 120.0,
}
# The slowest pace: a component waits at most this long past InService for its write
# (the target is within 10 s, a pass included).
CEILING = 8.0


@dataclass(frozen=True)
class EndpointView:
    """One DescribeEndpoint, as much of it as the gate and the messages need."""

    name: str
    status: str | None  # EndpointStatus; None: there is no endpoint of this name
    modified: float | None = None  # LastModifiedTime (epoch seconds): when this state began
    created: float | None = None  # CreationTime: a recreated endpoint has a new one
    failure_reason: str | None = None
    read_at: float = 0.0  # wall clock of the Describe

    @classmethod
    def of(cls, name: str, described: Mapping[str, Any] | None, read_at: float) -> EndpointView:
        if described is None:
            return cls(name, None, read_at=read_at)
        return cls(
            name,
            str(described.get("EndpointStatus")),
            modified=epoch(described.get("LastModifiedTime")),
            created=epoch(described.get("CreationTime")),
            failure_reason=described.get("FailureReason"),
            read_at=read_at,
        )

    @property
    def transition(self) -> bool:
        return self.status in TRANSITIONS

    def age(self, now: float) -> str:
        """How long it has been in this state, as "4m12s"."""
        began = self.modified if self.modified is not None else self.read_at
        return duration(max(0.0, now - began))


def duration(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def pace(view: EndpointView, now: float, poll: PollPolicy) -> float:
    """Seconds until the watch describes an endpoint in a transition again: a tenth of
    what is left of the transition's expected duration, never faster than the poll's
    minimum nor slower than :data:`CEILING` (or the poll's maximum, if shorter)."""
    began = view.modified if view.modified is not None else view.read_at
    left = EXPECTED.get(view.status or "", 0.0) - (now - began)
    slowest = min(CEILING, poll.maximum)
    return min(max(left / 10.0, poll.minimum), max(slowest, poll.minimum))


def gate(
    plan: Plan,
    view: EndpointView,
    *,
    desired: Desired,
    status: InferenceComponentStatus,
    now: float,
    poll: PollPolicy,
) -> Plan:
    """``plan`` if the endpoint can take its write (or it writes nothing); otherwise the
    wait or the report that replaces it. Waiting plans look again at the poll's maximum
    at the latest: the watch wakes them as soon as the endpoint changes."""
    if plan.action not in GATED:
        return plan
    name = view.name
    state = view.status
    if state == "InService":
        if _replaced_under_retain(plan, view, desired, status):
            return _held(
                plan,
                status,
                action=Act.BLOCKED,
                reason="EndpointReplaced",
                message=f"endpoint {name} was deleted and created again, and inference component "
                f"{desired.name!r} went with the old one; deletionPolicy Retain: the operator "
                f"does not create it again on its own. Set the annotation {RETRY_ANNOTATION} "
                "to a new value to create it",
                poll=poll,
                wake=Wake.RESYNC,
            )
        return plan
    verb = "creating the inference component" if plan.action is Act.CREATE else "its write"
    if state in WAITS:
        return _held(
            plan,
            status,
            action=Act.WAIT,
            reason="WaitingForEndpoint",
            message=f"endpoint {name} is {state} ({view.age(now)}); "
            f"{verb} waits until it is InService",
            poll=poll,
        )
    reason = BROKEN.get(state, "EndpointNotReady")
    if state is None:
        what = f"endpoint {name} does not exist"
    else:
        what = f"endpoint {name} is {state} ({view.age(now)})"
        if view.failure_reason:
            what += f": {view.failure_reason.rstrip('. ')}"
    return _held(
        plan,
        status,
        action=Act.BLOCKED,
        reason=reason,
        message=f"{what}; {verb} waits until an endpoint of that name is InService",
        poll=poll,
    )


def _replaced_under_retain(
    plan: Plan, view: EndpointView, desired: Desired, status: InferenceComponentStatus
) -> bool:
    """A Retain component this resource created is gone because its endpoint was
    recreated since (every write of ours predates the endpoint): reported, not recreated,
    unless the retry annotation asks."""
    write = status.last_write
    last = status.last_deployment
    retry_asked = last is not None and last.retry_token != desired.retry_token
    return (
        plan.action is Act.CREATE
        and desired.spec.deletion_policy == "Retain"
        and status.inference_component_arn is not None
        and write is not None
        and view.created is not None
        and view.created > write.sent_at
        and not retry_asked
    )


def _held(
    plan: Plan,
    status: InferenceComponentStatus,
    *,
    action: Act,
    reason: str,
    message: str,
    poll: PollPolicy,
    wake: Wake = Wake.POLL,
) -> Plan:
    """The write not sent: nothing of it is recorded (no deployment started, no tags
    known to be in SageMaker); what the reading showed (a verdict) still is."""
    record = replace(
        plan.record,
        deployment=plan.record.judged or status.last_deployment,
        tags_hash=None,
        sent=None,
    )
    return Plan(
        action,
        reason,
        message,
        wake=wake,
        delay=poll.maximum,
        degraded=action is Act.BLOCKED,
        record=record,
    )
