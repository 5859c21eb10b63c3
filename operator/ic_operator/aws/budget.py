"""The shared call budget: a token bucket and a concurrency cap, handed out by purpose."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

from ic_operator import metrics
from ic_operator.aws.operations import WRITE_OPERATIONS

T = TypeVar("T")


class Purpose(IntEnum):
    """Why a call is made. Lower values take the next token first.

    The order is the order of who is waiting on the answer: a user who just edited a
    spec waits on the write and on the look that precedes it; nobody waits on a
    transition poll beyond its own poll interval; nobody waits on a drift sweep.
    """

    WRITE = 0  # a change to SageMaker (Create, Update, Delete, tags)
    FIRST_LOOK = 1  # the read that precedes a write: the first look after an edit
    POLL = 2  # following a transition that is known to be running
    SWEEP = 3  # drift detection and resync: nothing is known to have changed

    @property
    def label(self) -> str:
        return self.name.lower()


def default_purpose(operation: str) -> Purpose:
    """What an unclassified call is: a write, or routine polling."""
    return Purpose.WRITE if operation in WRITE_OPERATIONS else Purpose.POLL


@dataclass(eq=False)
class _Waiter:
    purpose: Purpose
    seq: int  # arrival order across every class
    since: float  # clock() on arrival
    granted: asyncio.Future[None]


class CallBudget:
    """The shared SageMaker call budget: a token bucket and a concurrency cap, handed out
    by purpose.

    SageMaker throttles per account, so a thousand components must queue here rather
    than spend the account's budget in a burst. Whenever a token and a free slot are
    available, the longest-waiting caller of the most urgent :class:`Purpose` gets them:
    an edit's write, or the look that precedes it, takes the next token however many
    polls and sweeps are queued (strict priority, decided when the token is due, not
    when the caller arrived).

    Anti-starvation: once ``fairness`` grants in a row have passed over an older
    waiter of a less urgent class, the next grant goes to the oldest waiter of any
    class. Routine work therefore keeps at least 1 / (fairness + 1) of the budget
    (about one call per second at the default 20 calls/s and fairness 20) even under
    a flood of edits, and an edit is delayed by at most one such grant (50 ms at
    20 calls/s).

    The cap on calls in flight is part of the same hand-out, so a slow SageMaker
    cannot make an edit queue behind routine calls at a semaphore either.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        concurrency: int = 0,
        fairness: int = 20,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        account: str = "",
        region: str = "",
    ) -> None:
        """``account``, ``region``: whose budget it is, for the metrics' labels (the
        operator's own account is known only once STS has answered: :meth:`place`)."""
        self.rate = rate  # tokens per second; 0 = unlimited
        self.burst = burst if burst is not None else max(1.0, rate)
        self.concurrency = concurrency  # calls in flight; 0 = unlimited
        self.fairness = fairness
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._last = clock()
        self._queues: dict[Purpose, deque[_Waiter]] = {p: deque() for p in Purpose}
        self._arrivals = itertools.count()
        self._in_flight = 0
        self._passed_over = 0
        self._pump: asyncio.Task[None] | None = None
        # Threads of its own: a call holds its thread through botocore's retry backoff,
        # so on the loop's shared default pool (min(32, cores + 4) threads) one account's
        # throttled calls would keep every other account's calls waiting for a thread
        # (docs/accounts.md, "Isolation of a throttled account").
        self._threads = ThreadPoolExecutor(
            max_workers=concurrency or 32, thread_name_prefix="sagemaker-call"
        )
        self._labels = {"account": account, "region": region}
        self._publish_settings()

    def place(self, account: str, region: str) -> None:
        """Label this budget's metrics with its account and region (one budget each)."""
        for gauge in (metrics.SAGEMAKER_BUDGET_RATE, metrics.SAGEMAKER_BUDGET_CONCURRENCY):
            with contextlib.suppress(KeyError):
                gauge.remove(self._labels["account"], self._labels["region"])
        self._labels = {"account": account, "region": region}
        self._publish_settings()

    def _publish_settings(self) -> None:
        metrics.SAGEMAKER_BUDGET_RATE.labels(**self._labels).set(self.rate)
        metrics.SAGEMAKER_BUDGET_CONCURRENCY.labels(**self._labels).set(self.concurrency)

    async def run_in_thread(self, purpose: Purpose, call: Callable[[], T]) -> T:
        """``call`` in a worker thread, holding one token and one slot.

        A caller cancelled mid-call (a pass cut short by an edit) returns at once, but
        the thread cannot be stopped: its slot stays taken until the call really ends.
        Freed at the cancel, it let more calls run at once than ``concurrency``."""
        await self.acquire(purpose)
        context = contextvars.copy_context()  # as asyncio.to_thread does
        running = asyncio.get_running_loop().run_in_executor(self._threads, context.run, call)
        try:
            result = await asyncio.shield(running)
        except asyncio.CancelledError:
            running.add_done_callback(self._release_after)  # at once if it has ended
            raise
        except BaseException:
            self.release()
            raise
        self.release()
        return result

    def _release_after(self, finished: asyncio.Future[Any]) -> None:
        if not finished.cancelled():
            finished.exception()  # retrieved: nobody awaits a call whose caller left
        self.release()

    async def acquire(self, purpose: Purpose) -> None:
        waiter = _Waiter(
            purpose, next(self._arrivals), self._clock(), asyncio.get_running_loop().create_future()
        )
        self._queues[purpose].append(waiter)
        self._dispatch()
        self._publish_depth(purpose)
        try:
            await waiter.granted  # returns at once when granted above
        except asyncio.CancelledError:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self.release()  # granted, then cancelled before it could run
            else:
                with contextlib.suppress(ValueError):  # or _dispatch already dropped it
                    self._queues[purpose].remove(waiter)
                self._publish_depth(purpose)
            raise

    def release(self) -> None:
        self._in_flight -= 1
        self._dispatch()

    def _dispatch(self) -> None:
        """Grant as many waiters as tokens and slots allow; wake up when the next token is."""
        while True:
            for queue in self._queues.values():  # cancelled waiters leave from the head
                while queue and queue[0].granted.done():
                    queue.popleft()
            if not any(self._queues.values()):
                return
            if self.concurrency and self._in_flight >= self.concurrency:
                return  # release() dispatches again
            wait = self._take_token()
            if wait:
                if self._pump is None or self._pump.done():
                    self._pump = asyncio.get_running_loop().create_task(self._wake(wait))
                return
            self._grant(self._next())

    async def _wake(self, delay: float) -> None:
        await self._sleep(delay)
        self._pump = None
        self._dispatch()

    def _take_token(self) -> float:
        """0 when a token was taken, else the seconds until the next one."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1 - 1e-9:  # a float refill of exactly one token may fall short
            self._tokens = max(0.0, self._tokens - 1)
            return 0.0
        return (1 - self._tokens) / self.rate

    def _next(self) -> _Waiter:
        heads = [q[0] for q in self._queues.values() if q]  # in Purpose order
        oldest = min(heads, key=lambda w: w.seq)
        chosen = heads[0]
        if chosen is not oldest:
            if self._passed_over >= self.fairness:
                chosen = oldest
                self._passed_over = 0
            else:
                self._passed_over += 1
        else:
            self._passed_over = 0
        self._queues[chosen.purpose].popleft()
        return chosen

    def _grant(self, waiter: _Waiter) -> None:
        self._in_flight += 1
        waiter.granted.set_result(None)
        label = waiter.purpose.label
        waited = self._clock() - waiter.since
        metrics.SAGEMAKER_WAIT.labels(purpose=label, **self._labels).observe(waited)
        self._publish_depth(waiter.purpose)

    def _publish_depth(self, purpose: Purpose) -> None:
        depth = len(self._queues[purpose])
        metrics.SAGEMAKER_QUEUE.labels(purpose=purpose.label, **self._labels).set(depth)
