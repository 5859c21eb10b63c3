"""Listing triage: whether the endpoint listing's summary of a component says enough, or
a Describe is needed. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from ic_operator.models import InferenceComponentStatus
from ic_operator.reconcile.diffing import spec_hash
from ic_operator.reconcile.types import (
    TRANSITIONS,
    Desired,
    Wake,
    decided_for,
    epoch,
    recorded_wake,
)


class Look(Enum):
    """What the endpoint listing says about one component (see :func:`triage`)."""

    ABSENT = "absent"  # not listed: nothing to describe, it does not exist
    UNCHANGED = "unchanged"  # settled and nothing moved since the last decision
    MOVING = "moving"  # still transitioning, nothing moved since the last Describe
    CREATED = "created"  # this resource's Create finished: InService, see
    # :func:`~ic_operator.reconcile.verdict.plan_created`
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
        confirming = recorded_wake(status) is Wake.CONFIRM
        return Look.DESCRIBE if seen or confirming else Look.ABSENT
    if (
        decision is None
        or summary.get("InferenceComponentArn") != status.inference_component_arn
        or decided_for(decision) != desired.asked
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
    wake = recorded_wake(status)
    if wake in (Wake.RESYNC, Wake.IDLE):
        return Look.UNCHANGED
    if wake is Wake.POLL and decision.state in TRANSITIONS:
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
        and recorded_wake(status) is Wake.POLL
        and write is not None
        and write.operation == "Create"
        and write.outcome == "Accepted"
        and write.generation == desired.generation
        and last is not None
        and last.outcome == "InProgress"
        and (last.generation, last.retry_token, last.redeploy_token) == desired.asked
        and write.spec_hash == last.spec_hash == spec_hash(desired.spec.aws_specification())
        and desired.spec.auto_scaling is None
    )
