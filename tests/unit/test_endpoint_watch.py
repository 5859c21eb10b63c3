"""The endpoint watch: one Describe per endpoint however many ask, a transition followed
at its pace, and the waiting loops told when it ends. And the pace itself (pure)."""

from __future__ import annotations

import asyncio

import pytest

from ic_operator.aws.budget import Purpose
from ic_operator.reconcile.endpoint_watch import EndpointWatch
from ic_operator.reconcile.endpoints import CEILING, EndpointView, duration, pace
from ic_operator.reconcile.types import PollPolicy
from tests.reconciler.fake import Clock, FakeSageMaker

ENDPOINT = ("us-east-1", "llm-endpoint")


def test_concurrent_askers_share_one_describe() -> None:
    async def scenario() -> None:
        sm = FakeSageMaker(Clock())
        gate = sm.hold["DescribeEndpoint"] = asyncio.Event()
        watch = EndpointWatch(sm, PollPolicy(), wall=sm.clock, follow=False)
        asks = [
            asyncio.ensure_future(watch.view(*ENDPOINT, purpose=Purpose.POLL)) for _ in range(20)
        ]
        await asyncio.sleep(0)
        gate.set()
        views = await asyncio.gather(*asks)
        assert {v.status for v in views} == {"InService"}
        assert sm.ops("DescribeEndpoint") == ["DescribeEndpoint"]

    asyncio.run(scenario())


def test_a_transition_is_followed_and_its_end_wakes_the_waiting_loops() -> None:
    async def scenario() -> None:
        sm = FakeSageMaker(Clock())
        sm.set_endpoint("llm-endpoint", "Creating")
        changed: list[tuple[str, str]] = []
        told = asyncio.Event()

        def on_changed(region: str, endpoint: str) -> None:
            changed.append((region, endpoint))
            told.set()

        poll = PollPolicy(minimum=0.01, maximum=0.05)
        watch = EndpointWatch(sm, poll, wall=sm.clock, on_changed=on_changed)
        first = await watch.view(*ENDPOINT, purpose=Purpose.POLL)
        assert first.status == "Creating"
        # Asked again while followed: the follower's answer, no call of the asker's own.
        for _ in range(5):
            await watch.view(*ENDPOINT, purpose=Purpose.POLL)
        await asyncio.sleep(0.2)
        follows = len(sm.ops("DescribeEndpoint"))
        assert 2 <= follows <= 0.2 / poll.minimum + 2  # its pace, not the askers'
        assert changed == []
        sm.set_endpoint("llm-endpoint", "InService")
        async with asyncio.timeout(1):
            await told.wait()
        assert changed == [ENDPOINT]
        assert watch.changed_since(*ENDPOINT, sm.clock.now - 1)
        # The transition ended, so the following did: no Describe in the next 0.2 s.
        settled = len(sm.ops("DescribeEndpoint"))
        await asyncio.sleep(0.2)
        assert len(sm.ops("DescribeEndpoint")) == settled
        await watch.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("status", "age", "expected"),
    [
        ("Creating", 0.0, CEILING),  # 10 minutes to go: the slowest pace
        ("Creating", 590.0, 5.0),  # nearly due: the poll's minimum
        ("Creating", 3600.0, 5.0),  # overdue: still the minimum, never a hot loop
        ("Deleting", 60.0, 6.0),  # a minute of its two left: a tenth of it
    ],
)
def test_pace_follows_what_is_left_of_the_expected_duration(
    status: str, age: float, expected: float
) -> None:
    view = EndpointView("ep", status, modified=1000.0, read_at=1000.0)
    assert pace(view, 1000.0 + age, PollPolicy()) == pytest.approx(expected)


def test_pace_is_never_slower_than_the_polls_maximum() -> None:
    view = EndpointView("ep", "Creating", modified=0.0, read_at=0.0)
    assert pace(view, 0.0, PollPolicy(minimum=0.2, maximum=1.0)) == 1.0


@pytest.mark.parametrize(
    ("seconds", "text"), [(7.9, "7s"), (252, "4m12s"), (3720, "1h02m"), (60, "1m00s")]
)
def test_durations_read_like_kubectl(seconds: float, text: str) -> None:
    assert duration(seconds) == text
