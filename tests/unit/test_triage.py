"""triage: what a ListInferenceComponents summary can answer without a Describe."""

from __future__ import annotations

from typing import Any

import pytest

from ic_operator.models import Decision, InferenceComponentStatus, LastWrite
from ic_operator.reconcile.diffing import spec_hash
from ic_operator.reconcile.status import Reading, build
from ic_operator.reconcile.triage import Look, triage
from ic_operator.reconcile.types import Act, PassContext, PollPolicy, Wake
from ic_operator.reconcile.verdict import plan_created
from tests.unit.planner_fixtures import ARN, NOW, deployment, desired_of, spec_of, with_image

SPEC = spec_of()
CREATED_AT = NOW - 120


def summary(
    state: str = "InService", *, arn: str = ARN, modified: float = NOW - 5
) -> dict[str, Any]:
    return {
        "InferenceComponentName": "llm",
        "InferenceComponentArn": arn,
        "InferenceComponentStatus": state,
        "LastModifiedTime": modified,
    }


def after_create(**over: Any) -> InferenceComponentStatus:
    """The status a pass leaves after its Create was accepted (``over``: what differs)."""
    write = LastWrite(
        operation=over.pop("operation", "Create"),
        generation=over.pop("write_generation", 1),
        spec_hash=spec_hash(SPEC.aws_specification()),
        sent_at=CREATED_AT,
        based_on_modified=None,
        outcome=over.pop("outcome", "Accepted"),
    )
    decision = Decision(
        next=over.pop("next", "Poll"),
        generation=1,
        at=CREATED_AT,
        not_before=CREATED_AT + 5,
        modified=over.pop("modified", None),
        state=over.pop("state", "Creating"),
    )
    status = InferenceComponentStatus(
        inference_component_arn=ARN,
        inference_component_status="Creating",
        last_write=write,
        decision=decision,
        last_deployment=over.pop("last", deployment(SPEC, "InProgress")),
    )
    assert not over, over
    return status


DESIRED = desired_of(SPEC)


@pytest.mark.parametrize(
    "listed, status, look",
    [
        ("InService", after_create(), Look.CREATED),
        ("InService", after_create(modified=CREATED_AT, state="Creating"), Look.CREATED),
        ("Creating", after_create(), Look.MOVING),
        # A failed create needs its FailureReason: only a Describe has it.
        ("Failed", after_create(), Look.DESCRIBE),
        ("Updating", after_create(), Look.DESCRIBE),
        # Settling after an update: a rollback is judged from a Describe.
        ("InService", after_create(operation="Update", state="Updating"), Look.DESCRIBE),
        # The Create's answer was lost: it may not be ours that is listed.
        ("InService", after_create(outcome="Unknown"), Look.DESCRIBE),
        # Confirming or backing off: not the plain poll that follows an accepted Create.
        ("InService", after_create(next="Confirm"), Look.DESCRIBE),
        ("InService", after_create(next="Backoff"), Look.DESCRIBE),
        # Already judged (Ready from the listing): the routine Describe is next.
        ("InService", after_create(next="Verify", state="InService"), Look.DESCRIBE),
        ("InService", after_create(last=deployment(SPEC, "Succeeded")), Look.DESCRIBE),
        ("InService", after_create(last=None), Look.DESCRIBE),
    ],
)
def test_a_listing_answers_only_for_this_resources_own_create(
    listed: str, status: InferenceComponentStatus, look: Look
) -> None:
    assert triage(summary(listed), status, DESIRED) is look


def test_another_arn_an_edit_or_a_retry_since_the_create_needs_a_describe() -> None:
    status = after_create()
    assert triage(summary(arn=ARN + "-other"), status, DESIRED) is Look.DESCRIBE
    assert triage(summary(), status, desired_of(SPEC, generation=2)) is Look.DESCRIBE
    assert triage(summary(), status, desired_of(SPEC, retry="1")) is Look.DESCRIBE


def test_a_create_for_another_spec_than_desired_needs_a_describe() -> None:
    # Same generation, other spec (an operator upgrade that renders the spec differently).
    assert triage(summary(), after_create(), desired_of(with_image("other:1"))) is Look.DESCRIBE


def test_a_component_whose_copies_an_autoscaler_owns_is_described_to_register_it() -> None:
    target = {
        "targetValue": 4,
        "predefinedMetricSpecification": {
            "predefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
        },
    }
    scaling = {
        "minCopies": 1,
        "maxCopies": 4,
        "policies": [{"policyName": "invocations", "targetTracking": target}],
    }
    scaled = spec_of(autoScaling=scaling)
    status = after_create(last=deployment(scaled, "InProgress"))
    status = status.model_copy(
        update={
            "last_write": status.last_write.model_copy(  # type: ignore[union-attr]
                update={"spec_hash": spec_hash(scaled.aws_specification())}
            )
        }
    )
    assert triage(summary(), status, desired_of(scaled)) is Look.DESCRIBE


def test_not_listed_after_a_create_is_described_not_taken_as_gone() -> None:
    assert triage(None, after_create(), DESIRED) is Look.DESCRIBE


def test_plan_created_reports_ready_judges_the_create_and_asks_for_one_routine_look() -> None:
    poll = PollPolicy(minimum=5)
    created = plan_created(after_create(), NOW, poll)
    assert created.action is Act.NOOP and created.reason == "InSync"
    assert created.record.judged is not None and created.record.judged.outcome == "Succeeded"
    assert created.record.deployment == created.record.judged
    assert created.record.confirmed
    assert (created.wake, created.delay) == (Wake.VERIFY, 5)


def test_status_built_from_a_listing_keeps_what_only_a_describe_says() -> None:
    described = after_create().model_copy(
        update={
            "desired_copy_count": 4,
            "current_copy_count": 1,
            "resolved_image": "tgi@sha256:" + "ab" * 32,
            "endpoint_arn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/llm-endpoint",
        }
    )
    poll = PollPolicy(minimum=5)
    created = plan_created(described, NOW, poll)
    new = build(
        created,
        described,
        PassContext(uid="u", generation=1, retry_token=None, now=NOW, region="us-east-1"),
        reading=Reading(summary(modified=NOW - 5), read=True, listed=True),
        executed=None,
        wake_in=created.wake_in(poll),
    )
    assert (new.desired_copy_count, new.current_copy_count) == (4, 1)
    assert new.copies == "1/4"  # as last described, until the routine Describe
    assert (new.resolved_image, new.endpoint_arn) == (
        described.resolved_image,
        described.endpoint_arn,
    )
    assert new.inference_component_status == "InService"
    assert new.decision is not None
    assert (new.decision.state, new.decision.modified) == ("InService", NOW - 5)
    assert (new.decision.next, new.decision.not_before) == ("Verify", NOW + 5)
    assert new.last_write is not None and new.last_write.confirmed
    assert new.last_deployment is not None and new.last_deployment.outcome == "Succeeded"
