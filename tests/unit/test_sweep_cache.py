"""The endpoint listing cache: what it keeps per component, and how its List is classed."""

from __future__ import annotations

import asyncio
from typing import Any

from ic_operator.sagemaker import Purpose, SageMakerClient
from ic_operator.sweep import FIELDS, EndpointSweep


class FakeBoto:
    def __init__(self) -> None:
        self.lists = 0

    def list_inference_components(self, **request: Any) -> dict[str, Any]:
        self.lists += 1
        summary = {
            "InferenceComponentName": "a",
            "InferenceComponentArn": "arn:a",
            "InferenceComponentStatus": "InService",
            "LastModifiedTime": 1.0,
            "EndpointName": "ep",
            "EndpointArn": "arn:ep",
            "VariantName": "AllTraffic",
            "CreationTime": 0.0,
        }
        return {"InferenceComponents": [summary]}


def test_a_listing_keeps_four_fields_and_is_classed_by_the_first_asker() -> None:
    fake = FakeBoto()
    client = SageMakerClient(default_region="us-east-1", client_factory=lambda _r: fake)
    purposes: list[Purpose] = []
    acquire = client.budget.acquire

    async def spy(purpose: Purpose) -> None:
        purposes.append(purpose)
        await acquire(purpose)

    client.budget.acquire = spy  # type: ignore[method-assign]
    sweep = EndpointSweep(client, clock=lambda: 0.0)

    async def go() -> list[Any]:
        return await asyncio.gather(
            sweep.summary(region="r", endpoint="ep", name="a", max_age=1, purpose=Purpose.POLL),
            sweep.summary(region="r", endpoint="ep", name="a", max_age=1),  # shares the List
        )

    first, second = asyncio.run(go())
    assert (
        first
        == second
        == {
            "InferenceComponentName": "a",
            "InferenceComponentArn": "arn:a",
            "InferenceComponentStatus": "InService",
            "LastModifiedTime": 1.0,
        }
    )
    assert set(first) == FIELDS
    assert (fake.lists, purposes) == (1, [Purpose.POLL])


def test_an_urgent_asker_does_not_wait_for_a_routine_list_in_flight() -> None:
    """A List queued as routine work waits behind every drift look: an absence check
    before a Create starts its own, and a later routine asker joins the urgent one."""
    fake = FakeBoto()
    client = SageMakerClient(default_region="us-east-1", client_factory=lambda _r: fake)
    purposes: list[Purpose] = []
    routine = asyncio.Event()
    acquire = client.budget.acquire

    async def spy(purpose: Purpose) -> None:
        purposes.append(purpose)
        if purpose is Purpose.SWEEP:
            await routine.wait()  # queued behind a thousand drift looks
        await acquire(purpose)

    client.budget.acquire = spy  # type: ignore[method-assign]
    sweep = EndpointSweep(client, clock=lambda: 0.0)

    async def go() -> None:
        def ask(purpose: Purpose) -> Any:
            return sweep.summary(region="r", endpoint="ep", name="a", max_age=1, purpose=purpose)

        slow = asyncio.ensure_future(ask(Purpose.SWEEP))
        await asyncio.sleep(0)
        async with asyncio.timeout(1):
            urgent = await ask(Purpose.FIRST_LOOK)
            joined = await ask(Purpose.SWEEP)  # the urgent listing is fresh: no List
        assert urgent == joined and urgent is not None
        assert not slow.done()
        routine.set()
        async with asyncio.timeout(1):
            assert await slow == urgent

    asyncio.run(go())
    assert purposes == [Purpose.SWEEP, Purpose.FIRST_LOOK]
    assert fake.lists == 2


class Scripted:
    """A SageMakerApi's listing half whose answers the test sets (full, changes)."""

    def __init__(self) -> None:
        self.full: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []

    async def list_components(
        self,
        *,
        endpoint_name: str | None,
        region: str | None = None,
        purpose: Purpose = Purpose.SWEEP,
        fields: frozenset[str] | None = None,
        modified_after: float | None = None,
    ) -> list[dict[str, Any]]:
        self.requests.append({"endpoint": endpoint_name, "after": modified_after})
        return [dict(i) for i in (self.full if endpoint_name else self.changes)]


def _item(name: str, modified: float, status: str = "InService") -> dict[str, Any]:
    return {
        "InferenceComponentName": name,
        "InferenceComponentArn": f"arn:{name}",
        "InferenceComponentStatus": status,
        "LastModifiedTime": modified,
        "EndpointName": "ep",
    }


def test_a_settled_resync_reads_the_full_listing_then_the_region_changes_newest_first() -> None:
    client = Scripted()
    now = [1000.0]
    sweep = EndpointSweep(client, clock=lambda: now[0], wall=lambda: now[0])  # type: ignore[arg-type]

    def settled(name: str) -> Any:
        return asyncio.run(
            sweep.settled(region="r", endpoint="ep", name=name, max_age=270, full_age=600)
        )

    client.full = [_item("a", 10.0), _item("b", 10.0)]
    assert settled("a")["LastModifiedTime"] == 10.0  # no listing yet: the endpoint in full
    assert client.requests == [{"endpoint": "ep", "after": None}]
    now[0] += 300  # the full listing is too old for a resync but young enough for absence
    client.changes = [_item("a", 1200.0, "Updating")]
    assert settled("a")["InferenceComponentStatus"] == "Updating"  # the change wins
    assert settled("b")["LastModifiedTime"] == 10.0  # unchanged: the full listing's entry
    # One region-wide listing served both; it reaches back past the full listing's fetch
    # (1000) by one resync's margin: 1300 - (600 + 270).
    assert client.requests[1:] == [{"endpoint": None, "after": 430.0}]
    client.full = [_item("a", 1200.0, "Updating")]  # b was deleted out of band
    now[0] += 301  # the full listing is now older than full_age
    assert settled("b") is None
    assert client.requests[2:] == [{"endpoint": "ep", "after": None}]
