"""Garbage-collector pauses that do not grow with the number of objects served.

CPython's cyclic collector, on a full pass, walks every container object the process
holds, and the event loop stands still meanwhile: every watch event, every pass and
every SageMaker answer waits. The operator holds a few hundred such objects per
component (kopf's copy of the object, its daemon's task and coroutines, the loop's
locks and events), so a full pass grows with the components served: 1.2-1.3 µs of CPU
per tracked object on the 2-core development machine, 0.27-0.34 s at 400 components
(bench/README.md, "Findings for issue 22"), i.e. seconds at 10,000, which is the
order of the edit latency's p99 there (issue 22: 1.8 s).

Almost all of those objects live as long as their component, and a full pass finds
nothing to free among them. So every :data:`FREEZE_EVERY` seconds the collector moves
what is alive into its permanent generation (``gc.freeze()``, after a young collection
so that fresh garbage is not kept): full passes then walk only what was created since,
however many components there are. Frozen objects are still freed the moment nothing
refers to them (reference counting); only a reference cycle that runs through a frozen
object waits, so once every :data:`THAW_EVERY` seconds everything is thawed and one
full pass walks it all (a pause of the old length, once an hour instead of whenever
the old generation has grown by a quarter).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger("ic_operator.kube.collector")

FREEZE_EVERY = 60.0
THAW_EVERY = 3600.0


def freeze() -> int:
    """Collect the young generations, then move every tracked object into the permanent
    generation; returns how many are frozen now."""
    gc.collect(1)
    gc.freeze()
    return gc.get_freeze_count()


def thaw_and_collect() -> int:
    """Everything back into the collector's care and one full pass over it (what a cycle
    through a frozen object needs to be freed), then frozen again; returns the objects
    the full pass found unreachable."""
    gc.unfreeze()
    found = gc.collect()
    gc.freeze()
    return found


async def keep_collections_short(
    *,
    freeze_every: float = FREEZE_EVERY,
    thaw_every: float = THAW_EVERY,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Runs beside kopf for the life of the process (started in
    :mod:`ic_operator.kube.boot`)."""
    freeze()  # the modules, models and clients built at start
    thawed = clock()
    while True:
        await asyncio.sleep(freeze_every)
        if clock() - thawed >= thaw_every:
            found = thaw_and_collect()
            thawed = clock()
            log.debug("full collection over every object: %d unreachable", found)
        else:
            freeze()
