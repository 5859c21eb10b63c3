"""The steps of a deletion. Pure: no I/O, no clock."""

from __future__ import annotations

from ic_operator.models import LastWrite
from ic_operator.reconcile.confirmation import (
    confirm_plan,
    confirming,
    newer_than_write,
    recent_create,
)
from ic_operator.reconcile.types import (
    DEFAULT_POLL,
    TRANSITIONS,
    Act,
    Observed,
    Plan,
    PollPolicy,
    StatusDelta,
    Wake,
)


def plan_delete(
    name: str,
    deletion_policy: str,
    observed: Observed,
    owned: bool | None,
    poll: PollPolicy = DEFAULT_POLL,
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
        if write is not None and recent_create(write, observed.now, poll):
            # Created a moment ago and not visible yet: releasing now would leave it behind.
            return confirm_plan(write, observed.now, poll, "not visible yet")
        return Plan(Act.RELEASE, "Deleted", f"{name!r} is gone from SageMaker")
    elsewhere = endpoint is not None and component.get("EndpointName") != endpoint
    if not owned or elsewhere:
        return Plan(
            Act.RELEASE,
            "NotOwned",
            f"{name!r} was not created or adopted by this resource; it is left in SageMaker",
            record=StatusDelta(owned=False),
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
            record=StatusDelta(confirmed=write is not None and write.operation == "Delete"),
        )
    if (
        write is not None
        and write.operation == "Delete"
        and not newer_than_write(component, write)
        and confirming(write, observed.now, poll)
    ):
        return confirm_plan(write, observed.now, poll, "the reading predates it")
    return Plan(
        Act.DELETE,
        "Deleting",
        f"deleting {name!r}",
        request={"InferenceComponentName": name},
        wake=Wake.POLL,
    )
