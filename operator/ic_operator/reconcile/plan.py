"""Desired + observed + recorded status -> the one next action of an apply pass. Pure:
no I/O, no clock.

The rules here are the ones the peers get wrong, so they are written down once:

* In sync means no write call at all (the comparison is normalised in :mod:`diffing`).
* A copy-count-only change scales through UpdateInferenceComponentRuntimeConfig;
  a copy count owned by an autoscaler (``External``) is never written after creation.
* A deployment is judged when SageMaker settles (:mod:`verdict`).
* The same spec is never re-applied after it rolled back or failed, until the
  spec or the retry annotation changes. Drift from any other cause is corrected.
* The retry annotation retries what failed, nothing else: on a component in sync it
  sends nothing. A redeploy is its own request (the redeploy annotation): each new
  value sends the spec once, with its deploymentConfig, even when nothing differs.
* Edits made while SageMaker is busy are simply seen later: the plan always uses
  the latest spec, so ten edits during a rollout become one follow-up update.
* A reading judges a write only when it is known to be later than the write
  (:mod:`confirmation`). A write whose answer was lost is confirmed by reading before
  anything is sent again.

Everything the plan depends on is an argument, including the status a restarted
process reads back, so the same inputs give the same plan in any process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ic_operator.models import InferenceComponentStatus, LastDeployment
from ic_operator.names import RETRY_ANNOTATION
from ic_operator.reconcile.asked import redeploy_asked, redeploying, retry_asked, update_reason
from ic_operator.reconcile.confirmation import (
    confirm_plan,
    confirming,
    newer_than_write,
    recent_create,
)
from ic_operator.reconcile.diffing import differences, spec_hash
from ic_operator.reconcile.ownership import (
    desired_tags,
    is_owned,
    owner_tags,
    tag_changes,
    tags_digest,
)
from ic_operator.reconcile.types import (
    DEFAULT,
    DEFAULT_POLL,
    TRANSITIONS,
    Act,
    Desired,
    Observed,
    Plan,
    PollPolicy,
    StatusDelta,
    Strategy,
    Wake,
    iso,
)
from ic_operator.reconcile.verdict import assess, contradicted, start


def plan_apply(
    desired: Desired,
    observed: Observed,
    status: InferenceComponentStatus,
    poll: PollPolicy = DEFAULT_POLL,
    *,
    strategy: Strategy = DEFAULT,
) -> Plan:
    """The next step towards the desired state."""
    wire = desired.spec.aws_specification()
    digest = spec_hash(wire)
    component = observed.component
    write = status.last_write
    if component is None:
        if write is not None and recent_create(write, observed.now, poll):
            # Reads lag writes: a component created a moment ago may not be listed yet.
            # Creating again would be refused as AlreadyExists at best.
            return confirm_plan(write, observed.now, poll, "not listed yet")
        return _with_tags_known(_plan_create(desired, observed, status, digest), desired, observed)

    where = component.get("EndpointName")
    if where is not None and where != desired.endpoint:
        # Same name, other endpoint: someone else's component. Adopting, updating or
        # deleting it would let a resource reach an endpoint it does not name (and that
        # the endpoint policy may forbid), so it is never touched.
        return Plan(
            Act.BLOCKED,
            "EndpointMismatch",
            f"inference component {desired.name!r} exists on endpoint {where!r}, not on "
            f"{desired.endpoint!r}; the operator will not touch it. Choose another "
            "spec.inferenceComponentName",
            degraded=True,
            record=StatusDelta(owned=False),
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
            record=StatusDelta(owned=False),
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
            record=StatusDelta(confirmed=confirmed),
        )

    unsent = False
    if (
        write is not None
        and owned
        and not newer_than_write(component, write)
        and (
            not runs_desired(desired, component, strategy)
            or redeploying(status.last_deployment, desired)
        )
    ):
        if confirming(write, observed.now, poll):
            return confirm_plan(write, observed.now, poll, "the reading predates it")
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
        return _with_tags_known(settled(status.last_deployment), desired, observed)
    last = assess(status.last_deployment, component, desired, observed.now)
    judged = last if last is not status.last_deployment else None
    revised = None
    if judged is None and last is not None and contradicted(last, component, desired, digest):
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
    chosen = settled(last)
    record = replace(chosen.record, judged=judged, confirmed=confirmed, revised=revised)
    return _with_tags_known(replace(chosen, record=record), desired, observed)


def _with_tags_known(chosen: Plan, desired: Desired, observed: Observed) -> Plan:
    """Records the desired tags' digest when the plan makes SageMaker hold them (Create,
    Tag) or the tags read this pass show it does (in sync)."""
    creates_tags = chosen.action in (Act.CREATE, Act.TAG)
    if creates_tags or (chosen.action is Act.NOOP and observed.tags is not None):
        digest = tags_digest(desired_tags(desired))
        return replace(chosen, record=replace(chosen.record, tags_hash=digest))
    return chosen


def runs_desired(desired: Desired, component: Mapping[str, Any], strategy: Strategy) -> bool:
    """SageMaker runs exactly the desired spec and copy count (whatever the reading's age)."""
    if component.get("InferenceComponentStatus") != "InService":
        return False
    if differences(desired.spec.aws_specification(), strategy.view(component)):
        return False
    rc = desired.spec.runtime_config
    if rc is not None and desired.spec.copy_count_owner() == "Operator":
        return bool((component.get("RuntimeConfig") or {}).get("DesiredCopyCount") == rc.copy_count)
    return True


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
    retry_requested = retry_asked(last, desired)
    redeploy = redeploy_asked(last, desired)
    # A deployment recorded InProgress whose write never landed (its answer was lost and
    # the confirmation window passed with no sign of it) is sent again.
    resend = unsent and last is not None and last.outcome == "InProgress" and bool(diffs)

    rc = desired.spec.runtime_config
    # With spec.autoScaling the autoscaler owns the copy count (External): never written.
    owns_copies = rc is not None and desired.spec.copy_count_owner() == "Operator"
    observed_copies = (component.get("RuntimeConfig") or {}).get("DesiredCopyCount")
    copies_differ = owns_copies and rc is not None and rc.copy_count != observed_copies
    want_copies = rc.copy_count if (owns_copies and rc is not None) else None

    needs_update = redeploy or (
        not blocked and (bool(diffs) or spec_moved or retry_requested or resend)
    )
    if needs_update:
        why = update_reason(
            diffs,
            last,
            spec_moved=spec_moved,
            retry_requested=retry_requested,
            redeploy=redeploy,
            adopting=adopting,
        )
        return Plan(
            Act.UPDATE,
            "Updating",
            why,
            request=desired.spec.update_request(
                desired.name, copy_count=want_copies if copies_differ else None
            ),
            record=StatusDelta(
                deployment=start(desired, digest, observed.now, component.get("FailureReason")),
                owned=owned,
            ),
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
            redeploy_token=desired.redeploy_token,
            previous_failure_reason=component.get("FailureReason"),
        )

    if copies_differ and want_copies is not None:
        return Plan(
            Act.UPDATE_RUNTIME_CONFIG,
            "Scaling",
            f"copy count {observed_copies} -> {want_copies}",
            request=desired.spec.runtime_config_request(desired.name, want_copies),
            record=StatusDelta(deployment=last, owned=owned),
            wake=Wake.POLL,
        )

    if observed.tags is not None:
        add, remove = tag_changes(desired_tags(desired), observed.tags)
        if add or remove:
            return Plan(
                Act.TAG,
                "Tagging",
                f"tags: {len(add)} to set, {len(remove)} to remove",
                tags_add=add,
                tags_remove=remove,
                record=StatusDelta(deployment=last, owned=owned),
            )

    if blocked:
        assert last is not None
        return Plan(
            Act.BLOCKED,
            last.blocked_reason,
            _blocked_message(last),
            degraded=True,
            record=StatusDelta(deployment=last, owned=owned),
        )
    return Plan(
        Act.NOOP,
        "InSync",
        "SageMaker matches the spec",
        record=StatusDelta(deployment=last, owned=owned),
    )


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
        return Plan(
            Act.BLOCKED,
            last.blocked_reason,
            _blocked_message(last),
            degraded=True,
            record=StatusDelta(deployment=last),
        )
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
        record=StatusDelta(deployment=start(desired, digest, observed.now, None)),
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
            degraded=True,
            record=StatusDelta(deployment=last),
        )
    return Plan(
        Act.DELETE,
        "Recreating",
        f"deleting the Failed component to recreate it with the current spec ({reason})",
        request={"InferenceComponentName": desired.name},
        degraded=True,
        wake=Wake.POLL,
        record=StatusDelta(deployment=last),
    )


def _blocked_message(last: LastDeployment) -> str:
    verb = "rolled back" if last.outcome == "RolledBack" else "failed"
    reason = (last.failure_reason or "no reason given").rstrip(". ")
    return (
        f"the deployment of generation {last.generation} {verb}: {reason}. The operator will "
        f"not apply this spec again; change the spec or set the annotation {RETRY_ANNOTATION} "
        "to a new value"
    )
