"""kube/collector: full GC passes walk only what is new, and a cycle through a frozen
object is still freed at the next thaw."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from ic_operator.kube import collector


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()


class Node:
    """A container in a reference cycle with itself."""

    def __init__(self) -> None:
        self.me = self


def test_a_full_pass_skips_frozen_objects_but_a_thaw_frees_their_cycles() -> None:
    node = Node()
    gone = weakref.ref(node)
    assert collector.freeze() > 0
    del node  # garbage now, but frozen: a full pass does not see it
    gc.collect()
    assert gone() is not None
    assert collector.thaw_and_collect() >= 1
    assert gone() is None
    assert gc.get_freeze_count() > 0  # frozen again after the pass


def test_young_garbage_is_collected_before_freezing_not_frozen() -> None:
    node = Node()
    gone = weakref.ref(node)
    del node
    collector.freeze()
    assert gone() is None


def test_the_task_freezes_every_interval_and_thaws_once_per_thaw_interval() -> None:
    now = [0.0]
    calls: list[str] = []
    original = collector.freeze, collector.thaw_and_collect
    five = asyncio.Event()

    def record(what: str) -> None:
        calls.append(what)
        if len(calls) == 5:
            five.set()

    def freeze() -> int:
        record("freeze")
        now[0] += 10.0  # each freeze 10 s after the last
        return 1

    def thaw() -> int:
        record("thaw")
        return 0

    collector.freeze, collector.thaw_and_collect = freeze, thaw  # type: ignore[assignment]
    try:

        async def scenario() -> None:
            task = asyncio.ensure_future(
                collector.keep_collections_short(
                    freeze_every=0.001, thaw_every=25.0, clock=lambda: now[0]
                )
            )
            await five.wait()
            task.cancel()

        asyncio.run(asyncio.wait_for(scenario(), timeout=10))
    finally:
        collector.freeze, collector.thaw_and_collect = original  # type: ignore[assignment]
    # at start, then at the clock's 10, 20 and 30; at 40 the last thaw
    # (the start, 10) is 30 s >= 25 s ago: thaw
    assert calls == ["freeze", "freeze", "freeze", "freeze", "thaw"]
