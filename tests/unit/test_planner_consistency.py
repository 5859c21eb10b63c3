"""Issue 12 in the planner's table: stale readings, re-examined verdicts, unknown outcomes.

Each row is (what happened, the status the last pass left, the reading now, the plan).
"""

from __future__ import annotations

from typing import Any

import pytest

from ic_operator.aws.errors import (
    FAILURES,
    ErrorKind,
    Failure,
    OperationClass,
    SageMakerError,
    failure_of,
)
from ic_operator.aws.operations import WRITE_OPERATIONS
from ic_operator.models import InferenceComponentStatus, LastWrite
from ic_operator.reconcile.confirmation import newer_than_write
from ic_operator.reconcile.delete import plan_delete
from ic_operator.reconcile.failures import plan_failure
from ic_operator.reconcile.plan import plan_apply
from ic_operator.reconcile.types import ACTIONS, Act, PassContext, PollPolicy, Wake
from tests.unit.planner_fixtures import (
    ARN,
    IMAGE2,
    NOW,
    deployment,
    describe_of,
    desired_of,
    observed,
    spec_of,
    status_of,
    with_image,
)

BASE = spec_of()
NEW = with_image(IMAGE2)
POLICY = PollPolicy(5, 60, confirm_window=60)
BEFORE = NOW - 30  # LastModifiedTime of the reading the write was decided on


def wrote(
    operation: str = "Update",
    *,
    outcome: str = "Accepted",
    ago: float = 10,
    confirmed: bool = False,
    based_on: float | None = BEFORE,
) -> LastWrite:
    return LastWrite(
        operation=operation,  # type: ignore[arg-type]
        generation=2,
        spec_hash=None,
        sent_at=NOW - ago,
        based_on_modified=based_on,
        outcome=outcome,  # type: ignore[arg-type]
        confirmed=confirmed,
    )


def after(write: LastWrite, spec: Any = NEW) -> InferenceComponentStatus:
    base = status_of(last=deployment(spec, "InProgress"))
    return base.model_copy(update={"last_write": write})


# (name, desired, reading, status, action, reason)
TABLE = [
    (
        "stale reading after an update -> confirming, not RolledBack",
        NEW,
        describe_of(BASE, modified=BEFORE),
        after(wrote()),
        Act.WAIT,
        "Confirming",
    ),
    (
        "newer reading back with the old spec -> RolledBack",
        NEW,
        describe_of(BASE, modified=NOW - 1, failure="alarm"),
        after(wrote()),
        Act.BLOCKED,
        "RolledBack",
    ),
    (
        "stale reading but the desired spec is already echoed -> Succeeded",
        NEW,
        describe_of(NEW, modified=BEFORE),
        after(wrote()),
        Act.NOOP,
        "InSync",
    ),
    (
        "stale reading past the window (accepted) -> judged on what is seen",
        NEW,
        describe_of(BASE, modified=BEFORE),
        after(wrote(ago=61)),
        Act.BLOCKED,
        "RolledBack",
    ),
    (
        "unknown outcome, transition seen -> wait (it landed)",
        NEW,
        describe_of(BASE, state="Updating", modified=BEFORE),
        after(wrote(outcome="Unknown")),
        Act.WAIT,
        "Updating",
    ),
    (
        "unknown outcome, no sign within the window -> confirming",
        NEW,
        describe_of(BASE, modified=BEFORE),
        after(wrote(outcome="Unknown", ago=30)),
        Act.WAIT,
        "Confirming",
    ),
    (
        "unknown outcome, no sign after the window -> sent again, not judged",
        NEW,
        describe_of(BASE, modified=BEFORE),
        after(wrote(outcome="Unknown", ago=61)),
        Act.UPDATE,
        "Updating",
    ),
    (
        "unknown outcome, confirmed earlier, stale reading again -> confirming",
        NEW,
        describe_of(BASE, modified=BEFORE),
        after(wrote(outcome="Unknown", confirmed=True, ago=30)),
        Act.WAIT,
        "Confirming",
    ),
    (
        "unknown outcome, confirmed earlier, past the window -> judged, never resent",
        NEW,
        describe_of(BASE, modified=BEFORE),
        after(wrote(outcome="Unknown", confirmed=True, ago=61)),
        Act.BLOCKED,
        "RolledBack",
    ),
    (
        "RolledBack, SageMaker now runs the desired spec -> Succeeded",
        NEW,
        describe_of(NEW, modified=NOW - 1),
        status_of(last=deployment(NEW, "RolledBack", failure="alarm")),
        Act.NOOP,
        "InSync",
    ),
    (
        "Failed (rejected), SageMaker now runs the desired spec -> Succeeded",
        NEW,
        describe_of(NEW, modified=NOW - 1),
        status_of(last=deployment(NEW, "Failed", failure="rejected")),
        Act.NOOP,
        "InSync",
    ),
    (
        "a create not listed yet -> confirming, not created twice",
        BASE,
        None,
        status_of(arn=None, last=deployment(BASE, "InProgress")).model_copy(
            update={"last_write": wrote("Create", based_on=None)}
        ),
        Act.WAIT,
        "Confirming",
    ),
    (
        "a create never seen within the window -> created again",
        BASE,
        None,
        status_of(arn=None, last=deployment(BASE, "InProgress")).model_copy(
            update={"last_write": wrote("Create", based_on=None, ago=61)}
        ),
        Act.CREATE,
        "Creating",
    ),
]


@pytest.mark.parametrize(
    ("desired_spec", "component", "status", "action", "reason"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_consistency_table(desired_spec, component, status, action, reason):  # type: ignore[no-untyped-def]
    result = plan_apply(desired_of(desired_spec, generation=2), observed(component), status, POLICY)
    assert (result.action, result.reason) == (action, reason)
    if reason == "Confirming":
        assert result.wake is Wake.CONFIRM and not result.degraded
        assert result.delay is not None and 0 < result.delay <= POLICY.minimum


def test_a_withdrawn_verdict_says_so() -> None:
    last = deployment(NEW, "RolledBack", failure="alarm")
    result = plan_apply(desired_of(NEW), observed(describe_of(NEW)), status_of(last=last), POLICY)
    assert result.record.revised is last
    assert result.record.judged is not None and result.record.judged.outcome == "Succeeded"
    assert not result.degraded


def test_only_a_later_reading_counts_as_newer() -> None:
    write = wrote()
    assert not newer_than_write(describe_of(BASE, modified=BEFORE), write)
    assert newer_than_write(describe_of(BASE, modified=BEFORE + 0.001), write)
    assert newer_than_write(describe_of(BASE, state="Updating", modified=BEFORE), write)
    assert newer_than_write(describe_of(BASE, modified=BEFORE), None)
    assert newer_than_write(describe_of(BASE), wrote("Create", based_on=None))


def test_a_lost_answer_is_recorded_as_sent_and_confirmed_by_reading() -> None:
    update = plan_apply(
        desired_of(NEW), observed(describe_of(BASE)), status_of(last=deployment(BASE, "Succeeded"))
    )
    assert update.action is Act.UPDATE
    lost = SageMakerError(
        "UpdateInferenceComponent", ErrorKind.OUTCOME_UNKNOWN, "InternalFailure", "boom"
    )
    assert lost.failure is Failure.OUTCOME_UNKNOWN
    result = plan_failure(
        lost,
        PassContext(uid="u", generation=2, retry_token=None, now=NOW, region="us-east-1"),
        desired=desired_of(NEW),
        status=status_of(),
        attempted=update,
        poll=POLICY,
    )
    assert (result.action, result.reason, result.wake, result.record.sent) == (
        Act.WAIT,
        "Confirming",
        Wake.CONFIRM,
        "Update",
    )
    assert result.record.deployment is not None and result.record.deployment.outcome == "InProgress"


@pytest.mark.parametrize(
    ("kind", "operation", "failure"),
    [
        ("OutcomeUnknown", "UpdateInferenceComponent", Failure.OUTCOME_UNKNOWN),
        ("AlreadyExists", "CreateInferenceComponent", Failure.OUTCOME_UNKNOWN),
        ("AlreadyExists", "UpdateInferenceComponent", Failure.WAITING),
        ("Busy", "UpdateInferenceComponent", Failure.WAITING),
        ("Busy", "CreateInferenceComponent", Failure.ENDPOINT_NOT_READY),
        ("NotFound", "CreateInferenceComponent", Failure.ENDPOINT_NOT_FOUND),
        ("Retryable", "DescribeInferenceComponent", Failure.RETRYING),
        ("InsufficientCapacity", "CreateInferenceComponent", Failure.INSUFFICIENT_CAPACITY),
        ("Invalid", "UpdateInferenceComponent", Failure.INVALID_SPEC),
        ("Invalid", "DeleteInferenceComponent", Failure.AWS_ERROR),
    ],
)
def test_failure_table(kind: str, operation: str, failure: Failure) -> None:
    assert failure_of(ErrorKind(kind), operation) is failure


def test_every_error_kind_means_something_for_any_operation() -> None:
    for kind in ErrorKind:
        assert (kind, OperationClass.ANY) in FAILURES, kind


def test_every_action_has_its_row() -> None:
    assert set(ACTIONS) == set(Act)
    for act, action in ACTIONS.items():
        # a call that is recorded as a write has a state to show until the next reading
        assert (action.write is None) == (action.state_after is None), act
        assert not (action.busy and action.ready), act
        # the door allows it as a write (and docs/iam-policy.json grants it)
        assert action.operation is None or action.operation in WRITE_OPERATIONS, act


def test_a_delete_read_back_from_before_it_is_waited_out() -> None:
    write = wrote("Delete", ago=2)
    stale = observed(describe_of(BASE, modified=BEFORE))
    waiting = plan_delete("llm", "Delete", stale, True, POLICY, write=write)
    assert (waiting.action, waiting.reason) == (Act.WAIT, "Confirming")
    later = observed(describe_of(BASE, modified=NOW - 1))
    assert plan_delete("llm", "Delete", later, True, POLICY, write=write).action is Act.DELETE
    assert ARN  # the fixtures' component is this resource's own
