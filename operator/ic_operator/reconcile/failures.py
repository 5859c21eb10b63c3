"""What to do after a failed call. What an error *means* is aws.errors' table
(:data:`~ic_operator.aws.errors.FAILURES`); this turns that meaning into a plan."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from ic_operator.aws.errors import BACKOFF, REFUSALS, Failure, SageMakerError
from ic_operator.models import InferenceComponentStatus, LastDeployment
from ic_operator.models.status import REJECTED_BY_SAGEMAKER
from ic_operator.names import RETRY_ANNOTATION
from ic_operator.reconcile.diffing import spec_hash
from ic_operator.reconcile.types import (
    ACTIONS,
    DEFAULT_POLL,
    Act,
    Desired,
    PassContext,
    Plan,
    PollPolicy,
    StatusDelta,
    Wake,
    iso,
)

# The prefix of the Degraded reasons the autoscaling step sets (scaling_failed).
SCALING_REASON = "AutoScaling"

# A rejected copy count is retried slowly: the autoscaler or SageMaker may lift the limit.
_SCALE_REJECTED = (60.0, 3600.0)


def backoff_delay(uid: str, errors: int, base: float, cap: float) -> float:
    """Exponential with a jitter derived from the UID and the count: a thousand objects
    spread out, and the same inputs give the same delay in any process."""
    digest = hashlib.sha256(f"{uid}/{errors}".encode()).digest()
    jitter = 0.8 + 0.4 * (int.from_bytes(digest[:4], "big") / 2**32)
    return float(min(cap, base * 2.0 ** max(0, errors - 1)) * jitter)


def plan_failure(
    err: SageMakerError,
    ctx: PassContext,
    *,
    desired: Desired | None,
    status: InferenceComponentStatus,
    attempted: Plan | None,
    poll: PollPolicy = DEFAULT_POLL,
) -> Plan:
    """What to do after a failed call; ``attempted`` is the plan whose call failed
    (None when a read failed). ``desired`` is None during deletion, when the spec no
    longer matters."""
    failure, operation, message = err.failure, err.operation, err.message
    errors = (status.decision.errors if status.decision is not None else 0) + 1
    last = status.last_deployment
    if failure is Failure.OUTCOME_UNKNOWN and attempted is not None:
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
            record=replace(
                attempted.record,
                judged=None,
                sent=ACTIONS[attempted.action].write,
                tags_hash=None,
            ),
        )
    if failure is Failure.OUTCOME_UNKNOWN:
        failure = Failure.RETRYING  # a read cannot have changed anything
    if failure is Failure.WAITING:
        return Plan(
            Act.WAIT,
            failure.value,
            f"SageMaker is busy: {message}",
            delay=poll.minimum,
            wake=Wake.POLL,
            record=StatusDelta(deployment=last),
        )
    if failure is Failure.INVALID_SPEC and desired is not None:
        # SageMaker rejected this spec: record it so the same spec is not sent again.
        scaling = operation == ACTIONS[Act.UPDATE_RUNTIME_CONFIG].operation
        failed = LastDeployment(
            generation=desired.generation,
            spec_hash=spec_hash(desired.spec.aws_specification()),
            deployment_config=desired.spec.deployment_config,
            started_at=iso(ctx.now),
            finished_at=iso(ctx.now),
            outcome="Failed",
            failure_reason=f"{REJECTED_BY_SAGEMAKER}{message}",
            retry_token=desired.retry_token,
            redeploy_token=desired.redeploy_token,
            previous_failure_reason=status.failure_reason,
        )
        return Plan(
            Act.BLOCKED,
            failure.value,
            f"SageMaker rejected {operation}: {message}",
            degraded=True,
            # A rejected copy count is not a deployment: keep the record, back off.
            record=StatusDelta(deployment=last if scaling else failed),
            delay=backoff_delay(ctx.uid, errors, *_SCALE_REJECTED) if scaling else None,
            wake=Wake.BACKOFF if scaling else Wake.RESYNC,
            errors=errors if scaling else 0,
        )
    backoff = BACKOFF.get(failure, BACKOFF[Failure.AWS_ERROR])
    text = str(err)
    if failure is Failure.ENDPOINT_NOT_FOUND:
        text = (
            f"{message} The operator retries with backoff; set the annotation "
            f"{RETRY_ANNOTATION} to retry at once."
        )
    elif failure is Failure.ENDPOINT_NOT_READY:
        text = f"SageMaker cannot create yet: {message}"
    elif failure in REFUSALS:
        text = (
            f"{err.refusal()}. The operator retries with backoff ({backoff.first:.0f} s, "
            f"growing to {backoff.longest:.0f} s) and changes nothing in AWS until it is allowed."
        )
    return Plan(
        Act.BLOCKED if backoff.degraded else Act.WAIT,
        failure.value,
        text,
        degraded=backoff.degraded,
        delay=backoff_delay(ctx.uid, errors, backoff.first, backoff.longest),
        wake=Wake.BACKOFF,
        errors=errors,
        record=StatusDelta(deployment=last),
    )


def scaling_failed(plan: Plan, err: SageMakerError | None, retry: float) -> Plan:
    """The autoscaling step failed in a pass whose own plan went well. A failure that
    needs a human (BACKOFF's ``degraded``: a refused action or credential, a limit, an
    error AWS does not explain) makes the resource Degraded with the failure's reason
    until a sync succeeds, as a SageMaker call's would: an event alone scrolls away.
    Routine failures (throttling, a busy target) stay an event. The plan's own Degraded,
    if any, is the one shown. The reason is the failure's with the prefix
    :data:`SCALING_REASON` (``AutoScalingAccessDenied``): whose problem it is, at a glance."""
    if err is None or plan.degraded:
        return plan
    backoff = BACKOFF.get(err.failure)
    if backoff is None or not backoff.degraded:
        return plan
    said = err.refusal() if err.failure in REFUSALS else f"{err.action}: {err.code}: {err.message}"
    message = (
        f"{said}. The operator retries every {retry:.0f} s; the inference component itself "
        "is reconciled as usual."
    )
    return replace(plan, scaling_degraded=(SCALING_REASON + err.failure.value, message))


def scaling_degraded(status: InferenceComponentStatus) -> bool:
    """Degraded by the autoscaling step: such a resource is looked at fully, never passed
    over as unchanged, so that the pass whose sync is allowed again clears it."""
    return any(
        c.type == "Degraded" and c.status == "True" and c.reason.startswith(SCALING_REASON)
        for c in status.conditions
    )
