"""One ListInferenceComponents per endpoint, shared by every component on it.

Describing each component every resync costs one call per component per
interval; at a thousand components that is most of an account's SageMaker
budget. The list summary carries each component's status and LastModifiedTime,
which is enough to tell "nothing happened" from "look closer": a component whose
LastModifiedTime has not moved since it was last seen in sync needs no Describe,
and one still Creating or Updating needs no Describe until the list says it
settled. Concurrent askers for the same endpoint share one in-flight List.

A listing keeps only the summary fields those decisions read (:data:`FIELDS`), not the
pages SageMaker returned: at a thousand components the cache is a few hundred bytes
per component.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ic_operator.ports import SageMakerApi
from ic_operator.sagemaker import Purpose

FIELDS: frozenset[str] = frozenset(
    {
        "InferenceComponentName",
        "InferenceComponentArn",
        "InferenceComponentStatus",
        "LastModifiedTime",
    }
)
"""The summary fields a listing keeps: identity, status and when it last moved."""


@dataclass(frozen=True)
class Listing:
    fetched: float  # monotonic
    items: Mapping[str, Mapping[str, Any]]  # component name -> summary


class EndpointSweep:
    def __init__(
        self, client: SageMakerApi, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._clock = clock
        self._listings: dict[tuple[str, str], Listing] = {}
        self._inflight: dict[tuple[str, str], tuple[Purpose, asyncio.Task[Listing]]] = {}

    async def summary(
        self,
        *,
        region: str,
        endpoint: str,
        name: str,
        max_age: float,
        purpose: Purpose = Purpose.SWEEP,
    ) -> Mapping[str, Any] | None:
        """The component's list summary younger than ``max_age`` seconds; None if not listed.

        Younger, not "no older": with ``max_age`` the time since a write, a listing
        fetched at the moment of the write may predate it.

        ``purpose`` classes the List in the call budget when this asker starts one; an
        asker joins a List already in flight unless it is more urgent than that List's
        class (then it starts one of its own, classed as it is).
        """
        key = (region, endpoint)
        listing = self._listings.get(key)
        if listing is None or self._clock() - listing.fetched >= max_age:
            listing = await self._refresh(key, purpose)
        return listing.items.get(name)

    async def _refresh(self, key: tuple[str, str], purpose: Purpose) -> Listing:
        inflight = self._inflight.get(key)
        # A List queued as routine work may wait behind every drift look in the budget:
        # a more urgent asker (an absence check before a Create) starts its own.
        if inflight is None or purpose < inflight[0]:
            task = asyncio.create_task(self._fetch(key, purpose))
            inflight = self._inflight[key] = (purpose, task)

            def done(finished: asyncio.Task[Listing], key: tuple[str, str] = key) -> None:
                if self._inflight.get(key, (None, None))[1] is finished:
                    del self._inflight[key]

            task.add_done_callback(done)
        return await asyncio.shield(inflight[1])

    async def _fetch(self, key: tuple[str, str], purpose: Purpose) -> Listing:
        region, endpoint = key
        started = self._clock()
        items = await self._client.list_components(
            endpoint_name=endpoint, region=region, purpose=purpose, fields=FIELDS
        )
        listing = Listing(
            fetched=started, items={item["InferenceComponentName"]: item for item in items}
        )
        kept = self._listings.get(key)
        if kept is None or kept.fetched <= started:  # an urgent List may have overtaken this
            self._listings[key] = listing
        return listing

    def forget(self, *, region: str, endpoint: str) -> None:
        """Drop a listing known to be stale (after this process changed a component on it)."""
        self._listings.pop((region, endpoint), None)
