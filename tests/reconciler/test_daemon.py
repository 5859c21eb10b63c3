"""ObjectLoop.run as kopf runs it: woken by news, not by echoes of its own writes."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from ic_operator.loop import ObjectLoop
from ic_operator.reconciler import Reconciler
from tests.reconciler.fake import Clock, FakeKube, FakeSageMaker
from tests.reconciler.harness import SETTINGS, image, manifest


class Stop:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    def __bool__(self) -> bool:
        return self.event.is_set()

    async def wait(self, *_: object) -> bool:
        await self.event.wait()
        return True


def test_the_loop_acts_on_news_sleeps_through_echoes_and_stops_when_told() -> None:
    async def scenario() -> None:
        sm = FakeSageMaker(Clock())
        kube = FakeKube(manifest())
        # Long sleeps: only news can make the loop act within this test.
        settings = dataclasses.replace(SETTINGS, poll_min=30, poll_max=30, resync_interval=30)
        loop = ObjectLoop(Reconciler(sm, settings, clock=sm.clock), kube)
        stop = Stop()
        passes: list[Any] = []
        original = loop.step

        async def counted(body: Any, trigger: Any) -> Any:
            passes.append(trigger)
            return await original(body, trigger)

        loop.step = counted  # type: ignore[method-assign]
        task = asyncio.ensure_future(loop.run(lambda: kube.body, stop))

        async def until(check: Any) -> None:
            for _ in range(200):
                if check():
                    return
                await asyncio.sleep(0.01)
            raise AssertionError("timed out")

        await until(lambda: sm.ops("CreateInferenceComponent"))
        loop.wake()  # an echo of its own status write: no news, no pass
        await asyncio.sleep(0.05)
        assert len(passes) == 1
        kube.edit({"specification": {"container": {"image": image("v2")}}})
        loop.wake()  # news: a new generation
        await until(lambda: len(passes) == 2)
        assert [t.value for t in passes] == ["start", "change"]
        stop.event.set()
        async with asyncio.timeout(1):
            await task

    asyncio.run(scenario())


def test_a_deleted_object_hands_over_to_the_finaliser() -> None:
    async def scenario() -> None:
        sm = FakeSageMaker(Clock())
        kube = FakeKube(manifest())
        kube.body["metadata"]["deletionTimestamp"] = "2027-01-01T00:00:00Z"
        loop = ObjectLoop(Reconciler(sm, SETTINGS, clock=sm.clock), kube)
        async with asyncio.timeout(1):
            await loop.run(lambda: kube.body, Stop())
        assert sm.calls == []

    asyncio.run(scenario())
