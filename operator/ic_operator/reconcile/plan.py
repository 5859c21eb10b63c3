"""Desired + observed + recorded status -> the one next action. Pure: no I/O, no clock.

The rules here are the ones the peers get wrong, so they are written down once:

* In sync means no write call at all (the comparison is normalised in :mod:`diffing`).
* A copy-count-only change scales through UpdateInferenceComponentRuntimeConfig;
  a copy count owned by an autoscaler (``External``) is never written after creation.
* A deployment is judged when SageMaker settles: back InService with a spec other
  than the one applied (or with a FailureReason that was not there before) means
  it rolled back. A FailureReason that predates the update is not a new failure.
* The same spec is never re-applied after it rolled back or failed, until the
  spec or the retry annotation changes. Drift from any other cause is corrected.
* Edits made while SageMaker is busy are simply seen later: the plan always uses
  the latest spec, so ten edits during a rollout become one follow-up update.
* A reading judges a write only when it is known to be later than the write
  (:func:`newer_than_write`); until then the plan waits (``Confirming``), for at
  most ``PollPolicy.confirm_window``. A write whose answer was lost is confirmed by
  reading before anything is sent again.
* A verdict is re-examined: RolledBack or Failed that SageMaker later contradicts
  (the desired spec InService) becomes Succeeded.

Everything the plan depends on is an argument, including the status a restarted
process reads back, so the same inputs give the same plan in any process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum, StrEnum
from typing import Any

from ic_operator.models import (
    InferenceComponentSpec,
    InferenceComponentStatus,
    LastDeployment,
    LastWrite,
)
from ic_operator.models.status import WriteOperation
from ic_operator.reconcile.diffing import differences, observed_specification, spec_hash

OWNER_UID_TAG = "sagemaker.ic-operator.io/owner-uid"
OWNER_RESOURCE_TAG = "sagemaker.ic-operator.io/resource"
RETRY_ANNOTATION = "sagemaker.ic-operator.io/retry"
RESERVED_TAG_PREFIXES = ("aws:", "sagemaker.ic-operator.io/")

TRANSITIONS = frozenset({"Creating", "Updating", "Deleting"})


class Act(StrEnum):
    CREATE = "Create"
    UPDATE = "Update"
    SCALE = "UpdateRuntimeConfig"
    TAG = "Tag"
    DELETE = "Delete"
    WAIT = "Wait"
    NOOP = "NoOp"
    BLOCKED = "Blocked"
    RELEASE = "Release"  # deletion is finished from the operator's side: drop the finalizer


# The write each action sends, as recorded in status.lastWrite.operation.
WRITES: dict[Act, WriteOperation] = {
    Act.CREATE: "Create",
    Act.UPDATE: "Update",
    Act.SCALE: "UpdateRuntimeConfig",
    Act.DELETE: "Delete",
}


class Wake(StrEnum):
    """When the loop looks at SageMaker next (stored as status.decision.next)."""

    RESYNC = "Resync"  # settled: the next drift check, at the resync interval
    POLL = "Poll"  # SageMaker is transitioning: look again after the poll delay
    CONFIRM = "Confirm"  # waiting for a reading later than the last write
    BACKOFF = "Backoff"  # a call failed: not before the backoff ends
    IDLE = "Idle"  # nothing SageMaker can change helps: wait for the spec to change
    # Ready on the listing's word (a Create finished): one routine Describe soon fills in
    # what a listing cannot tell (copy counts, the resolved image, the endpoint's ARN).
    VERIFY = "Verify"


class Failure(Enum):
    """What a failed call means for the resource; decided by :func:`plan_failure`."""

    ENDPOINT_MISSING = "EndpointNotFound"
    ENDPOINT_BUSY = "EndpointNotReady"
    BUSY = "Waiting"
    RETRY = "Retrying"
    CAPACITY = "InsufficientCapacity"
    ACCESS = "AccessDenied"
    REJECTED = "InvalidSpec"
    UNKNOWN_OUTCOME = "OutcomeUnknown"
    OTHER = "AWSError"


@dataclass(frozen=True)
class Strategy:
    """How the operator reads SageMaker; the benchmark injects its naive baseline here.

    ``view`` turns a Describe into a request-shaped specification for drift detection;
    ``listing`` lets a pass answer "nothing moved" from the shared endpoint listing.
    """

    view: Callable[[Mapping[str, Any]], dict[str, Any]] = observed_specification
    listing: bool = True


DEFAULT = Strategy()


@dataclass(frozen=True)
class Desired:
    name: str  # the SageMaker component name
    uid: str
    resource: str  # "namespace/name", for the ownership tag
    generation: int
    retry_token: str | None
    spec: InferenceComponentSpec


@dataclass(frozen=True)
class Observed:
    component: Mapping[str, Any] | None  # DescribeInferenceComponent, None when absent
    tags: Mapping[str, str] | None  # ListTags, None when not fetched this pass
    now: float  # epoch seconds, for poll pacing and timestamps


@dataclass(frozen=True)
class PollPolicy:
    minimum: float = 5.0
    maximum: float = 60.0
    # How long a reading from before the last write is waited out before it is judged
    # (or, for a write whose answer was lost, before the write is sent again).
    confirm_window: float = 60.0
    resync: float = 300.0

    def delay(self, elapsed: float) -> float:
        """Poll faster early in a transition, slower as it drags on; never a hot loop."""
        return min(max(elapsed / 10.0, self.minimum), self.maximum)

    def for_transition(self, component: Mapping[str, Any], now: float) -> float:
        """The delay for a component (or list summary) whose transition began at its
        LastModifiedTime."""
        started = epoch(component.get("LastModifiedTime")) or now
        return self.delay(now - started)


@dataclass(frozen=True)
class Plan:
    action: Act
    reason: str
    message: str
    request: dict[str, Any] | None = None
    delay: float | None = None  # look again after this many seconds
    deployment: LastDeployment | None = None  # the lastDeployment to record
    degraded: bool = False
    tags_add: dict[str, str] = field(default_factory=dict)
    tags_remove: tuple[str, ...] = ()
    owned: bool = True
    judged: LastDeployment | None = None  # a deployment whose outcome became known this pass
    wake: Wake = Wake.RESYNC  # when to look next (``delay`` says how long for POLL/BACKOFF)
    errors: int = 0  # consecutive failed calls behind a BACKOFF
    confirmed: bool = False  # this reading is later than status.lastWrite
    revised: LastDeployment | None = None  # a verdict SageMaker contradicted, now withdrawn
    # The write this plan may have sent although it is not a write action (its answer
    # was lost): recorded in status.lastWrite with outcome Unknown.
    sent: WriteOperation | None = None


def owner_tags(desired: Desired) -> dict[str, str]:
    return {OWNER_UID_TAG: desired.uid, OWNER_RESOURCE_TAG: desired.resource}


def desired_tags(desired: Desired) -> dict[str, str]:
    return {**desired.spec.tags, **owner_tags(desired)}


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(value: Any) -> float | None:
    """SageMaker timestamps arrive as datetimes (boto3) or epoch numbers (raw JSON)."""
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None


def is_owned(uid: str, observed: Observed, status: InferenceComponentStatus) -> bool | None:
    """True: ours; False: someone else's; None: unknown (tags were not fetched).

    The status ARN is only ever recorded for a component this resource created or
    adopted, so it proves ownership without a ListTags call.
    """
    component = observed.component
    if component is None:
        return None
    arn = component.get("InferenceComponentArn")
    if arn and status.inference_component_arn == arn:
        return True
    if observed.tags is None:
        return None
    return observed.tags.get(OWNER_UID_TAG) == uid


def newer_than_write(component: Mapping[str, Any], write: LastWrite | None) -> bool:
    """Is this reading known to be later than the last write?

    SageMaker stamps LastModifiedTime on every change it makes (the update itself,
    each rolling batch, the rollback), so a reading whose LastModifiedTime is later
    than the one the write was decided on shows the write or something after it. The
    comparison uses SageMaker's clock only, so clock skew cannot fool it. A transition
    (Creating, Updating, Deleting) is also later: writes are only sent to a settled
    component. Equal times mean "not known": the reading may be from before the write.
    """
    if write is None:
        return True
    if component.get("InferenceComponentStatus") in TRANSITIONS:
        return True
    if write.based_on_modified is None:  # the component was absent when it was created
        return True
    modified = epoch(component.get("LastModifiedTime"))
    return modified is not None and modified > write.based_on_modified


def _confirming(write: LastWrite, now: float, policy: PollPolicy) -> bool:
    return now < write.sent_at + policy.confirm_window


def _recent_create(write: LastWrite, now: float, policy: PollPolicy) -> bool:
    """A Create sent within the confirmation window and not seen since."""
    return write.operation == "Create" and not write.confirmed and _confirming(write, now, policy)


def _confirm_plan(write: LastWrite, now: float, policy: PollPolicy, what: str) -> Plan:
    left = max(policy.minimum, write.sent_at + policy.confirm_window - now)
    return Plan(
        Act.WAIT,
        "Confirming",
        f"waiting for SageMaker to show the {write.operation} sent for generation "
        f"{write.generation} ({what})",
        delay=min(policy.minimum, left),
        wake=Wake.CONFIRM,
    )


def plan(
    desired: Desired,
    observed: Observed,
    status: InferenceComponentStatus,
    poll: PollPolicy = PollPolicy(),
    *,
    strategy: Strategy = DEFAULT,
) -> Plan:
    """The next step towards the desired state."""
    wire = desired.spec.aws_specification()
    digest = spec_hash(wire)
    component = observed.component
    write = status.last_write
    if component is None:
        if write is not None and _recent_create(write, observed.now, poll):
            # Reads lag writes: a component created a moment ago may not be listed yet.
            # Creating again would be refused as AlreadyExists at best.
            return _confirm_plan(write, observed.now, poll, "not listed yet")
        return _plan_create(desired, observed, status, digest)

    where = component.get("EndpointName")
    if where is not None and where != desired.spec.endpoint_name:
        # Same name, other endpoint: someone else's component. Adopting, updating or
        # deleting it would let a resource reach an endpoint it does not name (and that
        # the endpoint policy may forbid), so it is never touched.
        return Plan(
            Act.BLOCKED,
            "EndpointMismatch",
            f"inference component {desired.name!r} exists on endpoint {where!r}, not on "
            f"{desired.spec.endpoint_name!r}; the operator will not touch it. Choose another "
            "spec.inferenceComponentName",
            degraded=True,
            owned=False,
            # Blocked by something outside the spec (another team's component): looked at
            # again at the resync interval, so the resource moves on once it is gone.
            wake=Wake.RESYNC,
        )
    owned = is_owned(desired.uid, observed, status)
    if owned is None:
        raise ValueError("ownership is unknown: fetch the tags before planning")
    adopting = not owned
    if adopting and desired.spec.adoption_policy == "Never":
        return Plan(
            Act.BLOCKED,
            "AlreadyExists",
            f"inference component {desired.name!r} already exists and was not created for this "
            "resource; set spec.adoptionPolicy: IfExists to manage it, or choose another "
            "spec.inferenceComponentName",
            degraded=True,
            owned=False,
            wake=Wake.RESYNC,  # as above: the other component may go away
        )

    confirmed = write is not None and not write.confirmed and newer_than_write(component, write)
    state = component.get("InferenceComponentStatus")
    if state in TRANSITIONS:
        return Plan(
            Act.WAIT,
            str(state),
            f"SageMaker reports {state}",
            delay=poll.for_transition(component, observed.now),
            wake=Wake.POLL,
            confirmed=confirmed,
        )

    unsent = False
    if (
        write is not None
        and owned
        and not newer_than_write(component, write)
        and not _echoes(desired, component, strategy)
    ):
        if _confirming(write, observed.now, poll):
            return _confirm_plan(write, observed.now, poll, "the reading predates it")
        # Waited out. A write whose answer was lost did not land: it is sent again, not
        # judged. An accepted one is judged on what SageMaker shows now.
        unsent = write.outcome == "Unknown" and not write.confirmed
    elif write is not None and not write.confirmed:
        confirmed = True

    def settled(last: LastDeployment | None) -> Plan:
        return _plan_settled(
            desired,
            observed,
            component=component,
            last=last,
            digest=digest,
            wire=wire,
            owned=owned,
            view=strategy.view,
            unsent=unsent,
        )

    if unsent:
        return settled(status.last_deployment)
    last = assess(status.last_deployment, component, desired, observed.now)
    judged = last if last is not status.last_deployment else None
    revised = None
    if judged is None and last is not None and _contradicted(last, component, desired, digest):
        # A verdict SageMaker now contradicts: the desired spec is InService after all.
        revised = last
        last = last.model_copy(
            update={
                "outcome": "Succeeded",
                "failure_reason": None,
                "finished_at": iso(observed.now),
            }
        )
        judged = last
    return replace(settled(last), judged=judged, confirmed=confirmed, revised=revised)


def _echoes(desired: Desired, component: Mapping[str, Any], strategy: Strategy) -> bool:
    """SageMaker runs exactly the desired spec and copy count (whatever the reading's age)."""
    if component.get("InferenceComponentStatus") != "InService":
        return False
    if differences(desired.spec.aws_specification(), strategy.view(component)):
        return False
    rc = desired.spec.runtime_config
    if rc is not None and desired.spec.copy_count_owner() == "Operator":
        return bool((component.get("RuntimeConfig") or {}).get("DesiredCopyCount") == rc.copy_count)
    return True


def _contradicted(
    last: LastDeployment, component: Mapping[str, Any], desired: Desired, digest: str
) -> bool:
    return (
        last.outcome in ("RolledBack", "Failed")
        and last.spec_hash == digest
        and component.get("InferenceComponentStatus") == "InService"
        and not differences(desired.spec.aws_specification(), observed_specification(component))
    )


def _plan_settled(
    desired: Desired,
    observed: Observed,
    *,
    component: Mapping[str, Any],
    last: LastDeployment | None,
    digest: str,
    wire: dict[str, Any],
    owned: bool,
    view: Callable[[Mapping[str, Any]], dict[str, Any]],
    unsent: bool = False,
) -> Plan:
    adopting = not owned
    state = component.get("InferenceComponentStatus")
    if state == "Failed":
        return _plan_failed(desired, component, last, digest)

    diffs = differences(wire, view(component))
    blocked = (
        last is not None
        and last.outcome in ("RolledBack", "Failed")
        and last.spec_hash == digest
        and last.retry_token == desired.retry_token
    )
    spec_moved = last is not None and last.spec_hash != digest
    retry_requested = last is not None and last.retry_token != desired.retry_token
    # A deployment recorded InProgress whose write never landed (its answer was lost and
    # the confirmation window passed with no sign of it) is sent again.
    resend = unsent and last is not None and last.outcome == "InProgress" and bool(diffs)

    rc = desired.spec.runtime_config
    # With spec.autoScaling the autoscaler owns the copy count (External): never written.
    owns_copies = rc is not None and desired.spec.copy_count_owner() == "Operator"
    observed_copies = (component.get("RuntimeConfig") or {}).get("DesiredCopyCount")
    copies_differ = owns_copies and rc is not None and rc.copy_count != observed_copies
    want_copies = rc.copy_count if (owns_copies and rc is not None) else None

    needs_update = not blocked and (bool(diffs) or spec_moved or retry_requested or resend)
    if needs_update:
        why = _update_reason(diffs, last, spec_moved, retry_requested, adopting)
        return Plan(
            Act.UPDATE,
            "Updating",
            why,
            request=desired.spec.update_request(
                desired.name, copy_count=want_copies if copies_differ else None
            ),
            deployment=_start(desired, digest, observed.now, component.get("FailureReason")),
            owned=owned,
            wake=Wake.POLL,
        )

    if last is None or (last.spec_hash == digest and last.outcome == "InProgress"):
        # Adopted, or status was lost, and SageMaker already matches: record, don't redeploy.
        last = LastDeployment(
            generation=desired.generation,
            spec_hash=digest,
            deployment_config=None,
            started_at=None,
            finished_at=iso(observed.now),
            outcome="Succeeded",
            failure_reason=None,
            retry_token=desired.retry_token,
            previous_failure_reason=component.get("FailureReason"),
        )

    if copies_differ and want_copies is not None:
        return Plan(
            Act.SCALE,
            "Scaling",
            f"copy count {observed_copies} -> {want_copies}",
            request=desired.spec.runtime_config_request(desired.name, want_copies),
            deployment=last,
            owned=owned,
            wake=Wake.POLL,
        )

    if observed.tags is not None:
        add, remove = tag_changes(desired_tags(desired), observed.tags)
        if add or remove:
            return Plan(
                Act.TAG,
                "Tagging",
                f"tags: {len(add)} to set, {len(remove)} to remove",
                deployment=last,
                tags_add=add,
                tags_remove=remove,
                owned=owned,
            )

    if blocked:
        assert last is not None
        return Plan(
            Act.BLOCKED,
            last.outcome,
            _blocked_message(last),
            deployment=last,
            degraded=True,
            owned=owned,
        )
    return Plan(Act.NOOP, "InSync", "SageMaker matches the spec", deployment=last, owned=owned)


def _plan_create(
    desired: Desired, observed: Observed, status: InferenceComponentStatus, digest: str
) -> Plan:
    last = status.last_deployment
    if (
        last is not None
        and last.outcome == "Failed"
        and last.spec_hash == digest
        and last.retry_token == desired.retry_token
    ):
        return Plan(Act.BLOCKED, "Failed", _blocked_message(last), deployment=last, degraded=True)
    spec = desired.spec
    problems = spec.creation_problems()
    if problems:
        return Plan(
            Act.BLOCKED,
            "InvalidSpec",
            "; ".join(problems) + " (SageMaker rejects 0); scale to 0 once it exists",
            degraded=True,
            wake=Wake.IDLE,
        )
    request = spec.create_request(desired.name, tags=owner_tags(desired))
    if not spec.is_adapter():
        request.setdefault("RuntimeConfig", {"CopyCount": 1})
    message = "creating the inference component"
    if status.inference_component_arn:
        message = "the inference component disappeared from SageMaker; creating it again"
    return Plan(
        Act.CREATE,
        "Creating",
        message,
        request=request,
        deployment=_start(desired, digest, observed.now, None),
        wake=Wake.POLL,
    )


def _plan_failed(
    desired: Desired, component: Mapping[str, Any], last: LastDeployment | None, digest: str
) -> Plan:
    reason = component.get("FailureReason") or "no reason given"
    same = last is not None and last.spec_hash == digest and last.retry_token == desired.retry_token
    if same:
        return Plan(
            Act.BLOCKED,
            "Failed",
            f"SageMaker reports Failed: {reason}. To try again, change the spec or set the "
            f"annotation {RETRY_ANNOTATION} to a new value: the operator then deletes and "
            "recreates the component",
            deployment=last,
            degraded=True,
        )
    return Plan(
        Act.DELETE,
        "Recreating",
        f"deleting the Failed component to recreate it with the current spec ({reason})",
        request={"InferenceComponentName": desired.name},
        deployment=last,
        degraded=True,
        wake=Wake.POLL,
    )


def assess(
    last: LastDeployment | None,
    component: Mapping[str, Any],
    desired: Desired,
    now: float,
    *,
    view: Callable[[Mapping[str, Any]], dict[str, Any]] = observed_specification,
) -> LastDeployment | None:
    """Judge an in-progress deployment once SageMaker has settled.

    Judging a deployment's outcome is not drift detection: it always compares with
    normalisation (the naive baseline too, else it would call its own create RolledBack).
    The caller passes only readings known to be later than the write.
    """
    if last is None or last.outcome != "InProgress":
        return last
    state = component.get("InferenceComponentStatus")
    if state in TRANSITIONS:
        return last
    reason_now = component.get("FailureReason") or None
    new_failure = reason_now is not None and reason_now != last.previous_failure_reason
    if state == "Failed":
        outcome, failure = "Failed", reason_now or "SageMaker reports Failed"
    else:
        diffs: list[str] = []
        wire = desired.spec.aws_specification()
        if last.spec_hash == spec_hash(wire):
            diffs = differences(wire, view(component))
        if diffs or new_failure:
            outcome = "RolledBack"
            failure = (
                reason_now
                if new_failure
                else (
                    "SageMaker kept the previous specification (differs at "
                    + ", ".join(diffs)
                    + ")"
                )
            )
        else:
            outcome, failure = "Succeeded", None
    return last.model_copy(
        update={"outcome": outcome, "failure_reason": failure, "finished_at": iso(now)}
    )


def _start(
    desired: Desired, digest: str, now: float, previous_failure: str | None
) -> LastDeployment:
    return LastDeployment(
        generation=desired.generation,
        spec_hash=digest,
        deployment_config=desired.spec.deployment_config,
        started_at=iso(now),
        finished_at=None,
        outcome="InProgress",
        failure_reason=None,
        retry_token=desired.retry_token,
        previous_failure_reason=previous_failure,
    )


def _update_reason(
    diffs: list[str],
    last: LastDeployment | None,
    spec_moved: bool,
    retry_requested: bool,
    adopting: bool,
) -> str:
    if adopting:
        return "adopting an existing component and applying the spec"
    if retry_requested and not spec_moved:
        return f"retrying the spec as requested by {RETRY_ANNOTATION}"
    if spec_moved or last is None:
        return "applying the new spec"
    if last.outcome == "InProgress":
        return "sending the spec again: SageMaker never showed the last update"
    return "correcting drift at " + ", ".join(diffs[:5])


def _blocked_message(last: LastDeployment) -> str:
    verb = "rolled back" if last.outcome == "RolledBack" else "failed"
    reason = (last.failure_reason or "no reason given").rstrip(". ")
    return (
        f"the deployment of generation {last.generation} {verb}: {reason}. The operator will "
        f"not apply this spec again; change the spec or set the annotation {RETRY_ANNOTATION} "
        "to a new value"
    )


def tag_changes(
    want: Mapping[str, str], have: Mapping[str, str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Tags to set and keys to remove; keys SageMaker reserves (``aws:``) are left alone."""
    add = {k: v for k, v in want.items() if have.get(k) != v}
    remove = tuple(sorted(k for k in have if k not in want and not k.startswith("aws:")))
    return add, remove


def plan_delete(
    name: str,
    deletion_policy: str,
    observed: Observed,
    owned: bool | None,
    poll: PollPolicy = PollPolicy(),
    *,
    endpoint: str | None = None,
    write: LastWrite | None = None,
) -> Plan:
    """Steps of a deletion; a retained or foreign component (another resource's, or on
    another endpoint than the spec names) is never deleted. After a Delete, a reading
    from before it (still InService) is waited out, not answered with a second Delete."""
    if deletion_policy == "Retain":
        return Plan(
            Act.RELEASE, "Retained", f"deletionPolicy Retain: {name!r} is kept in SageMaker"
        )
    component = observed.component
    if component is None:
        if write is not None and _recent_create(write, observed.now, poll):
            # Created a moment ago and not visible yet: releasing now would leave it behind.
            return _confirm_plan(write, observed.now, poll, "not visible yet")
        return Plan(Act.RELEASE, "Deleted", f"{name!r} is gone from SageMaker")
    elsewhere = endpoint is not None and component.get("EndpointName") != endpoint
    if not owned or elsewhere:
        return Plan(
            Act.RELEASE,
            "NotOwned",
            f"{name!r} was not created or adopted by this resource; it is left in SageMaker",
            owned=False,
        )
    state = component.get("InferenceComponentStatus")
    if state in TRANSITIONS:
        return Plan(
            Act.WAIT,
            "Deleting",
            f"waiting for SageMaker ({state}) before deleting"
            if state != "Deleting"
            else "SageMaker is deleting the component",
            delay=poll.for_transition(component, observed.now),
            wake=Wake.POLL,
            confirmed=write is not None and write.operation == "Delete",
        )
    if (
        write is not None
        and write.operation == "Delete"
        and not newer_than_write(component, write)
        and _confirming(write, observed.now, poll)
    ):
        return _confirm_plan(write, observed.now, poll, "the reading predates it")
    return Plan(
        Act.DELETE,
        "Deleting",
        f"deleting {name!r}",
        request={"InferenceComponentName": name},
        wake=Wake.POLL,
    )


# --------------------------------------------------------------------------- after a failed call

# Failures that resolve themselves in time: (failure, action, first delay, longest delay).
# Throttling and 5xx are routine (not Degraded); capacity and IAM need a human to look.
_BACKOFF: dict[Failure, tuple[Act, float, float]] = {
    Failure.ENDPOINT_MISSING: (Act.BLOCKED, 30, 600),
    Failure.ENDPOINT_BUSY: (Act.WAIT, 10, 120),
    Failure.RETRY: (Act.WAIT, 2, 120),
    Failure.CAPACITY: (Act.BLOCKED, 30, 600),
    Failure.ACCESS: (Act.BLOCKED, 60, 900),
    Failure.OTHER: (Act.BLOCKED, 30, 600),
}
_SCALE_REJECTED = (60.0, 3600.0)
_SPEC_WRITES = frozenset(
    {
        "CreateInferenceComponent",
        "UpdateInferenceComponent",
        "UpdateInferenceComponentRuntimeConfig",
    }
)


def classify_failure(kind: str, operation: str) -> Failure:
    """One table from (error kind, operation) to what it means for the resource.

    ``kind`` is a :class:`ic_operator.aws.errors.ErrorKind` value (the planner does not
    import the client module).
    """
    create = operation == "CreateInferenceComponent"
    if kind == "NotFound" and create:
        # The endpoint (or base component) is not there yet: GitOps tools often apply
        # the component before the endpoint exists, so wait for it, slowly.
        return Failure.ENDPOINT_MISSING
    if kind == "Busy" and create:
        # The endpoint exists but cannot host yet: endpoints take minutes, so back off.
        return Failure.ENDPOINT_BUSY
    if kind == "AlreadyExists" and create:
        # Most likely our own earlier Create, not yet visible to reads: confirm by
        # reading, as for a Create whose answer was lost.
        return Failure.UNKNOWN_OUTCOME
    if kind in ("Busy", "NotFound", "AlreadyExists"):
        return Failure.BUSY  # a transition started or ended under us: look again soon
    if kind == "OutcomeUnknown":
        return Failure.UNKNOWN_OUTCOME
    if kind == "Retryable":
        return Failure.RETRY
    if kind == "InsufficientCapacity":
        return Failure.CAPACITY
    if kind == "AccessDenied":
        return Failure.ACCESS
    if kind == "Invalid" and operation in _SPEC_WRITES:
        return Failure.REJECTED
    return Failure.OTHER


def backoff_delay(uid: str, errors: int, base: float, cap: float) -> float:
    """Exponential with a jitter derived from the UID and the count: a thousand objects
    spread out, and the same inputs give the same delay in any process."""
    digest = hashlib.sha256(f"{uid}/{errors}".encode()).digest()
    jitter = 0.8 + 0.4 * (int.from_bytes(digest[:4], "big") / 2**32)
    return float(min(cap, base * 2.0 ** max(0, errors - 1)) * jitter)


def plan_failure(
    failure: Failure,
    *,
    operation: str,
    detail: str,
    message: str,
    uid: str,
    desired: Desired | None,
    status: InferenceComponentStatus,
    attempted: Plan | None,
    now: float,
    poll: PollPolicy = PollPolicy(),
) -> Plan:
    """What to do after a failed call; ``attempted`` is the plan whose call failed
    (None when a read failed). ``detail`` is "operation: code: message". ``desired`` is
    None during deletion, when the spec no longer matters."""
    errors = (status.decision.errors if status.decision is not None else 0) + 1
    last = status.last_deployment
    if failure is Failure.UNKNOWN_OUTCOME and attempted is not None:
        # Possibly applied: record it as sent (outcome Unknown); the next pass reads
        # before anything is sent again.
        return replace(
            attempted,
            action=Act.WAIT,
            reason="Confirming",
            message=f"SageMaker's answer to {operation} was lost ({message}); confirming by "
            "reading before sending anything again",
            delay=poll.minimum,
            wake=Wake.CONFIRM,
            degraded=False,
            judged=None,
            sent=WRITES.get(attempted.action),
        )
    if failure is Failure.UNKNOWN_OUTCOME:
        failure = Failure.RETRY  # a read cannot have changed anything
    if failure is Failure.BUSY:
        return Plan(
            Act.WAIT,
            "Waiting",
            f"SageMaker is busy: {message}",
            delay=poll.minimum,
            wake=Wake.POLL,
            deployment=last,
        )
    if failure is Failure.REJECTED and desired is not None:
        # SageMaker rejected this spec: record it so the same spec is not sent again.
        scaling = operation == "UpdateInferenceComponentRuntimeConfig"
        failed = LastDeployment(
            generation=desired.generation,
            spec_hash=spec_hash(desired.spec.aws_specification()),
            deployment_config=desired.spec.deployment_config,
            started_at=iso(now),
            finished_at=iso(now),
            outcome="Failed",
            failure_reason=f"SageMaker rejected the request: {message}",
            retry_token=desired.retry_token,
            previous_failure_reason=status.failure_reason,
        )
        return Plan(
            Act.BLOCKED,
            "InvalidSpec",
            f"SageMaker rejected {operation}: {message}",
            degraded=True,
            # A rejected copy count is not a deployment: keep the record, back off.
            deployment=last if scaling else failed,
            delay=backoff_delay(uid, errors, *_SCALE_REJECTED) if scaling else None,
            wake=Wake.BACKOFF if scaling else Wake.RESYNC,
            errors=errors if scaling else 0,
        )
    action, base, cap = _BACKOFF.get(failure, _BACKOFF[Failure.OTHER])
    text = detail
    if failure is Failure.ENDPOINT_MISSING:
        text = (
            f"{message} The operator retries with backoff; set the annotation "
            f"{RETRY_ANNOTATION} to retry at once."
        )
    elif failure is Failure.ENDPOINT_BUSY:
        text = f"SageMaker cannot create yet: {message}"
    return Plan(
        action,
        failure.value,
        text,
        degraded=action is Act.BLOCKED,
        delay=backoff_delay(uid, errors, base, cap),
        wake=Wake.BACKOFF,
        errors=errors,
        deployment=last,
    )


# --------------------------------------------------------------------------- the listing


class Look(Enum):
    """What the endpoint listing says about one component (see :func:`triage`)."""

    ABSENT = "absent"  # not listed: nothing to describe, it does not exist
    UNCHANGED = "unchanged"  # settled and nothing moved since the last decision
    MOVING = "moving"  # still transitioning, nothing moved since the last Describe
    CREATED = "created"  # this resource's Create finished: InService, see :func:`plan_created`
    DESCRIBE = "describe"  # look closer


def triage(
    summary: Mapping[str, Any] | None,
    status: InferenceComponentStatus,
    desired: Desired,
) -> Look:
    """Decide from a ListInferenceComponents summary whether a Describe is needed.

    The listing carries status and LastModifiedTime, which SageMaker moves on every
    change (including each rolling batch): unchanged values since the last decision,
    for the same generation and retry annotation, mean nothing happened.
    """
    decision = status.decision
    if summary is None:
        # Listings lag like every read: a component the last decision saw, or one being
        # confirmed after a write, is not taken to be gone until Describe says so.
        seen = decision is not None and decision.state not in (None, "NotFound")
        confirming = decision is not None and Wake(decision.next) is Wake.CONFIRM
        return Look.DESCRIBE if seen or confirming else Look.ABSENT
    if (
        decision is None
        or summary.get("InferenceComponentArn") != status.inference_component_arn
        or (decision.generation, decision.retry_token) != (desired.generation, desired.retry_token)
    ):
        return Look.DESCRIBE
    listed = summary.get("InferenceComponentStatus")
    if _creating_ours(status, desired):
        # Nothing but this resource's Create has touched the component: Creating says
        # nothing new, and InService says the Create succeeded (all a Describe would add
        # is what the listing lacks, looked up later as routine work). Failed, or anything
        # else, is looked at closely.
        if listed == "Creating":
            return Look.MOVING
        if listed == "InService":
            return Look.CREATED
        return Look.DESCRIBE
    same = listed == decision.state and epoch(summary.get("LastModifiedTime")) == decision.modified
    if not same:
        return Look.DESCRIBE
    step = Wake(decision.next)
    if step in (Wake.RESYNC, Wake.IDLE):
        return Look.UNCHANGED
    if step is Wake.POLL and decision.state in TRANSITIONS:
        return Look.MOVING
    return Look.DESCRIBE


def _creating_ours(status: InferenceComponentStatus, desired: Desired) -> bool:
    """The last decision saw this resource's own accepted Create still Creating, for the
    spec and retry annotation desired now (the caller checked the listed ARN is ours).

    Only the Create can have moved such a component, so its settling needs no Describe
    to be judged: a create cannot roll back. Components whose copy count an autoscaler
    owns are excluded, because their first InService pass registers the scalable target
    from a Describe.
    """
    decision = status.decision
    write = status.last_write
    last = status.last_deployment
    return (
        decision is not None
        and decision.state == "Creating"
        and Wake(decision.next) is Wake.POLL
        and write is not None
        and write.operation == "Create"
        and write.outcome == "Accepted"
        and write.generation == desired.generation
        and last is not None
        and last.outcome == "InProgress"
        and (last.generation, last.retry_token) == (desired.generation, desired.retry_token)
        and write.spec_hash == last.spec_hash == spec_hash(desired.spec.aws_specification())
        and desired.spec.auto_scaling is None
    )


def plan_created(status: InferenceComponentStatus, now: float, poll: PollPolicy) -> Plan:
    """Ready from the listing after :data:`Look.CREATED`: the deployment the Create
    started succeeded, and the Create is confirmed. The next pass (``Wake.VERIFY``) makes
    one routine Describe, an ordinary settled pass that also fills in the copy counts."""
    last = status.last_deployment
    judged = None
    if last is not None and last.outcome == "InProgress":
        judged = last.model_copy(
            update={"outcome": "Succeeded", "failure_reason": None, "finished_at": iso(now)}
        )
    return Plan(
        Act.NOOP,
        "InSync",
        "SageMaker lists the created component InService",
        deployment=judged or last,
        judged=judged,
        confirmed=True,
        wake=Wake.VERIFY,
        delay=poll.minimum,
    )
