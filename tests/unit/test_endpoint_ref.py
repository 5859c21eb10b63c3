"""The pure half of spec.endpointRef: what an ACK Endpoint, as read, resolves to."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ic_operator.models import EndpointRef, InferenceComponentStatus
from ic_operator.reconcile.endpoint_ref import AckLookup, Found, refused, resolve
from ic_operator.reconcile.types import Act

NOW = dt.datetime(2027, 1, 15, 8, 4, 12, tzinfo=dt.UTC).timestamp()
REF = EndpointRef(name="llm-ack")
NONE = InferenceComponentStatus()


def ack(state: str | None, *conditions: dict[str, Any]) -> AckLookup:
    status: dict[str, Any] = {"conditions": list(conditions)}
    if state is not None:
        status["endpointStatus"] = state
    return AckLookup(
        Found.OBJECT,
        {
            "metadata": {"creationTimestamp": "2027-01-15T08:00:00Z"},
            "spec": {"endpointName": "llm-endpoint"},
            "status": status,
        },
    )


def test_an_object_ack_has_not_touched_says_so_and_its_age() -> None:
    resolution = resolve(REF, "team-a", ack(None), NONE, NOW)
    assert resolution.plan is not None and resolution.plan.action is Act.WAIT
    assert resolution.plan.message == (
        "waiting for ACK Endpoint team-a/llm-ack (SageMaker endpoint 'llm-endpoint'): "
        "endpointStatus unknown; ACK has not reported any condition yet (is ACK's SageMaker "
        "controller running?); created 4m12s ago"
    )


def test_every_ack_condition_is_quoted_and_the_time_since_synced_changed() -> None:
    synced = {
        "type": "ACK.ResourceSynced",
        "status": "False",
        "message": "Endpoint is in Creating status.",
        "lastTransitionTime": "2027-01-15T08:03:00Z",
    }
    refs = {
        "type": "ACK.ReferencesResolved",
        "status": "Unknown",
        "message": "the referenced resource is not synced yet",
    }
    resolution = resolve(REF, "team-a", ack("Creating", synced, refs), NONE, NOW)
    assert resolution.condition == (
        "False",
        "WaitingForEndpointRef",
        "waiting for ACK Endpoint team-a/llm-ack (SageMaker endpoint 'llm-endpoint'): "
        "endpointStatus Creating; ACK.ReferencesResolved=Unknown (the referenced resource is "
        "not synced yet), ACK.ResourceSynced=False (Endpoint is in Creating status.); "
        "not synced for 1m12s",
    )


@pytest.mark.parametrize(
    ("state", "synced", "resolved"),
    [("InService", "True", True), ("InService", "False", False), ("Updating", "True", False)],
)
def test_resolved_only_when_synced_and_in_service(state: str, synced: str, resolved: bool) -> None:
    condition = {"type": "ACK.ResourceSynced", "status": synced}
    resolution = resolve(REF, "team-a", ack(state, condition), NONE, NOW)
    assert (resolution.endpoint == "llm-endpoint") is resolved
    assert (resolution.plan is None) is resolved


def test_own_namespace_is_never_refused_another_only_when_allowed() -> None:
    assert refused(REF, "team-a", cross_namespace=False) is None
    assert (
        refused(EndpointRef(name="x", namespace="team-a"), "team-a", cross_namespace=False) is None
    )
    elsewhere = EndpointRef(name="x", namespace="platform")
    assert refused(elsewhere, "team-a", cross_namespace=True) is None
    denied = refused(elsewhere, "team-a", cross_namespace=False)
    assert denied is not None and denied.plan is not None and denied.plan.degraded
