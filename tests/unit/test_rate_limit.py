"""The shared token bucket, on a fake clock: how long callers are made to wait."""

from __future__ import annotations

import asyncio

from ic_operator.sagemaker import TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds
        await asyncio.sleep(0)  # let other callers queue up meanwhile, as a real sleep would


def run(bucket: TokenBucket, calls: int) -> None:
    async def go() -> None:
        for _ in range(calls):
            await bucket.take()

    asyncio.run(go())


def test_burst_passes_then_calls_are_spaced_at_the_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(10, burst=3, clock=t.clock, sleep=t.sleep)
    run(bucket, 6)
    assert t.slept == [0.1, 0.1, 0.1]  # 3 free, then one every 1/10 s


def test_idle_time_refills_up_to_the_burst_only() -> None:
    t = FakeTime()
    bucket = TokenBucket(10, burst=2, clock=t.clock, sleep=t.sleep)
    run(bucket, 2)
    t.now += 60  # a long idle period refills 2 tokens, not 600
    run(bucket, 3)
    assert t.slept == [0.1]


def test_zero_rate_disables_the_limit() -> None:
    t = FakeTime()
    run(TokenBucket(0, clock=t.clock, sleep=t.sleep), 100)
    assert t.slept == []


def test_urgent_callers_go_ahead_of_routine_ones() -> None:
    t = FakeTime()
    bucket = TokenBucket(1, burst=1, clock=t.clock, sleep=t.sleep)
    order: list[str] = []

    async def caller(name: str, urgent: bool) -> None:
        await bucket.take(urgent=urgent)
        order.append(name)

    async def go() -> None:
        await bucket.take()  # the only token
        routine = [asyncio.create_task(caller(f"poll{i}", False)) for i in range(3)]
        await asyncio.sleep(0)  # the polls are queued first...
        edit = asyncio.create_task(caller("edit", True))  # ...then a user's edit arrives
        await asyncio.gather(*routine, edit)

    asyncio.run(go())
    assert order == ["poll0", "edit", "poll1", "poll2"]  # only the poll already waking is ahead
    assert t.slept == [1.0, 1.0, 1.0, 1.0]
