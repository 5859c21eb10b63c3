"""The suspend planner (reconcile/suspend.py), pure: a plan made while suspended sends
nothing, shows its calls and the differing fields, keeps errors as errors and records no
deployment that was not started."""

from __future__ import annotations

from typing import Any

from ic_operator.models import InferenceComponentSpec, LastDeployment
from ic_operator.reconcile.diffing import observed_specification
from ic_operator.reconcile.plan import plan_apply
from ic_operator.reconcile.status import suspension_events
from ic_operator.reconcile.suspend import field_differences, hold
from ic_operator.reconcile.types import SENDS, Act, Plan, Wake
from tests.unit.planner_fixtures import (
    IMAGE,
    IMAGE2,
    deployment,
    describe_of,
    desired_of,
    observed,
    owned_tags,
    spec_of,
    status_of,
    with_image,
)

SINCE = "2027-01-15T08:00:00Z"
BASE = spec_of()


def held(
    spec: InferenceComponentSpec,
    component: dict[str, Any] | None,
    tags: dict[str, str] | None = None,
    last: LastDeployment | None = None,
) -> tuple[Plan, Plan]:
    desired = desired_of(spec)
    seen = observed(component, tags)
    plan = plan_apply(desired, seen, status_of(last=last or deployment(BASE, "Succeeded")))
    view = observed_specification(component) if component is not None else None
    return plan, hold(plan, desired, seen, view=view, scaling=(), since=SINCE)


def test_an_update_is_held_with_its_request_and_the_field_that_differs() -> None:
    new = with_image(IMAGE2, runtimeConfig={"copyCount": 6})
    plan, out = held(new, describe_of(BASE), owned_tags(BASE))
    assert plan.action is Act.UPDATE and out.action is Act.SUSPENDED
    assert out.action not in SENDS and out.wake is Wake.RESYNC
    assert out.record.deployment is None  # no deployment started
    assert out.pending is not None
    [call] = out.pending.calls
    assert call.operation == "UpdateInferenceComponent"
    assert call.parameters["Specification.Container.Image"] == IMAGE2
    assert call.parameters["RuntimeConfig.CopyCount"] == "6"
    found = {d.field: (d.spec, d.observed) for d in out.pending.differences}
    assert found == {
        "specification.container.image": (IMAGE2, IMAGE),
        "runtimeConfig.copyCount": ("6", "4"),
    }


def test_tags_after_an_update_are_part_of_the_plan() -> None:
    new = with_image(IMAGE2, tags={"team": "search", "cost-center": "42"})
    _, out = held(new, describe_of(BASE), owned_tags(BASE))
    assert out.pending is not None
    assert [c.operation for c in out.pending.calls] == ["UpdateInferenceComponent", "AddTags"]
    assert any(
        d.field == "tags.cost-center" and d.observed is None for d in out.pending.differences
    )


def test_in_sync_holds_nothing_and_stays_ready() -> None:
    _, out = held(BASE, describe_of(BASE), owned_tags(BASE))
    assert out.pending is not None and out.pending.calls == [] and out.pending.differences == []
    assert out.pending.summary == "nothing"


def test_a_running_transition_is_still_followed() -> None:
    plan, out = held(with_image(IMAGE2), describe_of(BASE, state="Updating"))
    assert plan.action is Act.WAIT
    assert out.action is Act.SUSPENDED and out.wake is Wake.POLL and out.delay == plan.delay


def test_an_error_stays_an_error() -> None:
    rolled_back = deployment(with_image(IMAGE2), "RolledBack", failure="alarm")
    plan, out = held(with_image(IMAGE2), describe_of(BASE), owned_tags(BASE), rolled_back)
    assert plan.action is Act.BLOCKED
    assert out.action is Act.BLOCKED and out.degraded and out.pending is not None


def test_a_failed_component_shows_the_delete_and_the_create_after_it() -> None:
    failed = describe_of(BASE, state="Failed", failure="image pull")
    _, out = held(with_image(IMAGE2), failed, owned_tags(BASE))
    assert out.pending is not None
    assert [c.operation for c in out.pending.calls] == [
        "DeleteInferenceComponent",
        "CreateInferenceComponent",
    ]


def _two_types(memory: int) -> dict[str, object]:
    return {
        "specification": None,
        "specifications": [
            {
                "instanceType": t,
                "container": {"image": IMAGE},
                "computeResourceRequirements": {"minMemoryRequiredInMb": m},
            }
            for t, m in (("ml.g5.2xlarge", 1024), ("ml.g6.2xlarge", memory))
        ],
    }


def test_specifications_differences_are_matched_by_instance_type() -> None:
    running = describe_of(spec_of(**_two_types(2048)))
    wanted = desired_of(spec_of(**_two_types(4096)))
    found = field_differences(wanted, observed(running), observed_specification(running))
    assert [(d.field, d.spec, d.observed) for d in found] == [
        (
            "specifications[ml.g6.2xlarge].computeResourceRequirements.minMemoryRequiredInMb",
            "4096",
            "2048",
        )
    ]


def test_events_once_each() -> None:
    _, out = held(with_image(IMAGE2), describe_of(BASE), owned_tags(BASE))
    pending = out.pending
    assert pending is not None
    fresh = status_of()
    assert [e.reason for e in suspension_events(pending, fresh)] == ["Suspended"]
    before = fresh.model_copy(update={"pending_plan": pending})
    assert suspension_events(pending, before) == []
    assert [e.reason for e in suspension_events(None, before)] == ["Resumed"]
    _, other = held(with_image("x.dkr.ecr.us-east-1.amazonaws.com/y:1"), describe_of(BASE))
    assert [e.reason for e in suspension_events(other.pending, before)] == ["PlanChanged"]
