"""The shared autoscaling listings on their own: targets read 50 ResourceIds a call,
one listing per namespace for policies and scheduled actions, the alarms by prefix;
a late joiner costs one targets read; a round that shows a slice changed says so."""

from __future__ import annotations

import asyncio

import pytest

from ic_operator.autoscaling.sweep import AutoScalingSweep
from tests.reconciler.fake import Clock, FakeSageMaker
from tests.reconciler.fake_autoscaling import FakeAutoScaling

pytestmark = pytest.mark.filterwarnings("error")

REGION = "us-east-1"
NAMES = [f"c{i:03d}" for i in range(120)]


def _world() -> tuple[FakeSageMaker, FakeAutoScaling, AutoScalingSweep]:
    clock = Clock()
    sm = FakeSageMaker(clock)
    sm.autoscaling = FakeAutoScaling(clock)
    for name in NAMES:
        rid = f"inference-component/{name}"
        sm.autoscaling.targets[rid] = {
            "ServiceNamespace": "sagemaker",
            "ResourceId": rid,
            "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
            "MinCapacity": 1,
            "MaxCapacity": 4,
        }
    return sm, sm.autoscaling, AutoScalingSweep(sm, clock=clock)


def test_a_round_reads_targets_fifty_ids_a_call_and_each_listing_once() -> None:
    async def scenario() -> None:
        sm, _, sweep = _world()
        for name in NAMES:
            sweep.join(REGION, name, "ep")
        readings = await asyncio.gather(*(sweep.reading(REGION, n, 600) for n in NAMES))
        assert all(r.target is not None and r.target["MaxCapacity"] == 4 for r in readings)
        ids = [c.request["ResourceIds"] for c in sm.calls if "ResourceIds" in c.request]
        assert sorted(len(i) for i in {tuple(x) for x in ids}) == [20, 50, 50]
        listings = [c.operation for c in sm.calls if "ResourceIds" not in c.request]
        assert sorted(set(listings)) == [
            "DescribeAlarms",
            "DescribeScalingPolicies",
            "DescribeScheduledActions",
        ]
        sm.calls.clear()
        await sweep.reading(REGION, NAMES[0], 600)  # fresh: no call
        assert sm.calls == []

    asyncio.run(scenario())


def test_a_component_joining_after_the_round_costs_one_targets_read() -> None:
    async def scenario() -> None:
        sm, _, sweep = _world()
        for name in NAMES[:100]:
            sweep.join(REGION, name, "ep")
        await sweep.reading(REGION, NAMES[0], 600)
        sm.calls.clear()
        for name in NAMES[100:]:
            sweep.join(REGION, name, "ep")
        late = await asyncio.gather(*(sweep.reading(REGION, n, 600) for n in NAMES[100:]))
        assert all(r.target is not None for r in late)
        assert [c.operation for c in sm.calls] == ["DescribeScalableTargets"] * 20  # 1 a page
        assert {tuple(c.request["ResourceIds"]) for c in sm.calls} == {
            tuple(f"inference-component/{n}" for n in NAMES[100:])
        }

    asyncio.run(scenario())


def test_a_round_tells_which_components_moved() -> None:
    async def scenario() -> None:
        sm, fake, _ = _world()
        told: list[tuple[str, str, frozenset[str]]] = []
        sweep = AutoScalingSweep(
            sm,
            clock=sm.clock,
            on_moved=lambda region, endpoint, names: told.append((region, endpoint, names)),
        )
        sweep.join(REGION, "c001", "ep-a")
        sweep.join(REGION, "c002", "ep-b")
        await sweep.reading(REGION, "c001", 600)
        fake.targets["inference-component/c002"]["MaxCapacity"] = 9
        sm.clock.advance(600)
        await sweep.reading(REGION, "c001", 600)
        assert told == [(REGION, "ep-b", frozenset({"c002"}))]

    asyncio.run(scenario())


def test_a_component_that_left_is_not_read_again() -> None:
    async def scenario() -> None:
        sm, _, sweep = _world()
        sweep.join(REGION, "c001", "ep")
        sweep.join(REGION, "c002", "ep")
        await sweep.reading(REGION, "c001", 600)
        sweep.leave(REGION, "c002")
        sm.calls.clear()
        sm.clock.advance(600)
        await sweep.reading(REGION, "c001", 600)
        ids = [c.request["ResourceIds"] for c in sm.calls if "ResourceIds" in c.request]
        assert ids == [["inference-component/c001"]]

    asyncio.run(scenario())
