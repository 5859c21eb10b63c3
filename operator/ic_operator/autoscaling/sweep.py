"""The autoscaling listings that answer every component's drift check, shared.

Reading one component's target, policies, scheduled actions and alarm costs four
calls; once an hour for a thousand components that is still three reads per
component per hour, and a hand edit stays for up to that hour. A round here reads
what every component needs in pages instead: the scalable targets by ``ResourceIds``
(50 a call), the namespace's scaling policies and scheduled actions, and the
operator's alarms by name prefix. At a thousand components that is about forty
calls, whoever asks, so a round can run every few minutes for a fraction of a read
per component per hour.

A component's check compares its slice of the round with its spec (the pure plan);
only a slice that differs is read again one by one before anything is written (a
listing may lag a write). A round that shows a component's slice changed since the
previous one tells that component's loop at once (:attr:`AutoScalingSweep.on_moved`),
so a hand edit is found within one round, not at the component's next pass.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ic_operator.autoscaling import plan as asp
from ic_operator.autoscaling.sync import read_all
from ic_operator.aws.api import SageMakerApi
from ic_operator.aws.budget import Purpose
from ic_operator.aws.shared import SharedCalls
from ic_operator.models.autoscaling_requests import SCALABLE_DIMENSION, alarm_name, resource_id

Moved = Callable[[str, str, frozenset[str]], None]
"""Told (region, endpoint, component names) when a round shows their autoscaling changed."""

Entries = Mapping[str, tuple[Mapping[str, Any], ...]]  # ResourceId -> entries


@dataclass
class Round:
    """One region's listings: the readings of the components covered, and the
    namespace-wide listings kept to cover a component that joined after the round."""

    fetched: float  # monotonic
    readings: dict[str, asp.TargetReading]
    policies: Entries
    actions: Entries
    alarms: Mapping[str, Mapping[str, Any]]  # alarm name -> alarm

    def reading(self, name: str, target: Mapping[str, Any] | None) -> asp.TargetReading:
        rid = resource_id(name)
        return asp.TargetReading(
            target=target,
            policies=self.policies.get(rid, ()),
            scheduled_actions=self.actions.get(rid, ()),
            alarm=self.alarms.get(alarm_name(name)),
        )


@dataclass
class _Region:
    members: dict[str, str] = field(default_factory=dict)  # component -> endpoint
    round: Round | None = None


class AutoScalingSweep:
    def __init__(
        self,
        client: SageMakerApi,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_moved: Moved | None = None,
    ) -> None:
        """``on_moved``: who wants to hear that a round shows components moved (the loops'
        transition index, as for the endpoint sweep)."""
        self._client = client
        self._clock = clock
        self._on_moved = on_moved
        self._regions: dict[str, _Region] = defaultdict(_Region)
        self._calls = SharedCalls()

    def join(self, region: str, name: str, endpoint: str) -> None:
        """A component with autoscaling to watch: the next round covers it."""
        self._regions[region].members[name] = endpoint

    def leave(self, region: str, name: str) -> None:
        place = self._regions[region]
        place.members.pop(name, None)
        if place.round is not None:
            place.round.readings.pop(name, None)

    def note(self, region: str, name: str, reading: asp.TargetReading) -> None:
        """What a one-by-one read (or a sync's writes) left: the round shows it from now
        on, so the component is not taken to have moved by its own writes."""
        place = self._regions[region]
        if place.round is not None:
            place.round.readings[name] = reading

    async def reading(self, region: str, name: str, max_age: float) -> asp.TargetReading:
        """The component's slice of a round younger than ``max_age`` seconds."""
        found = await self._round(region, max_age)
        if name not in found.readings:
            await self._cover(region, found)
        return found.readings.get(name) or found.reading(name, None)

    # ------------------------------------------------------------ fetching

    async def _round(self, region: str, max_age: float) -> Round:
        place = self._regions[region]
        if place.round is not None and self._clock() - place.round.fetched < max_age:
            return place.round

        async def fetch() -> Round:
            started = self._clock()
            names = sorted(place.members)
            targets = await self._targets(region, names)
            listed = [
                await read_all(self._client, call, region, Purpose.SWEEP)
                for call in asp.namespace_reads()
            ]
            policies, actions, alarms = listed
            fresh = Round(
                started,
                {},
                _by_resource(policies["ScalingPolicies"]),
                _by_resource(actions["ScheduledActions"]),
                {a["AlarmName"]: a for a in alarms["MetricAlarms"]},
            )
            for name in names:
                fresh.readings[name] = fresh.reading(name, targets.get(resource_id(name)))
            before, place.round = place.round, fresh
            self._tell(region, before, fresh)
            return fresh

        return await self._calls.run(("round", region), Purpose.SWEEP, fetch)

    async def _cover(self, region: str, found: Round) -> None:
        """Components that joined after the round: their targets, read together (the
        round's namespace-wide listings already hold their policies and alarm)."""
        await asyncio.sleep(0)  # the components asking at the same moment join one read
        place = self._regions[region]
        missing = sorted(n for n in place.members if n not in found.readings)
        if not missing:
            return

        async def fetch() -> None:
            targets = await self._targets(region, missing)
            for name in missing:
                found.readings[name] = found.reading(name, targets.get(resource_id(name)))

        await self._calls.run(("cover", region, *missing), Purpose.SWEEP, fetch)

    async def _targets(self, region: str, names: list[str]) -> dict[str, Mapping[str, Any]]:
        out: dict[str, Mapping[str, Any]] = {}
        for call in asp.targets_reads(names):
            page = await read_all(self._client, call, region, Purpose.SWEEP)
            for target in page["ScalableTargets"]:
                if target.get("ScalableDimension") == SCALABLE_DIMENSION:
                    out[target["ResourceId"]] = target
        return out

    def _tell(self, region: str, before: Round | None, after: Round) -> None:
        if before is None or self._on_moved is None:
            return
        place = self._regions[region]
        moved: dict[str, set[str]] = defaultdict(set)
        for name, now in after.readings.items():
            then = before.readings.get(name)
            if then is not None and _form(then) != _form(now) and name in place.members:
                moved[place.members[name]].add(name)
        for endpoint, names in moved.items():
            self._on_moved(region, endpoint, frozenset(names))


def _by_resource(items: list[Mapping[str, Any]]) -> Entries:
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for item in items:
        if item.get("ScalableDimension", SCALABLE_DIMENSION) == SCALABLE_DIMENSION:
            grouped[str(item.get("ResourceId"))].append(item)
    return {rid: tuple(entries) for rid, entries in grouped.items()}


def _form(reading: asp.TargetReading) -> asp.TargetReading:
    """A reading without the alarm's state, which moves with traffic, not with edits."""
    if reading.alarm is None:
        return reading
    alarm = {k: v for k, v in reading.alarm.items() if not k.startswith("State")}
    return asp.TargetReading(reading.target, reading.policies, reading.scheduled_actions, alarm)
