"""One in-flight call per listing, shared by every asker.

The listings that answer many components at once (an endpoint's components, the
region's recent changes, the autoscaling listings) are asked for by many loops at
about the same moment; they share one call. An asker more urgent than the call in
flight starts its own, so routine work queued in the call budget never delays it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from ic_operator.aws.budget import Purpose

T = TypeVar("T")


class SharedCalls:
    def __init__(self) -> None:
        self._inflight: dict[Hashable, tuple[Purpose, asyncio.Task[Any]]] = {}

    async def run(self, key: Hashable, purpose: Purpose, fetch: Callable[[], Awaitable[T]]) -> T:
        """``fetch()``'s result, from the call in flight for ``key`` when there is one at
        least as urgent as ``purpose``."""
        inflight = self._inflight.get(key)
        if inflight is None or purpose < inflight[0]:
            task: asyncio.Task[T] = asyncio.ensure_future(fetch())
            inflight = self._inflight[key] = (purpose, task)

            def done(finished: asyncio.Task[Any], key: Hashable = key) -> None:
                if self._inflight.get(key, (None, None))[1] is finished:
                    del self._inflight[key]

            task.add_done_callback(done)
        result: T = await asyncio.shield(inflight[1])
        return result
