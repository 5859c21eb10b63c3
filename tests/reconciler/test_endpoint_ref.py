"""spec.endpointRef through the real loop, planner and status building: the component
waits for the ACK Endpoint without a SageMaker call, says why, resolves to the name in
the ACK object once ACK reports it synced and InService, and keeps that name."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from ic_operator.reconcile.endpoint_ref import AckLookup, Found
from tests.reconciler.harness import SETTINGS, Rig, run

pytestmark = pytest.mark.filterwarnings("error")

CREATED = "2027-01-15T08:00:00Z"  # 1_800_000_000 is 2027-01-15T08:00:00Z, the rig's clock


class FakeAck:
    """The Kubernetes side of endpointRef: ACK Endpoint objects by (namespace, name)."""

    def __init__(self, *, installed: bool = True, readable: bool = True) -> None:
        self.installed, self.readable = installed, readable
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.reads: list[tuple[str, str]] = []

    async def get(self, namespace: str, name: str) -> AckLookup:
        self.reads.append((namespace, name))
        if not self.installed:
            return AckLookup(Found.NO_KIND)
        if not self.readable:
            return AckLookup(Found.FORBIDDEN)
        body = self.objects.get((namespace, name))
        if body is None:
            return AckLookup(Found.MISSING)
        return AckLookup(Found.OBJECT, copy.deepcopy(body))

    def put(
        self,
        name: str,
        *,
        namespace: str = "team-a",
        endpoint: str = "llm-endpoint",
        state: str | None = None,
        conditions: Mapping[str, tuple[str, str]] = {},
    ) -> None:
        """An ACK Endpoint as ACK's controller writes it: spec.endpointName, and in its
        status the endpointStatus and ACK's conditions (type -> (status, message))."""
        status: dict[str, Any] = {
            "conditions": [
                {"type": t, "status": s, "message": m, "lastTransitionTime": CREATED}
                for t, (s, m) in conditions.items()
            ]
        }
        if state is not None:
            status["endpointStatus"] = state
        self.objects[(namespace, name)] = {
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": CREATED},
            "spec": {"endpointName": endpoint, "endpointConfigName": "llm-config"},
            "status": status,
        }


NOT_SYNCED = {
    "ACK.ResourceSynced": ("False", "Resource not synced"),
    "ACK.ReferencesResolved": ("True", ""),
}
SYNCED = {"ACK.ResourceSynced": ("True", "")}


def by_ref(ack: FakeAck, ref: dict[str, str] | None = None, **kw: Any) -> Rig:
    w = Rig(ack_endpoints=ack, endpointRef=ref or {"name": "llm-ack"}, **kw)
    del w.kube.body["spec"]["endpointName"]
    return w


def message(w: Rig, ctype: str) -> str:
    return next(c["message"] for c in w.status["conditions"] if c["type"] == ctype)


def transition(w: Rig, ctype: str) -> str:
    return next(c["lastTransitionTime"] for c in w.status["conditions"] if c["type"] == ctype)


def test_missing_object_waits_without_calling_sagemaker() -> None:
    async def scenario() -> None:
        ack = FakeAck()
        w = by_ref(ack)
        result = await w.step()
        assert w.sm.calls == []
        assert w.kube.condition("Progressing") == ("True", "EndpointRefNotFound")
        assert w.kube.condition("Degraded")[0] == "False"
        assert w.kube.condition("EndpointResolved") == ("False", "EndpointRefNotFound")
        assert "ACK Endpoint team-a/llm-ack" in message(w, "Ready")
        # The slow retry behind the watch: the resync interval, not a poll.
        assert w.status["decision"]["next"] == "Resync"
        assert result.sleep == SETTINGS.resync_interval

    run(scenario)


def test_waits_for_synced_and_in_service_then_creates_on_the_acks_endpoint() -> None:
    async def scenario() -> None:
        ack = FakeAck()
        ack.put("llm-ack", endpoint="llm-endpoint", state="Creating", conditions=NOT_SYNCED)
        w = by_ref(ack)
        await w.step()
        assert w.sm.calls == []
        assert w.kube.condition("Progressing") == ("True", "WaitingForEndpointRef")
        said = message(w, "Progressing")
        for part in (
            "ACK Endpoint team-a/llm-ack",
            "'llm-endpoint'",
            "endpointStatus Creating",
            "ACK.ResourceSynced=False (Resource not synced)",
            "not synced for 0s",
        ):
            assert part in said, (part, said)
        # InService but not yet synced: still waiting.
        ack.put("llm-ack", endpoint="llm-endpoint", state="InService", conditions=NOT_SYNCED)
        await w.step()
        assert w.sm.calls == []
        assert "not synced for" in message(w, "Progressing")
        ack.put("llm-ack", endpoint="llm-endpoint", state="InService", conditions=SYNCED)
        await w.step()
        (create,) = w.sm.accepted("CreateInferenceComponent")
        assert create.request["EndpointName"] == "llm-endpoint"
        assert w.status["endpointName"] == "llm-endpoint"
        assert w.kube.condition("EndpointResolved") == ("True", "Resolved")
        assert ("Normal", "Resolved") in [(t, r) for t, r, _ in w.kube.events]
        since = transition(w, "EndpointResolved")
        w.sm.settle("llm")
        await w.until(w.settled)  # more passes, each writing its status
        assert transition(w, "EndpointResolved") == since

    run(scenario)


def test_resolved_name_is_kept_and_a_later_change_reported() -> None:
    async def scenario() -> None:
        ack = FakeAck()
        ack.put("llm-ack", endpoint="llm-endpoint", state="InService", conditions=SYNCED)
        w = by_ref(ack)
        await w.step()
        w.sm.settle("llm")
        await w.until(w.settled)
        ack.put("llm-ack", endpoint="another-llm", state="InService", conditions=SYNCED)
        await w.step()
        assert w.status["endpointName"] == "llm-endpoint"
        assert w.kube.condition("EndpointResolved") == ("True", "EndpointRefChanged")
        assert "'another-llm'" in message(w, "EndpointResolved")
        assert w.kube.reasons().count("EndpointRefChanged") == 1
        assert w.kube.condition("Ready")[0] == "True"
        await w.step()  # reported once, not every pass
        assert w.kube.reasons().count("EndpointRefChanged") == 1
        assert not w.sm.ops("DeleteInferenceComponent", "UpdateInferenceComponent")
        # The ACK object deleted: the component stays where it is, and says so.
        del ack.objects[("team-a", "llm-ack")]
        await w.step()
        assert w.kube.condition("EndpointResolved") == ("True", "EndpointRefGone")
        assert w.status["endpointName"] == "llm-endpoint"

    run(scenario)


def test_cross_namespace_reference_refused_unless_allowed() -> None:
    async def scenario() -> None:
        ack = FakeAck()
        ack.put("llm-ack", namespace="platform", state="InService", conditions=SYNCED)
        ref = {"name": "llm-ack", "namespace": "platform"}
        w = by_ref(ack, ref)
        result = await w.step()
        assert ack.reads == [] and w.sm.calls == []  # refused before anything is read
        assert w.kube.condition("Degraded") == ("True", "EndpointRefNotPermitted")
        assert "crossNamespaceEndpointRefs" in message(w, "Degraded")
        assert result.sleep is None  # a setting, not the ACK object, must change
        allowed = dataclasses.replace(SETTINGS, cross_namespace_endpoint_refs=True)
        w = by_ref(ack, ref, settings=allowed)
        await w.step()
        assert ack.reads == [("platform", "llm-ack")]
        assert w.sm.accepted("CreateInferenceComponent")
        assert w.kube.condition("EndpointResolved") == ("True", "Resolved")

    run(scenario)


@pytest.mark.parametrize(
    "ack,reason",
    [
        (FakeAck(installed=False), "AckEndpointKindMissing"),
        (FakeAck(readable=False), "EndpointRefForbidden"),
        (FakeAck(), "EndpointRefTerminal"),
    ],
    ids=["no-crd", "no-rbac", "terminal"],
)
def test_no_ack_kind_no_rbac_or_a_terminal_object_is_degraded(ack: FakeAck, reason: str) -> None:
    async def scenario() -> None:
        ack.put(
            "llm-ack",
            state="Failed",
            conditions={"ACK.Terminal": ("True", "ValidationException: bad config")},
        )
        w = by_ref(ack)
        await w.step()
        assert w.sm.calls == []
        assert w.kube.condition("Degraded") == ("True", reason)
        assert w.status["decision"]["next"] == "Resync"
        if reason == "EndpointRefTerminal":
            assert "ValidationException: bad config" in message(w, "Degraded")

    run(scenario)


def test_components_by_endpoint_name_have_no_endpoint_resolved_condition() -> None:
    async def scenario() -> None:
        w = Rig(ack_endpoints=FakeAck())
        await w.step()
        assert w.kube.condition("EndpointResolved") == ("", "")
        assert "endpointName" not in w.status

    run(scenario)


async def _deleted(w: Rig) -> None:
    w.kube.body["metadata"]["deletionTimestamp"] = "2027-01-01T00:00:00Z"
    for _ in range(10):
        if (await w.finalize()).released:
            return
        w.sm.settle("llm")
    raise AssertionError(f"not released: {w.status}")


def test_delete_after_the_ack_object_is_gone_deletes_on_the_resolved_endpoint() -> None:
    async def scenario() -> None:
        ack = FakeAck()
        ack.put("llm-ack", state="InService", conditions=SYNCED)
        w = by_ref(ack)
        await w.step()
        w.sm.settle("llm")
        await w.until(w.settled)
        del ack.objects[("team-a", "llm-ack")]  # ACK's object goes first (GitOps prune)
        await _deleted(w)
        assert w.sm.ops("DeleteInferenceComponent") == ["DeleteInferenceComponent"]
        assert "llm" not in w.sm.components

    run(scenario)


def test_delete_of_a_reference_never_resolved_sends_nothing() -> None:
    async def scenario() -> None:
        w = by_ref(FakeAck())
        await w.step()
        await _deleted(w)
        assert w.sm.writes() == []

    run(scenario)
