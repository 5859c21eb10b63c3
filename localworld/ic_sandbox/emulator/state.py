"""Shared state and the primitives the API and the lifecycle tasks both use.

Everything is keyed by name in dicts, and each endpoint indexes its components, so no
request scans the whole world (ListInferenceComponents without an endpoint filter sorts the
matching set at list time, which is the only linear step).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

from .capacity import Demand, fits
from .clock import Clock, Durations
from .errors import limit
from .faults import Faults
from .identity import Identities
from .records import (
    ComponentRecord,
    EndpointConfigRecord,
    EndpointRecord,
    ModelRecord,
    Snapshot,
    Tagged,
    VariantRecord,
    Version,
    partition,
)


class EmulatorState:
    """Everything the emulator knows; the services, lifecycle tasks and scaler share one."""

    def __init__(
        self,
        *,
        region: str,
        account_id: str,
        clock: Clock,
        durations: Durations,
        identities: Identities | None = None,
        calls: list[dict[str, Any]] | None = None,
    ) -> None:
        """`identities` and `calls` are given when this is one of several worlds (one per
        account and region, worlds.py): IAM and the call log are the emulator's, not a
        region's."""
        self.region = region
        self.account_id = account_id
        self.clock = clock
        self.durations = durations
        self.partition = partition(region)
        self.models: dict[str, ModelRecord] = {}
        self.endpoint_configs: dict[str, EndpointConfigRecord] = {}
        self.endpoints: dict[str, EndpointRecord] = {}
        self.components: dict[str, ComponentRecord] = {}
        self.by_arn: dict[str, Tagged] = {}
        self.alarms: dict[str, str] = {}
        self.faults = Faults()
        # kept across reset, like IAM
        self.identities = identities if identities is not None else Identities(self.partition)
        self.calls: list[dict[str, Any]] = calls if calls is not None else []
        # Per component, the versions reads serve while the read-lag fault is on (oldest
        # first); kept only while they can still be served, and beyond the record's life.
        self.versions: dict[str, list[Version]] = {}
        self.served_stale = False  # set by a read that served an older version (call log)
        # services keeping state outside these dicts register how to forget it
        self.reset_hooks: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._alarm_waiters: list[asyncio.Future[None]] = []

    # ---- naming -------------------------------------------------------------------------
    def arn(self, kind: str, name: str) -> str:
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.account_id}:{kind}/{name}"

    # ---- tasks ----------------------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for waiter in self._alarm_waiters:
            if not waiter.done():
                waiter.cancel()
        self._alarm_waiters.clear()

    async def reset(self) -> None:
        """Forget every resource, call, alarm and fault (tasks are cancelled first)."""
        await self.cancel_all()
        self.models.clear()
        self.endpoint_configs.clear()
        self.endpoints.clear()
        self.components.clear()
        self.by_arn.clear()
        self.alarms.clear()
        self.calls.clear()
        self.versions.clear()
        self.faults = Faults()
        for hook in self.reset_hooks:
            hook()

    # ---- alarms ---------------------------------------------------------------------------
    def set_alarm(self, name: str, state: str) -> None:
        self.alarms[name] = state
        waiters, self._alarm_waiters = self._alarm_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def firing(self, names: list[str]) -> str | None:
        for name in names:
            if self.alarms.get(name) == "ALARM":
                return name
        return None

    async def wait(
        self, service_seconds: float, alarms: list[str], deadline: float | None
    ) -> str | None:
        """Wait a simulated duration; return early with why the deployment must stop.

        Returns None when the time passed quietly, ``"alarm:<name>"`` when a watched alarm is
        in ALARM, or ``"timeout"`` when the loop-time deadline passes first.
        """
        loop = asyncio.get_running_loop()
        end = loop.time() + self.clock.real(service_seconds)
        while True:
            fired = self.firing(alarms)
            if fired is not None:
                return f"alarm:{fired}"
            now = loop.time()
            if now >= end:
                return None
            if deadline is not None and now >= deadline:
                return "timeout"
            stop = end if deadline is None else min(end, deadline)
            if not alarms:
                await asyncio.sleep(stop - now)
                continue
            waiter: asyncio.Future[None] = loop.create_future()
            self._alarm_waiters = [w for w in self._alarm_waiters if not w.done()]
            self._alarm_waiters.append(waiter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, stop - now)

    # ---- eventual consistency ------------------------------------------------------------
    def remember(self, name: str, before: Snapshot | None, lag: float) -> None:
        """An accepted write: reads of `name` serve `before` for `lag` more seconds."""
        self.versions.setdefault(name, []).append(Version(self.clock.now() + lag, before))

    def stale(self, operation: str, name: str) -> Version | None:
        """The version `operation` serves of `name` now, or None: the live record.

        The oldest write still inside its lag window decides, so a read sees the state
        from before every write of the last `read_lag_seconds` (wall clock).
        """
        versions = self.versions.get(name)
        if not versions or not self.faults.lags(operation, name):
            return None
        now = self.clock.now()
        versions[:] = [v for v in versions if v.until > now]
        if not versions:
            del self.versions[name]
            return None
        self.served_stale = True
        return versions[0]

    # ---- capacity -------------------------------------------------------------------------
    def variant_of(self, ic: ComponentRecord) -> VariantRecord:
        return self.endpoints[ic.endpoint_name].variants[ic.variant_name]

    def check_capacity(
        self, variant: VariantRecord, ic: ComponentRecord | None, candidate: Counter[Demand]
    ) -> None:
        """Raise ResourceLimitExceeded unless `candidate` fits beside everyone else."""
        total = Counter(variant.reserved)
        if ic is not None:
            total.subtract(ic.reserved)
        total.update(candidate)
        total = +total
        if variant.instance is None or not fits(variant.instance, variant.instance_count, total):
            raise limit(
                f"Insufficient capacity on variant {variant.name} "
                f"({variant.instance_count} x {variant.instance_type}) to place the requested "
                "inference component copies."
            )

    def reserve(self, ic: ComponentRecord, reservation: Counter[Demand]) -> None:
        endpoint = self.endpoints.get(ic.endpoint_name)
        variant = endpoint.variants.get(ic.variant_name) if endpoint else None
        if variant is not None:
            variant.reserved.subtract(ic.reserved)
            variant.reserved.update(reservation)
            variant.reserved = +variant.reserved
        ic.reserved = +Counter(reservation)


def copies(demand: Demand | None, n: int) -> Counter[Demand]:
    if demand is None or n <= 0:
        return Counter()
    return Counter({demand: n})


def merge(*parts: Counter[Demand]) -> Counter[Demand]:
    out: Counter[Demand] = Counter()
    for part in parts:
        out.update(part)
    return out
