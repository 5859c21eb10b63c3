"""Verdicts: how a deployment ended, judged once SageMaker has settled.

Back InService with a spec other than the one applied (or with a FailureReason that
was not there before) means it rolled back; a FailureReason that predates the update
is not a new failure. A verdict is re-examined: RolledBack or Failed that SageMaker
later contradicts (the desired spec InService) becomes Succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ic_operator.models import InferenceComponentStatus, LastDeployment
from ic_operator.reconcile.diffing import differences, observed_specification, spec_hash
from ic_operator.reconcile.types import (
    TRANSITIONS,
    Act,
    Desired,
    Plan,
    PollPolicy,
    StatusDelta,
    Wake,
    iso,
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


def start(
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
        redeploy_token=desired.redeploy_token,
        previous_failure_reason=previous_failure,
    )


def contradicted(
    last: LastDeployment, component: Mapping[str, Any], desired: Desired, digest: str
) -> bool:
    return (
        last.outcome in ("RolledBack", "Failed")
        and last.spec_hash == digest
        and component.get("InferenceComponentStatus") == "InService"
        and not differences(desired.spec.aws_specification(), observed_specification(component))
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
        record=StatusDelta(deployment=judged or last, judged=judged, confirmed=True),
        wake=Wake.VERIFY,
        delay=poll.minimum,
    )
