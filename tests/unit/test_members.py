"""kube/members.py: whom a Namespace's or an ACK Endpoint's event wakes, kept without a
kopf index (whose start-up barrier is cubic in the objects present)."""

from __future__ import annotations

from typing import Any

from ic_operator.kube.handlers import build_registry
from ic_operator.kube.members import Members


def component(uid: str, namespace: str, ref: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"endpointName": "shared"} if ref is None else {"endpointRef": ref}
    return {"metadata": {"uid": uid, "namespace": namespace}, "spec": spec}


def test_components_by_namespace_and_by_the_ack_endpoint_they_name() -> None:
    members = Members()
    members.seen(None, component("a", "team-a", {"name": "ep"}))
    members.seen(None, component("b", "team-a"))
    members.seen("ADDED", component("c", "team-b", {"name": "ep", "namespace": "team-a"}))

    assert sorted(members.in_namespace("team-a")) == ["a", "b"]
    assert members.in_namespace("team-c") == []
    assert sorted(members.referring_to(("team-a", "ep"))) == ["a", "c"]
    assert sorted(members.every()) == ["a", "b", "c"]


def test_a_changed_reference_moves_the_component_and_a_deletion_forgets_it() -> None:
    members = Members()
    members.seen(None, component("a", "team-a", {"name": "ep"}))
    moved = component("a", "team-a", {"name": "other"})
    assert members.changed("MODIFIED", moved)
    members.seen("MODIFIED", moved)
    assert members.referring_to(("team-a", "ep")) == []
    assert members.referring_to(("team-a", "other")) == ["a"]

    assert members.changed("DELETED", moved)
    members.seen("DELETED", moved)
    assert members.every() == [] and members.in_namespace("team-a") == []
    assert not members.changed("DELETED", moved)


def test_a_status_echo_changes_nothing() -> None:
    members = Members()
    body = component("a", "team-a", {"name": "ep"})
    members.seen(None, body)
    echo = {**body, "status": {"phase": "InService"}}
    assert not members.changed("MODIFIED", echo)


def test_a_lenient_read_of_specs_the_operator_has_not_validated() -> None:
    members = Members()
    members.seen(None, {"metadata": {"uid": "x", "namespace": "n"}, "spec": "not a mapping"})
    members.seen(None, {"metadata": {"uid": "y", "namespace": "n"}, "spec": {"endpointRef": 3}})
    assert sorted(members.in_namespace("n")) == ["x", "y"]


def test_the_registry_has_no_kopf_index() -> None:
    """A kopf index holds every object's first handling behind a barrier whose cost is
    cubic in the objects present at start (issue 22: no call in 180 s at 10,000)."""
    registry = build_registry(loops=object(), ack_endpoints=object(), accounts=object())  # type: ignore[arg-type]
    assert list(registry._indexing.get_all_handlers()) == []
