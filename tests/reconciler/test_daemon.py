"""ObjectLoop.run as kopf runs it: woken by news, not by echoes of its own writes."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from typing import Any

from ic_operator import metrics
from ic_operator.aws.budget import Purpose
from ic_operator.loop.object_loop import Loops, ObjectLoop, Transitions
from ic_operator.reconcile.passes import Reconciler
from ic_operator.reconcile.sweep import EndpointSweep
from ic_operator.reconcile.types import Trigger
from tests.reconciler.fake import Clock, FakeKube, FakeSageMaker
from tests.reconciler.harness import SETTINGS, Rig, image, manifest, run


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

        async def counted(body: Any, trigger: Any, *rest: Any) -> Any:
            passes.append(trigger)
            return await original(body, trigger, *rest)

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


def test_a_deleted_object_hands_over_to_the_finalizer() -> None:
    async def scenario() -> None:
        sm = FakeSageMaker(Clock())
        kube = FakeKube(manifest())
        kube.body["metadata"]["deletionTimestamp"] = "2027-01-01T00:00:00Z"
        loop = ObjectLoop(Reconciler(sm, SETTINGS, clock=sm.clock), kube)
        async with asyncio.timeout(1):
            await loop.run(lambda: kube.body, Stop())
        assert sm.calls == []

    asyncio.run(scenario())


async def _until(check: Any, what: str) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


async def _ready_world() -> Rig:
    w = Rig()
    await w.step(Trigger.START)
    w.sm.settle("llm")
    await w.until(w.settled)
    w.clock.advance(SETTINGS.resync_interval)  # the next resync is due
    w.sm.calls.clear()
    return w


def _edit(w: Rig, tag: str) -> None:
    w.kube.edit({"specification": {"container": {"image": image(tag)}}})
    w.loop.wake()  # what the watch's event handler does on news


def test_an_edit_cuts_short_a_resync_pass_still_waiting_for_its_listing() -> None:
    async def scenario() -> None:
        w = await _ready_world()
        w.sm.hold["ListInferenceComponents"] = asyncio.Event()  # behind a long sweep
        before = _preempted()
        step = asyncio.ensure_future(
            w.loop.step(copy.deepcopy(w.kube.body), Trigger.TIMER, lambda: w.kube.body)
        )
        await _until(lambda: w.sm.ops() == ["ListInferenceComponents"], "the routine List")
        _edit(w, "v2")
        async with asyncio.timeout(1):
            result = await step  # without the routine List's answer
        assert result.outcome == "Update"
        assert w.sm.ops() == [
            "ListInferenceComponents",
            "DescribeInferenceComponent",
            "DescribeEndpoint",
            "UpdateInferenceComponent",
        ]
        # ahead of routine work
        assert {w.sm.calls[1].purpose, w.sm.calls[2].purpose} == {Purpose.FIRST_LOOK}
        update = w.sm.calls[3].request["Specification"]["Container"]["Image"]
        assert update == image("v2")
        assert w.status["lastWrite"]["operation"] == "Update"
        assert _preempted() == before + 1

    run(scenario)


def test_a_pass_that_has_begun_a_write_runs_to_its_end_and_the_news_waits() -> None:
    async def scenario() -> None:
        w = await _ready_world()
        w.sm.hold["UpdateInferenceComponent"] = gate = asyncio.Event()
        _edit(w, "v2")
        step = asyncio.ensure_future(
            w.loop.step(copy.deepcopy(w.kube.body), Trigger.CHANGE, lambda: w.kube.body)
        )
        await _until(lambda: "UpdateInferenceComponent" in w.sm.ops(), "the Update")
        _edit(w, "v3")
        for _ in range(20):
            await asyncio.sleep(0)
        assert not step.done()  # not cancelled: what was sent must be recorded
        gate.set()
        async with asyncio.timeout(1):
            result = await step
        assert result.outcome == "Update"
        assert w.sm.ops().count("UpdateInferenceComponent") == 1
        sent = w.sm.calls[-1].request["Specification"]["Container"]["Image"]
        assert sent == image("v2")
        assert w.status["lastWrite"]["operation"] == "Update"
        assert w.status["decision"]["generation"] == w.kube.body["metadata"]["generation"] - 1

    run(scenario)


def _preempted() -> float:
    return sum(
        metrics.RECONCILES.labels(trigger=t.value, outcome="Preempted")._value.get()
        for t in Trigger
    )


def test_a_list_made_for_any_component_ends_the_transitions_it_shows_over() -> None:
    """One List answers every in-flight component on its endpoint: the loops it shows
    settled look at once, from that listing, long before their own polls are due."""

    async def scenario() -> None:
        clock = Clock()
        sm = FakeSageMaker(clock)
        settings = dataclasses.replace(SETTINGS, poll_min=30, poll_max=30, resync_interval=300)
        transitions = Transitions()
        sweep = EndpointSweep(sm, clock=clock, wall=clock, on_moved=transitions.moved)
        reconciler = Reconciler(sm, settings, clock=clock, sweep=sweep)
        loops = Loops(reconciler, FakeKube(manifest()), transitions)
        kubes = {}
        for name, uid in (("a", "uid-a"), ("b", "uid-b")):
            body = manifest()
            body["metadata"].update(name=name, uid=uid)
            kubes[name] = FakeKube(body)
            loops.get(uid).kube = kubes[name]  # each object's own store
        stop = Stop()
        tasks = [
            asyncio.ensure_future(loops.get(f"uid-{n}").run(lambda k=k: k.body, stop))  # type: ignore[misc]
            for n, k in kubes.items()
        ]
        await _until(lambda: len(sm.ops("CreateInferenceComponent")) == 2, "both Creates")
        await _until(lambda: all(loops.get(f"uid-{n}")._transition for n in kubes), "polling")
        sm.settle("a")
        sm.settle("b")
        clock.advance(31)  # past the first poll's due time; the loops' own sleeps run on
        sm.calls.clear()
        listed = _listed()
        # Some other component's poll (or absence check) lists the endpoint:
        await sweep.summary(region="us-east-1", endpoint="llm-endpoint", name="c", max_age=0)
        await _until(
            lambda: all(k.condition("Ready")[0] == "True" for k in kubes.values()), "Ready"
        )
        assert sm.ops() == ["ListInferenceComponents"]  # the one List, nothing else
        assert _listed() == listed + 2  # woken by the listing, not by their own polls
        for k in kubes.values():
            assert k.body["status"]["lastDeployment"]["outcome"] == "Succeeded"
        stop.event.set()
        async with asyncio.timeout(1):
            await asyncio.gather(*tasks)
        assert not loops._transitions  # stopped loops leave the index

    asyncio.run(scenario())


def _listed() -> float:
    return sum(
        metrics.RECONCILES.labels(trigger=Trigger.LISTED.value, outcome=o)._value.get()
        for o in ("NoOp", "Wait", "NotDue")
    )


def test_the_object_a_status_write_returned_is_dropped_once_the_watch_has_caught_up() -> None:
    """After a burst every loop has just written status; keeping each returned object
    until the loop's next pass (a resync away) held a whole object per component."""

    async def scenario() -> None:
        sm = FakeSageMaker(Clock())
        kube = FakeKube(manifest())
        loop = ObjectLoop(Reconciler(sm, SETTINGS, clock=sm.clock), kube)
        stale = copy.deepcopy(kube.body)  # the watch's copy, before the pass's write
        await loop.step(stale, Trigger.START)
        assert kube.status_writes == 1
        # The watch has not caught up: the written object is the newer, and is kept.
        assert (
            loop.current(stale)["metadata"]["resourceVersion"]
            == kube.body["metadata"]["resourceVersion"]
        )
        assert loop.news(stale) is False  # an old event brings nothing new either
        assert loop._after_write is not None
        # The echo of the write arrives: no news, and nothing is kept for it any more.
        assert loop.news(copy.deepcopy(kube.body)) is False
        assert loop._after_write is None

    asyncio.run(scenario())
