"""The shared SageMaker call budget, on a fake clock: who gets the next token, and when."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from ic_operator.aws.budget import CallBudget, Purpose
from ic_operator.aws.client import SageMakerClient

WRITE, FIRST_LOOK, POLL, SWEEP = Purpose.WRITE, Purpose.FIRST_LOOK, Purpose.POLL, Purpose.SWEEP


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.gate: asyncio.Event | None = None  # when set up, sleeps end only once it is set

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        if self.gate is not None:
            await self.gate.wait()
        self.now += seconds
        await asyncio.sleep(0)  # let other callers queue up meanwhile, as a real sleep would


@contextlib.asynccontextmanager
async def spend(b: CallBudget, purpose: Purpose) -> AsyncIterator[None]:
    """One token and one slot for the duration of a block (a call that needs no thread)."""
    await b.acquire(purpose)
    try:
        yield
    finally:
        b.release()


NOWHERE = {"account": "", "region": ""}  # a budget built without its place


def budget(t: FakeTime, rate: float, **kwargs: Any) -> CallBudget:
    return CallBudget(rate, clock=t.clock, sleep=t.sleep, **kwargs)


def queued(purpose: Purpose) -> float:
    """Callers of ``purpose`` waiting for the budget, as the queue-depth gauge publishes it
    (the last budget to change that queue is the one under test)."""
    depth = REGISTRY.get_sample_value(
        "ic_operator_sagemaker_queue_depth", {"purpose": purpose.label, **NOWHERE}
    )
    assert depth is not None
    return depth


def run(b: CallBudget, calls: int) -> None:
    async def go() -> None:
        for _ in range(calls):
            async with spend(b, POLL):
                pass

    asyncio.run(go())


async def settle() -> None:
    """Let every runnable task run until it blocks (a bounded number of loop turns)."""
    for _ in range(50):
        await asyncio.sleep(0)


def granted_in_order(
    t: FakeTime,
    b: CallBudget,
    arrivals: list[tuple[str, Purpose]],
    *,
    before: Callable[[], Awaitable[None]],
) -> list[str]:
    """Queue ``arrivals`` (in that order) behind ``before``, then let the next token come
    due, and return the order in which they were granted."""
    order: list[str] = []

    async def caller(name: str, purpose: Purpose) -> None:
        async with spend(b, purpose):
            order.append(name)

    async def go() -> None:
        await before()
        t.gate = asyncio.Event()
        tasks = []
        for name, purpose in arrivals:
            tasks.append(asyncio.create_task(caller(name, purpose)))
            await asyncio.sleep(0)  # arrival order is the list's order
        await settle()
        assert order == []  # every caller is queued: no token has come due yet
        t.gate.set()
        await asyncio.gather(*tasks)

    asyncio.run(go())
    return order


def test_burst_passes_then_calls_are_spaced_at_the_rate() -> None:
    t = FakeTime()
    run(budget(t, 10, burst=3), 6)
    assert t.slept == [0.1, 0.1, 0.1]  # 3 free, then one every 1/10 s


def test_idle_time_refills_up_to_the_burst_only() -> None:
    t = FakeTime()
    b = budget(t, 10, burst=2)
    run(b, 2)
    t.now += 60  # a long idle period refills 2 tokens, not 600
    run(b, 3)
    assert t.slept == [0.1]


def test_zero_rate_disables_the_limit() -> None:
    t = FakeTime()
    run(budget(t, 0), 100)
    assert t.slept == []


def test_the_next_token_goes_to_the_most_urgent_purpose_whatever_the_arrival_order() -> None:
    t = FakeTime()
    b = budget(t, 1, burst=1)

    async def spend_the_only_token() -> None:
        async with spend(b, POLL):
            pass

    arrivals = [
        ("sweep0", SWEEP),
        ("poll0", POLL),
        ("sweep1", SWEEP),
        ("poll1", POLL),
        ("look", FIRST_LOOK),  # a user's edit: its first look...
        ("write", WRITE),  # ...and another edit's write, arriving last
    ]
    order = granted_in_order(t, b, arrivals, before=spend_the_only_token)
    assert order == ["write", "look", "poll0", "poll1", "sweep0", "sweep1"]
    assert t.slept == [1.0] * 6  # one token per second, none skipped


def test_routine_work_gets_the_oldest_waiters_turn_after_fairness_grants() -> None:
    t = FakeTime()
    b = budget(t, 1, burst=1, fairness=2)

    async def spend_the_only_token() -> None:
        async with spend(b, POLL):
            pass

    arrivals = [("sweep", SWEEP), *((f"w{i}", WRITE) for i in range(5))]
    order = granted_in_order(t, b, arrivals, before=spend_the_only_token)
    assert order == ["w0", "w1", "sweep", "w2", "w3", "w4"]


def test_a_freed_slot_goes_to_the_most_urgent_waiter() -> None:
    t = FakeTime()
    b = budget(t, 0, concurrency=1)
    order: list[str] = []
    held = asyncio.Event

    async def caller(name: str, purpose: Purpose) -> None:
        async with spend(b, purpose):
            order.append(name)

    async def go() -> None:
        release = held()

        async def slow() -> None:
            async with spend(b, SWEEP):
                order.append("slow")
                await release.wait()

        first = asyncio.create_task(slow())
        await settle()
        waiting = [asyncio.create_task(caller(n, p)) for n, p in [("poll", POLL), ("w", WRITE)]]
        await settle()
        assert order == ["slow"]  # the only slot is taken
        assert (queued(POLL), queued(WRITE)) == (1, 1)
        release.set()
        await asyncio.gather(first, *waiting)

    asyncio.run(go())
    assert order == ["slow", "w", "poll"]
    assert t.slept == []  # no rate limit: only the slot made them wait


def test_a_cancelled_waiter_leaves_the_queue_and_keeps_no_token_or_slot() -> None:
    t = FakeTime()
    b = budget(t, 1, burst=2, concurrency=1)
    order: list[str] = []

    async def caller(name: str, purpose: Purpose) -> None:
        async with spend(b, purpose):
            order.append(name)

    async def go() -> None:
        await b.acquire(POLL)  # the only slot (and one of two tokens)
        doomed = asyncio.create_task(caller("doomed", WRITE))
        survivor = asyncio.create_task(caller("survivor", SWEEP))
        await settle()
        assert (queued(WRITE), queued(SWEEP)) == (1, 1)
        doomed.cancel()
        await settle()
        b.release()
        await asyncio.gather(doomed, survivor, return_exceptions=True)
        assert (queued(WRITE), queued(SWEEP)) == (0, 0)

    asyncio.run(go())
    assert order == ["survivor"]
    assert t.slept == []  # the second token was still there: the cancelled write took none


def test_queue_depth_and_wait_are_published_per_purpose() -> None:
    t = FakeTime()
    b = budget(t, 1, burst=1)

    def sample(name: str, purpose: Purpose) -> float:
        return REGISTRY.get_sample_value(name, {"purpose": purpose.label, **NOWHERE}) or 0.0

    waited = sample("ic_operator_sagemaker_wait_seconds_sum", SWEEP)
    depths: list[float] = []

    async def go() -> None:
        async with spend(b, SWEEP):
            pass
        tasks = [asyncio.create_task(b.acquire(SWEEP)) for _ in range(3)]
        await asyncio.sleep(0)
        depths.append(sample("ic_operator_sagemaker_queue_depth", SWEEP))
        await asyncio.gather(*tasks)
        depths.append(sample("ic_operator_sagemaker_queue_depth", SWEEP))

    asyncio.run(go())
    assert depths == [3.0, 0.0]
    # Waits of 1, 2 and 3 fake seconds (tokens at t = 1, 2, 3), the first call none.
    assert sample("ic_operator_sagemaker_wait_seconds_sum", SWEEP) - waited == pytest.approx(6.0)
    rate = REGISTRY.get_sample_value("ic_operator_sagemaker_budget_calls_per_second", NOWHERE)
    assert rate == 1.0


class FakeBoto:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def describe_inference_component(self, **request: Any) -> dict[str, Any]:
        self.calls.append("describe")
        return {"InferenceComponentName": request["InferenceComponentName"]}

    def update_inference_component(self, **request: Any) -> dict[str, Any]:
        self.calls.append("update")
        return {}

    def list_inference_components(self, **request: Any) -> dict[str, Any]:
        self.calls.append("list")
        return {"InferenceComponents": [{"InferenceComponentName": "a", "Big": "x" * 1000}]}


def calls_counted(operation: str, purpose: Purpose) -> float:
    labels = {
        "operation": operation,
        "purpose": purpose.label,
        "code": "OK",
        "account": "",
        "region": "us-east-1",
    }
    return REGISTRY.get_sample_value("ic_operator_sagemaker_calls_total", labels) or 0.0


def test_every_call_is_counted_by_purpose_and_writes_are_always_writes() -> None:
    fake = FakeBoto()
    client = SageMakerClient(default_region="us-east-1", client_factory=lambda _region: fake)
    cases = [
        ("DescribeInferenceComponent", None, POLL),  # an unclassified read
        ("DescribeInferenceComponent", FIRST_LOOK, FIRST_LOOK),
        ("DescribeInferenceComponent", SWEEP, SWEEP),
        ("UpdateInferenceComponent", SWEEP, WRITE),  # a write is a write
    ]
    for operation, purpose, counted in cases:
        before = calls_counted(operation, counted)
        asyncio.run(client.call(operation, {"InferenceComponentName": "a"}, purpose=purpose))
        assert calls_counted(operation, counted) == before + 1, (operation, purpose)


def test_calls_are_counted_by_the_account_and_region_they_land_in() -> None:
    client = SageMakerClient(default_region="us-east-1", client_factory=lambda _region: FakeBoto())
    client.account = "111111111111"
    labels = {"operation": "DescribeInferenceComponent", "purpose": POLL.label, "code": "OK"}

    def counted(region: str) -> float:
        where = {"account": "111111111111", "region": region}
        return REGISTRY.get_sample_value("ic_operator_sagemaker_calls_total", labels | where) or 0

    before = {r: counted(r) for r in ("us-east-1", "eu-west-1")}
    request = {"InferenceComponentName": "a"}
    asyncio.run(client.call("DescribeInferenceComponent", request))
    asyncio.run(client.call("DescribeInferenceComponent", request, region="eu-west-1"))
    asyncio.run(client.call("DescribeInferenceComponent", request, region="eu-west-1"))
    assert counted("us-east-1") == before["us-east-1"] + 1
    assert counted("eu-west-1") == before["eu-west-1"] + 2


def test_the_door_says_when_a_write_begins_and_only_then() -> None:
    """``on_write`` (the loop's preemption mark, in the operator) runs before a write
    waits for the budget, never for a read."""
    fake = FakeBoto()
    marks: list[list[str]] = []
    client = SageMakerClient(
        default_region="us-east-1",
        client_factory=lambda _region: fake,
        on_write=lambda: marks.append(list(fake.calls)),
    )
    asyncio.run(client.call("DescribeInferenceComponent", {"InferenceComponentName": "a"}))
    assert marks == []
    asyncio.run(client.call("UpdateInferenceComponent", {"InferenceComponentName": "a"}))
    assert marks == [["describe"]]  # before the Update was sent


def test_prepare_builds_the_default_regions_client_that_calls_then_reuse() -> None:
    built: list[str] = []

    def factory(region: str) -> FakeBoto:
        built.append(region)
        return FakeBoto()

    client = SageMakerClient(default_region="eu-west-1", client_factory=factory)
    client.prepare()
    assert built == ["eu-west-1"]  # at start, not inside the first call
    asyncio.run(client.call("DescribeInferenceComponent", {"InferenceComponentName": "a"}))
    assert built == ["eu-west-1"]


def test_prepare_fails_at_start_on_a_malformed_endpoint_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "not a url")
    with pytest.raises(ValueError, match="Invalid endpoint"):
        SageMakerClient(default_region="us-east-1").prepare()


def test_listing_keeps_only_the_fields_asked_for() -> None:
    client = SageMakerClient(default_region="us-east-1", client_factory=lambda _r: FakeBoto())
    before = calls_counted("ListInferenceComponents", SWEEP)
    items = asyncio.run(
        client.list_components(endpoint_name="ep", fields=frozenset({"InferenceComponentName"}))
    )
    assert items == [{"InferenceComponentName": "a"}]
    assert calls_counted("ListInferenceComponents", SWEEP) == before + 1  # a listing is a sweep


def test_a_cancelled_caller_keeps_its_slot_until_its_thread_call_ends() -> None:
    """A pass cut short leaves at once, but its boto3 call runs on in the thread: the
    next call must not start until it ends, or more run at once than the cap."""

    async def go() -> None:
        b = CallBudget(0, concurrency=1)  # no rate limit; one call in flight
        release_first, started = threading.Event(), threading.Event()
        in_flight = 0
        most = 0
        lock = threading.Lock()

        def call(wait: threading.Event | None) -> str:
            nonlocal in_flight, most
            with lock:
                in_flight += 1
                most = max(most, in_flight)
            started.set()
            if wait is not None:
                wait.wait(10)
            with lock:
                in_flight -= 1
            return "done"

        first = asyncio.ensure_future(b.run_in_thread(POLL, lambda: call(release_first)))
        assert await asyncio.to_thread(started.wait, 5)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first  # the caller is gone at once
        second = asyncio.ensure_future(b.run_in_thread(WRITE, lambda: call(None)))
        await asyncio.sleep(0.05)
        assert not second.done()  # waits for the slot the first thread still holds
        release_first.set()
        assert await asyncio.wait_for(second, 5) == "done"
        assert most == 1
        assert b._in_flight == 0

    asyncio.run(go())


def test_a_failed_thread_call_frees_its_slot_and_raises() -> None:
    async def go() -> None:
        b = CallBudget(0, concurrency=1)

        def boom() -> None:
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            await b.run_in_thread(POLL, boom)
        assert b._in_flight == 0

    asyncio.run(go())


def test_one_budgets_calls_blocked_in_their_threads_hold_no_other_budgets_call() -> None:
    """A throttled account's calls sleep through botocore's backoff in their threads; more
    of them than the loop's default pool has threads still leave another account's call
    a thread at once (each budget has threads of its own)."""
    blocked = 40  # more than asyncio's default pool, min(32, cores + 4)
    release = threading.Event()
    started = threading.Semaphore(0)

    def stuck() -> str:
        started.release()
        release.wait(timeout=30)
        return "late"

    async def main() -> tuple[str, bool]:
        throttled = CallBudget(0, concurrency=blocked)
        other = CallBudget(0, concurrency=1)
        calls = [
            asyncio.ensure_future(throttled.run_in_thread(POLL, stuck)) for _ in range(blocked)
        ]
        await asyncio.sleep(0)  # each submits its call to a thread
        assert started.acquire(timeout=10), "no blocked call started"
        try:
            answer = await asyncio.wait_for(other.run_in_thread(WRITE, lambda: "now"), 10)
            still_blocked = not any(c.done() for c in calls)
        finally:
            release.set()
            await asyncio.gather(*calls)
        return answer, still_blocked

    assert asyncio.run(main()) == ("now", True)


def test_each_account_and_region_has_its_own_series() -> None:
    """Two accounts' budgets publish apart (one gauge series each, not the last writer's);
    the operator's own budget, placed once STS has answered, leaves no unplaced series."""
    t = FakeTime()
    a = budget(t, 1, burst=1, account="111111111111", region="eu-west-1")
    b = budget(t, 5, burst=1, account="222222222222", region="us-east-1")

    def depth(account: str, region: str) -> float | None:
        labels = {"purpose": SWEEP.label, "account": account, "region": region}
        return REGISTRY.get_sample_value("ic_operator_sagemaker_queue_depth", labels)

    async def go() -> list[float | None]:
        async with spend(a, SWEEP):
            pass
        waiting = [asyncio.create_task(a.acquire(SWEEP)) for _ in range(2)]
        async with spend(b, SWEEP):
            pass
        await asyncio.sleep(0)
        seen = [depth("111111111111", "eu-west-1"), depth("222222222222", "us-east-1")]
        await asyncio.gather(*waiting)
        return seen

    assert asyncio.run(go()) == [2.0, 0.0]
    rates = {
        region: REGISTRY.get_sample_value(
            "ic_operator_sagemaker_budget_calls_per_second",
            {"account": account, "region": region},
        )
        for account, region in (("111111111111", "eu-west-1"), ("222222222222", "us-east-1"))
    }
    assert rates == {"eu-west-1": 1.0, "us-east-1": 5.0}
    own = budget(t, 3)
    own.place("333333333333", "eu-central-1")
    placed = {"account": "333333333333", "region": "eu-central-1"}
    assert REGISTRY.get_sample_value("ic_operator_sagemaker_budget_concurrency", placed) == 0.0
    unplaced = REGISTRY.get_sample_value("ic_operator_sagemaker_budget_calls_per_second", NOWHERE)
    assert unplaced is None
