"""The ACK Endpoint kind is watched even when discovery lags its CRD's events.

kopf re-reads a group's discovery once per CRD event; these tests stand in for the API
server's discovery (kopf's scanning) and count the re-reads.
"""

from __future__ import annotations

import asyncio
from typing import Any

import kopf
import pytest
from kopf._cogs.structs.references import Resource
from kopf._core.reactor import observation

from ic_operator.kube import ack_endpoints
from ic_operator.kube.ack_endpoints import ACK_ENDPOINTS, AckEndpointCache

SERVED = Resource(
    group=ACK_ENDPOINTS.group,
    version=ACK_ENDPOINTS.version,
    plural=ACK_ENDPOINTS.plural,
    kind="Endpoint",
    namespaced=True,
    preferred=True,
    verbs=["list", "watch", "get"],
)
CRD: dict[str, Any] = {
    "metadata": {"name": "endpoints.sagemaker.services.k8s.aws"},
    "spec": {"group": ACK_ENDPOINTS.group},
}


def registry_watching_ack() -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.event(*ACK_ENDPOINTS, registry=registry, id="ack-endpoint")
    async def seen(**_: Any) -> None:
        return None

    return registry


@pytest.fixture
def discovery(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Discovery serves the kind from the third re-read on; returns the groups asked."""
    asked: list[str] = []

    async def scan(*, groups: set[str], **_: Any) -> set[Resource]:
        asked.extend(groups)
        return {SERVED} if len(asked) >= 3 else set()

    monkeypatch.setattr(observation.scanning, "scan_resources", scan)
    monkeypatch.setattr(ack_endpoints, "FOLLOW_DELAY", 0.0)
    return asked


def test_discovery_is_read_again_until_kopf_watches_the_kind(discovery: list[str]) -> None:
    cache = AckEndpointCache(kopf.OperatorSettings())
    assert not cache.watched()
    asyncio.run(cache.follow_kind(CRD, registry_watching_ack()))
    assert cache.watched()
    assert discovery == [ACK_ENDPOINTS.group] * 3  # and not once more


def test_a_watched_kind_costs_no_discovery_read(discovery: list[str]) -> None:
    cache = AckEndpointCache(kopf.OperatorSettings())
    cache.insights.watched_resources.add(SERVED)
    asyncio.run(cache.follow_kind(CRD, registry_watching_ack()))
    assert discovery == []


def test_discovery_that_never_serves_the_kind_ends_in_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def scan(**_: Any) -> set[Resource]:
        return set()

    monkeypatch.setattr(observation.scanning, "scan_resources", scan)
    monkeypatch.setattr(ack_endpoints, "FOLLOW_DELAY", 0.0)
    cache = AckEndpointCache(kopf.OperatorSettings())
    asyncio.run(cache.follow_kind(CRD, registry_watching_ack()))
    assert not cache.watched()
    warnings = [
        r for r in caplog.records if r.levelname == "WARNING" and r.name == ack_endpoints.log.name
    ]
    assert len(warnings) == 1 and "resync interval" in warnings[0].getMessage()
