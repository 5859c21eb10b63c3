"""The endpoint listings that answer polls and resyncs, shared by every component.

Describing each component every resync costs one call per component per
interval; at a thousand components that is most of an account's SageMaker
budget. The list summary carries each component's status and LastModifiedTime,
which is enough to tell "nothing happened" from "look closer": a component whose
LastModifiedTime has not moved since it was last seen in sync needs no Describe,
and one still Creating or Updating needs no Describe until the list says it
settled. Concurrent askers for the same listing share one in-flight List.

Two kinds of listing:

* the full listing of one endpoint (ListInferenceComponents EndpointNameEquals):
  every component on it, so absence means absence. Polls use it, and a settled
  component's resync uses one at most ``full_age`` old;
* the region's recent changes (ListInferenceComponents LastModifiedTimeAfter, no
  endpoint filter): every component that moved since a little before the oldest full
  listing in use. One call answers the resyncs of every endpoint in the region
  between full listings, which is what keeps a thousand settled components at well
  under one call per endpoint per resync interval.

A full listing also tells the loops waiting on a transition that it moved
(the ``on_moved`` it is built with): one component's poll ends the wait of every other
component on the endpoint that the listing shows settled, without a call of their own.

A poll reads its endpoint's listing while the listing is shared or small; a component
that alone follows a large endpoint (no more pollers than the listing has pages, more
components on it than :data:`SUMMARIES_PER_DESCRIBE`) is polled by one Describe of its own
(:meth:`EndpointSweep.poll_by_listing`): no more calls, and a page of a hundred summaries
costs botocore about as much parsing as 30-60 Describes. At 10,000 components, 100
rollouts on 100 endpoints polled by listings kept the event loop late by seconds (the
bench's rollout phase, README "Benchmark").

A listing keeps only the summary fields those decisions read (:data:`FIELDS`), not the
pages SageMaker returned: at a thousand components the cache is a few hundred bytes
per component.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ic_operator.aws.api import LIST_PAGE, SageMakerApi
from ic_operator.aws.budget import Purpose
from ic_operator.aws.shared import SharedCalls
from ic_operator.reconcile.types import epoch

FIELDS: frozenset[str] = frozenset(
    {
        "InferenceComponentName",
        "InferenceComponentArn",
        "InferenceComponentStatus",
        "LastModifiedTime",
    }
)
"""The summary fields a listing keeps: identity, status and when it last moved."""

Summary = Mapping[str, Any]

SUMMARIES_PER_DESCRIBE = 6
"""How many list summaries botocore parses in the time of one Describe (measured: a
page of 100 in 1.8 ms, a Describe in 0.1 ms); a smaller listing is no dearer to read."""


@dataclass(frozen=True)
class Listing:
    """One endpoint, in full."""

    fetched: float  # monotonic
    items: Mapping[str, Summary]  # component name -> summary


@dataclass(frozen=True)
class Changes:
    """What moved in one region since ``since`` (epoch seconds, SageMaker's clock)."""

    fetched: float  # monotonic
    since: float
    items: Mapping[tuple[str, str], Summary]  # (endpoint, component name) -> summary


Moved = Callable[[str, str, frozenset[str]], None]
"""Told (region, endpoint, names) when a full listing shows components whose status
differs from the endpoint's previous listing (or that appeared or went)."""


def _moved(before: Mapping[str, Summary], after: Mapping[str, Summary]) -> frozenset[str]:
    """A status change, not a LastModifiedTime one: a transition ending (or starting) is
    worth a look now; a rollout's batch landing is left to the component's own poll,
    which coalesces batches into one Describe."""

    def mark(item: Summary | None) -> str | None:
        return None if item is None else str(item.get("InferenceComponentStatus"))

    names = before.keys() | after.keys()
    return frozenset(n for n in names if mark(before.get(n)) != mark(after.get(n)))


class EndpointSweep:
    def __init__(
        self,
        client: SageMakerApi,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        on_moved: Moved | None = None,
    ) -> None:
        """``on_moved``: who wants to hear that a listing shows movement (the loops in a
        transition: one component's poll answers every other in-flight one on its
        endpoint)."""
        self._client = client
        self._clock = clock
        self._wall = wall
        self._on_moved = on_moved
        self._listings: dict[tuple[str, str], Listing] = {}
        self._changes: dict[str, Changes] = {}
        self._calls = SharedCalls()
        # (region, endpoint) -> component name -> when it last asked to poll (monotonic)
        self._pollers: dict[tuple[str, str], dict[str, float]] = {}

    def poll_by_listing(self, *, region: str, endpoint: str, name: str, window: float) -> bool:
        """Whether a poll of ``name`` reads its endpoint's listing: yes while more
        components polled the endpoint within ``window`` seconds (this one included)
        than the last listing of it had pages, or while that listing was small (or is
        not known yet); otherwise one Describe costs no more calls and far less parsing."""
        key, now = (region, endpoint), self._clock()
        asked = self._pollers.setdefault(key, {})
        asked[name] = now
        for other in [n for n, at in asked.items() if now - at > window]:
            del asked[other]
        listing = self._listings.get(key)
        if listing is None or len(listing.items) <= SUMMARIES_PER_DESCRIBE:
            return True
        return len(asked) > math.ceil(len(listing.items) / LIST_PAGE)

    async def summary(
        self,
        *,
        region: str,
        endpoint: str,
        name: str,
        max_age: float,
        purpose: Purpose = Purpose.SWEEP,
    ) -> Summary | None:
        """The component's entry in a full listing younger than ``max_age`` seconds;
        None if not listed.

        Younger, not "no older": with ``max_age`` the time since a write, a listing
        fetched at the moment of the write may predate it.

        ``purpose`` classes the List in the call budget when this asker starts one; an
        asker joins a List already in flight unless it is more urgent than that List's
        class (then it starts one of its own, classed as it is).
        """
        return (await self._full(region, endpoint, max_age, purpose)).items.get(name)

    async def settled(
        self,
        *,
        region: str,
        endpoint: str,
        name: str,
        max_age: float,
        full_age: float,
        purpose: Purpose = Purpose.SWEEP,
    ) -> Summary | None:
        """A settled component's entry for its resync: as fresh as ``max_age``, from a
        full listing of its endpoint at most ``full_age`` old plus, when that is older
        than ``max_age``, the region's changes since a little before it.

        None means not listed in either: absent, or a listing that lags (the planner's
        triage asks Describe for a component it had seen)."""
        full = await self._full(region, endpoint, full_age, purpose)
        if self._clock() - full.fetched <= max_age:
            return full.items.get(name)
        # Covers every full listing in use (none older than full_age), with a margin of
        # one more max_age for a listing that lags a change.
        changes = await self._recent(region, max_age, window=full_age + max_age, purpose=purpose)
        moved = changes.items.get((endpoint, name))
        listed = full.items.get(name)
        if moved is None:
            return listed
        if listed is None:
            return moved
        newer = epoch(moved.get("LastModifiedTime")) or 0.0
        return moved if newer > (epoch(listed.get("LastModifiedTime")) or 0.0) else listed

    # ------------------------------------------------------------ fetching

    async def _full(self, region: str, endpoint: str, max_age: float, purpose: Purpose) -> Listing:
        key = (region, endpoint)
        listing = self._listings.get(key)
        if listing is not None and self._clock() - listing.fetched < max_age:
            return listing

        async def fetch() -> Listing:
            started = self._clock()
            items = await self._client.list_components(
                endpoint_name=endpoint, region=region, purpose=purpose, fields=FIELDS
            )
            fresh = Listing(started, {item["InferenceComponentName"]: item for item in items})
            kept = self._listings.get(key)
            if kept is None or kept.fetched <= started:  # an urgent List may have overtaken
                self._listings[key] = fresh
                moved = _moved(kept.items, fresh.items) if kept is not None else frozenset()
                if moved and self._on_moved is not None:
                    self._on_moved(region, endpoint, moved)
            return fresh

        return await self._calls.run(("endpoint", region, endpoint), purpose, fetch)

    async def _recent(
        self, region: str, max_age: float, *, window: float, purpose: Purpose
    ) -> Changes:
        changes = self._changes.get(region)
        if changes is not None and self._clock() - changes.fetched <= max_age:
            return changes  # fresh, so it reaches back at least ``window`` - ``max_age``

        async def fetch() -> Changes:
            started, since = self._clock(), self._wall() - window
            items = await self._client.list_components(
                endpoint_name=None,
                region=region,
                purpose=purpose,
                fields=FIELDS | {"EndpointName"},
                modified_after=since,
            )
            fresh = Changes(
                started,
                since,
                {
                    (item["EndpointName"], item["InferenceComponentName"]): {
                        k: v for k, v in item.items() if k in FIELDS
                    }
                    for item in items
                },
            )
            kept = self._changes.get(region)
            if kept is None or kept.fetched <= started:
                self._changes[region] = fresh
            return fresh

        return await self._calls.run(("changes", region), purpose, fetch)
