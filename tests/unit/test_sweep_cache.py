"""The endpoint listing cache: what it keeps per component, and how its List is classed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ic_operator.aws.budget import Purpose
from ic_operator.aws.client import SageMakerClient
from ic_operator.reconcile.sweep import FIELDS, EndpointSweep
from tests.reconciler.fake import Clock, FakeSageMaker


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

    async def go() -> tuple[Any, ...]:
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


def _component(name: str, modified: float, status: str = "InService") -> dict[str, Any]:
    return {
        "InferenceComponentName": name,
        "InferenceComponentArn": f"arn:{name}",
        "InferenceComponentStatus": status,
        "LastModifiedTime": modified,
        "EndpointName": "ep",
        "CreationTime": 0.0,
    }


def test_a_settled_resync_reads_the_full_listing_then_the_region_changes_newest_first() -> None:
    clock = Clock(1000.0)
    sm = FakeSageMaker(clock, endpoints={"ep"})
    sweep = EndpointSweep(sm, clock=clock, wall=clock)

    def settled(name: str) -> Any:
        return asyncio.run(
            sweep.settled(region="r", endpoint="ep", name=name, max_age=270, full_age=600)
        )

    def lists() -> list[dict[str, Any]]:
        return [c.request for c in sm.calls if c.operation == "ListInferenceComponents"]

    sm.components = {n: _component(n, 10.0) for n in ("a", "b")}
    assert settled("a")["LastModifiedTime"] == 10.0  # no listing yet: the endpoint in full
    assert lists() == [{"EndpointNameEquals": "ep"}]
    clock.advance(300)  # too old for a resync, young enough to answer absence
    sm.components["a"] = _component("a", 1200.0, "Updating")
    assert settled("a")["InferenceComponentStatus"] == "Updating"  # the change wins
    assert settled("b")["LastModifiedTime"] == 10.0  # unchanged: the full listing's entry
    # One region-wide listing served both; it reaches back past the full listing's fetch
    # (1000) by one resync's margin: 1300 - (600 + 270).
    assert lists()[1:] == [{"LastModifiedTimeAfter": 430.0}]
    del sm.components["b"]  # deleted out of band: no change listing can show it
    clock.advance(301)  # the full listing is now older than full_age
    assert settled("b") is None
    assert lists()[2:] == [{"EndpointNameEquals": "ep"}]


def test_a_full_listing_tells_which_components_moved_since_the_last_one() -> None:
    clock = Clock(1000.0)
    sm = FakeSageMaker(clock, endpoints={"ep"})
    told: list[tuple[str, str, frozenset[str]]] = []
    sweep = EndpointSweep(
        sm,
        clock=clock,
        wall=clock,
        on_moved=lambda region, endpoint, names: told.append((region, endpoint, names)),
    )

    def listing() -> None:
        clock.advance(1)
        asyncio.run(sweep.summary(region="r", endpoint="ep", name="a", max_age=0))

    sm.components = {n: _component(n, 10.0, "Creating") for n in ("a", "b", "c")}
    listing()
    assert told == []  # a first listing has nothing to compare with
    listing()
    assert told == []  # nothing moved
    sm.components["a"] = _component("a", 1001.0, "InService")  # settled
    sm.components["b"] = _component("b", 1001.0, "Creating")  # moved on, same status
    del sm.components["c"]  # gone
    sm.components["d"] = _component("d", 1001.0, "Creating")  # new
    listing()
    # b's LastModifiedTime alone (a rollout's batch) waits for b's own poll.
    assert told == [("r", "ep", frozenset({"a", "c", "d"}))]


class ManyOnOneEndpoint:
    """An endpoint listing of ``n`` settled components, whatever is asked."""

    def __init__(self, n: int) -> None:
        self.n = n

    async def list_components(self, **_: Any) -> list[dict[str, Any]]:
        return [
            {
                "InferenceComponentName": f"c-{i}",
                "InferenceComponentArn": f"arn:c-{i}",
                "InferenceComponentStatus": "InService",
                "LastModifiedTime": 1.0,
            }
            for i in range(self.n)
        ]


@pytest.mark.parametrize(
    ("listed", "pollers", "by_listing"),
    [
        (0, 1, True),  # no listing known yet: read it, and learn the endpoint's size
        (6, 1, True),  # small: a listing parses like one Describe
        (40, 1, False),  # one page, one poller: a Describe costs the same call
        (40, 2, True),  # two pollers share one List
        (250, 3, False),  # three pages, three pollers: Describes cost no more
        (250, 4, True),
    ],
)
def test_a_poll_reads_the_listing_only_while_it_is_shared_or_small(
    listed: int, pollers: int, by_listing: bool
) -> None:
    clock = Clock()
    sweep = EndpointSweep(ManyOnOneEndpoint(listed), clock=clock)  # type: ignore[arg-type]
    if listed:
        asyncio.run(sweep.summary(region="r", endpoint="ep", name="c-0", max_age=1))

    def asks(name: str) -> bool:
        return sweep.poll_by_listing(region="r", endpoint="ep", name=name, window=60)

    answers = [asks(f"c-{i}") for i in range(pollers)]
    assert answers[-1] is by_listing
    assert asks("c-0") is by_listing  # asking again is still one poller
    # Pollers that stopped asking a window ago no longer share the listing.
    clock.advance(61)
    assert asks("c-0") is (listed <= 6)
