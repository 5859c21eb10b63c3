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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ic_operator.diffing import differences, observed_specification, raw_specification, spec_hash
from ic_operator.models import InferenceComponentSpec, InferenceComponentStatus, LastDeployment

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


def plan(
    desired: Desired,
    observed: Observed,
    status: InferenceComponentStatus,
    poll: PollPolicy = PollPolicy(),
    *,
    normalise: bool = True,
) -> Plan:
    """The next step towards the desired state (``normalise=False``: the naive baseline)."""
    view = observed_specification if normalise else raw_specification
    wire = desired.spec.aws_specification()
    digest = spec_hash(wire)
    component = observed.component
    if component is None:
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
        )

    state = component.get("InferenceComponentStatus")
    if state in TRANSITIONS:
        return Plan(
            Act.WAIT,
            str(state),
            f"SageMaker reports {state}",
            delay=poll.for_transition(component, observed.now),
        )

    # Judging a deployment's outcome is not drift detection: the naive baseline judges
    # with normalisation too, else it calls its own successful create "RolledBack",
    # blocks, and never issues the update storm it exists to show.
    last = assess(status.last_deployment, component, desired, observed.now)
    judged = last if last is not status.last_deployment else None
    return replace(
        _plan_settled(
            desired,
            observed,
            component=component,
            last=last,
            digest=digest,
            wire=wire,
            owned=owned,
            view=view,
        ),
        judged=judged,
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

    rc = desired.spec.runtime_config
    owns_copies = rc is not None and rc.copy_count_owner == "Operator"
    observed_copies = (component.get("RuntimeConfig") or {}).get("DesiredCopyCount")
    copies_differ = owns_copies and rc is not None and rc.copy_count != observed_copies
    want_copies = rc.copy_count if (owns_copies and rc is not None) else None

    needs_update = not blocked and (bool(diffs) or spec_moved or retry_requested)
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
    request = spec.create_request(desired.name, tags=owner_tags(desired))
    if not spec.is_adapter():
        copies = spec.runtime_config.copy_count if spec.runtime_config else 1
        if copies < 1:
            return Plan(
                Act.BLOCKED,
                "InvalidSpec",
                "spec.runtimeConfig.copyCount must be at least 1 to create a component "
                "(SageMaker rejects 0); scale to 0 once it exists",
                degraded=True,
            )
        request.setdefault("RuntimeConfig", {"CopyCount": copies})
    message = "creating the inference component"
    if status.inference_component_arn:
        message = "the inference component disappeared from SageMaker; creating it again"
    return Plan(
        Act.CREATE,
        "Creating",
        message,
        request=request,
        deployment=_start(desired, digest, observed.now, None),
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
    )


def assess(
    last: LastDeployment | None,
    component: Mapping[str, Any],
    desired: Desired,
    now: float,
    *,
    view: Callable[[Mapping[str, Any]], dict[str, Any]] = observed_specification,
) -> LastDeployment | None:
    """Judge an in-progress deployment once SageMaker has settled."""
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
) -> Plan:
    """Steps of a deletion; a retained or foreign component (another resource's, or on
    another endpoint than the spec names) is never deleted."""
    if deletion_policy == "Retain":
        return Plan(
            Act.RELEASE, "Retained", f"deletionPolicy Retain: {name!r} is kept in SageMaker"
        )
    component = observed.component
    if component is None:
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
            f"waiting for SageMaker ({state}) before deleting",
            delay=poll.for_transition(component, observed.now),
        )
    return Plan(
        Act.DELETE, "Deleting", f"deleting {name!r}", request={"InferenceComponentName": name}
    )
