"""The per-object loop: the one writer of one InferenceComponent's status.

Each object has one :class:`ObjectLoop`. It runs a pass (:mod:`ic_operator.reconcile.passes`),
writes the status the pass built, posts its events, and sleeps until the pass said to
look again. Watch events only wake it; a wake that brings no news (our own status
write, a label change) does not start a pass. A loop waiting on a transition is also
nudged when a List of its endpoint, made for any component, shows it moving
(:meth:`Transitions.moved`): its pass is answered by that listing. The finalizer goes
through the same lock, so a deletion never overlaps a pass.

What it keeps in memory is a cache that may be dropped at any time: the key of the
last pass (to tell news from echoes of its own writes) and the object as the API
server returned it after the last status write (newer than the watch's copy until
the watch catches up). Decisions come from the object alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ic_operator import metrics
from ic_operator.loop import preemption
from ic_operator.names import REDEPLOY_ANNOTATION, RETRY_ANNOTATION
from ic_operator.reconcile.passes import Passes
from ic_operator.reconcile.status import merge_patch, without_timestamps
from ic_operator.reconcile.types import PassResult, TransitionKey, Trigger

log = logging.getLogger("ic_operator.loop.object_loop")

Body = Mapping[str, Any]


class Kube(Protocol):
    """The loop's door to Kubernetes: an InferenceComponent's status and events.
    :class:`ic_operator.kube.status_client.KopfKube` in the operator; an in-memory fake
    in the reconciler suite."""

    async def patch_status(
        self, body: Mapping[str, Any], patch: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """Merge-patch the status subresource; the object as stored afterwards, or None
        when the object is gone."""
        ...

    def post_event(self, body: Mapping[str, Any], type: str, reason: str, message: str) -> None: ...

    async def read(self, body: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The object as stored now; None when it is gone."""
        ...


class Stopped(Protocol):
    """kopf's ``stopped`` flag of a daemon (``bool(stopped)``, ``await stopped.wait()``)."""

    def __bool__(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> Any: ...


def _key(body: Body) -> tuple[Any, ...]:
    meta = body.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    return (
        meta.get("generation"),
        annotations.get(RETRY_ANNOTATION),
        annotations.get(REDEPLOY_ANNOTATION),
        meta.get("deletionTimestamp") is not None,
    )


def _revision(body: Body) -> int:
    value = (body.get("metadata") or {}).get("resourceVersion")
    return int(value) if isinstance(value, str) and value.isdigit() else -1


def deleting(body: Body) -> bool:
    return (body.get("metadata") or {}).get("deletionTimestamp") is not None


class Transitions:
    """The loops waiting on a SageMaker transition, by (region, endpoint, SageMaker name),
    shared by every loop. A List of an endpoint, made for whichever component, shows
    which of its components moved; :meth:`moved` (handed to the endpoint sweep when the
    operator is built) nudges the loops waiting on them."""

    def __init__(self) -> None:
        self._waiting: dict[TransitionKey, ObjectLoop] = {}
        # (region, endpoint) -> the loops whose write waits for that endpoint
        self._endpoints: dict[tuple[str, str], set[ObjectLoop]] = {}

    def move(self, loop: ObjectLoop, old: TransitionKey | None, new: TransitionKey | None) -> None:
        """``loop`` now waits on ``new`` (None: on nothing) instead of ``old``."""
        if old is not None and self._waiting.get(old) is loop:
            del self._waiting[old]
        if new is not None:
            self._waiting[new] = loop

    def wait_endpoint(
        self, loop: ObjectLoop, old: tuple[str, str] | None, new: tuple[str, str] | None
    ) -> None:
        """``loop``'s write now waits for endpoint ``new`` (None: for none) instead of ``old``."""
        if old is not None:
            waiting = self._endpoints.get(old, set())
            waiting.discard(loop)
            if not waiting:
                self._endpoints.pop(old, None)
        if new is not None:
            self._endpoints.setdefault(new, set()).add(loop)

    def endpoint_changed(self, region: str, endpoint: str) -> None:
        """The endpoint watch saw ``endpoint`` change status: every loop whose write waits
        for it looks now (its pass reads the watch's answer, no call of its own)."""
        for loop in list(self._endpoints.get((region, endpoint), ())):
            loop.nudge()

    def moved(self, region: str, endpoint: str, names: frozenset[str]) -> None:
        """A List of ``endpoint`` shows ``names`` moving: the loops waiting on those
        transitions look now, answered by that same listing (no call of their own)."""
        for name in names:
            loop = self._waiting.get((region, endpoint, name))
            if loop is not None:
                loop.nudge()

    def __len__(self) -> int:
        return len(self._waiting) + len(self._endpoints)


class ObjectLoop:
    def __init__(
        self, reconciler: Passes, kube: Kube, transitions: Transitions | None = None
    ) -> None:
        """``transitions``: the index every loop of the process shares (a loop of its
        own when None: nothing else nudges it)."""
        self.reconciler = reconciler
        self.kube = kube
        self.lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._nudged = False
        self._last_key: tuple[Any, ...] | None = None
        self._after_write: Body | None = None
        self._watched: Body | None = None  # the object as the finalizer last read it
        self._transitions = transitions if transitions is not None else Transitions()
        self._transition: TransitionKey | None = None
        self._poked = False  # a poke since the last pass began (see poke)
        self._endpoint: tuple[str, str] | None = None

    # ------------------------------------------------------------ cache

    def news(self, body: Body) -> bool:
        """Does this watch event carry something the last pass did not see? Also drops
        the object our last status write returned once the watch has caught up with it:
        otherwise every loop keeps a whole object until its next pass, a resync away,
        and after a burst of a thousand writes that is a thousand objects held."""
        self.current(body)
        return _key(body) != self._last_key

    def wake(self) -> None:
        self._wake.set()

    def nudge(self) -> None:
        """A listing shows this loop's transition moving on: look now rather than at the
        poll's due time. A loop in a pass is left alone (its pass reads the listing)."""
        if not self.lock.locked():
            self._nudged = True
            self._wake.set()

    def poke(self) -> None:
        """Look again: now, or right after the running pass."""
        self._poked = True
        self._wake.set()

    def _waiting_on(
        self, transition: TransitionKey | None, endpoint: tuple[str, str] | None = None
    ) -> None:
        if transition != self._transition:
            self._transitions.move(self, self._transition, transition)
            self._transition = transition
        if endpoint != self._endpoint:
            self._transitions.wait_endpoint(self, self._endpoint, endpoint)
            self._endpoint = endpoint

    def leave(self) -> None:
        """Out of the transition index (the loop is done)."""
        self._waiting_on(None, None)

    def current(self, live: Body) -> Body:
        """The newer of the watch's copy and the object our last status write returned."""
        written = self._after_write
        if written is None:
            return live
        if _revision(written) > _revision(live):
            return written
        self._after_write = None  # the watch has caught up
        return live

    # ------------------------------------------------------------ running

    async def run(self, live: Callable[[], Body], stopped: Stopped) -> None:
        """Passes until the object is deleted or the loop is stopped (kopf's daemon)."""
        relay = asyncio.ensure_future(self._relay(stopped))
        trigger = Trigger.START
        try:
            while not stopped:
                body = self.current(live())
                if deleting(body):
                    return  # the finalizer takes over
                try:
                    result = await self.step(body, trigger, live)
                    sleep, transition, endpoint = result.sleep, result.transition, result.endpoint
                except Exception:  # a bug, not SageMaker (its errors are planned for)
                    log.exception("pass failed; looking again in %ss", self.reconciler.poll.maximum)
                    sleep, transition, endpoint = self.reconciler.poll.maximum, None, None
                self._waiting_on(transition, endpoint)
                trigger = await self._sleep(sleep, live, stopped)
        finally:
            self.leave()
            relay.cancel()

    async def step(
        self, body: Body, trigger: Trigger, live: Callable[[], Body] | None = None
    ) -> PassResult:
        """One pass and its status write. With ``live``, news that arrives while the pass
        has only read cuts it short and a pass for the news starts at once
        (:mod:`ic_operator.loop.preemption`)."""
        async with self.lock:
            while True:
                result = await self._attempt(body, trigger, live)
                if result is not None:
                    break
                assert live is not None
                metrics.RECONCILES.labels(trigger=trigger.value, outcome="Preempted").inc()
                body, trigger = self.current(live()), Trigger.CHANGE
                if deleting(body):
                    return PassResult(None, 0.0, "Preempted")  # the finalizer takes over
            self._last_key = _key(body)
            await self._apply(body, result)
        return result

    async def _attempt(
        self, body: Body, trigger: Trigger, live: Callable[[], Body] | None
    ) -> PassResult | None:
        """The pass's result, or None when news cut it short before it began a write."""
        attempt = preemption.Attempt()
        self._poked = False  # this pass reads whatever the poke was about

        async def one() -> PassResult:
            preemption.enter(attempt)  # in the task's own context
            return await self.reconciler.reconcile(body, trigger)

        task = asyncio.ensure_future(one())
        try:
            if live is None:
                return await task
            key = _key(body)
            while not task.done():
                self._wake.clear()  # _sleep looks at the object itself before it waits
                if attempt.committed:
                    return await task
                if _key(live()) != key:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    if task.cancelled():
                        return None
                    return task.result()  # it finished before the cancel landed
                woken = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait({task, woken}, return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
            return task.result()
        except asyncio.CancelledError:
            task.cancel()  # the loop itself is being stopped
            raise

    async def finalize(self, live: Callable[[], Body]) -> None:
        """Deletion passes until SageMaker lets the object go (kopf's delete handler).

        Waiting for SageMaker is not a failure: this returns only when done."""
        while True:
            async with self.lock:
                body = self.current(self._newest(live()))
                result = await self.reconciler.finalize(body)
                await self._apply(body, result)
            if result.released:
                return
            seconds = result.sleep or self.reconciler.poll.minimum
            if result.status is not None and result.status.pending_plan is not None:
                await self._held(body, seconds)
            else:
                await asyncio.sleep(seconds)

    async def _held(self, body: Body, seconds: float) -> None:
        """A suspended deletion's wait (a resync interval), cut short by an edit
        (spec.suspend set back to false). kopf runs one handler per object at a time, so
        no watch event reaches this loop while its delete handler waits: the object is
        read every poll minimum instead (a GET of one object, no AWS call)."""
        clock = asyncio.get_running_loop().time
        deadline = clock() + seconds
        while (left := deadline - clock()) > 0:
            await asyncio.sleep(min(left, self.reconciler.poll.minimum))
            fresh = await self.kube.read(body)
            if fresh is None:
                return  # gone: kopf ends the handler
            if _key(fresh) != _key(body):
                self._watched = fresh
                return

    def _newest(self, live: Body) -> Body:
        """kopf's delete handler sees the object as the deletion began; an edit read
        since (:meth:`_held`) is newer."""
        seen = self._watched
        return seen if seen is not None and _revision(seen) > _revision(live) else live

    async def _relay(self, stopped: Stopped) -> None:
        await stopped.wait()
        self.wake()

    async def _sleep(
        self, seconds: float | None, live: Callable[[], Body], stopped: Stopped
    ) -> Trigger:
        """Until the pass's wake time, news, or a stop. Long sleeps are cut into resync
        ticks, so a long backoff is seen to be waiting (ic_operator_reconciles_total
        trigger="timer", outcome="NotDue") rather than silent."""
        clock = asyncio.get_running_loop().time
        tick = self.reconciler.poll.resync
        deadline = None if seconds is None else clock() + seconds
        self._nudged = False  # a nudge sent before this sleep is older than the pass
        while not stopped:
            self._wake.clear()
            if self.news(live()):
                return Trigger.CHANGE
            if self._nudged or self._poked:
                self._nudged = self._poked = False
                return Trigger.LISTED
            remaining = tick if deadline is None else max(0.0, deadline - clock())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=min(remaining, tick))
            except TimeoutError:
                if deadline is None:
                    continue
                if clock() >= deadline:
                    return Trigger.TIMER if (seconds or 0) >= tick else Trigger.POLL
                return Trigger.TIMER
        return Trigger.CHANGE

    # ------------------------------------------------------------ writing

    async def _apply(self, body: Body, result: PassResult) -> None:
        for event in result.events:
            self.kube.post_event(body, event.type, event.reason, event.message)
        if result.status is None or result.released:
            return
        new = result.status.to_k8s()
        stored = dict(body.get("status") or {})
        if without_timestamps(new) == without_timestamps(stored):
            return
        written = await self._write(body, merge_patch(stored, new))
        if written is not None:
            self._after_write = written

    async def _write(self, body: Body, patch: Mapping[str, Any]) -> Body | None:
        """Write the status, retrying until the API server takes it: nothing else may be
        sent to SageMaker before the record of the last write is stored."""
        delay = 0.5
        while True:
            try:
                return await self.kube.patch_status(body, patch)
            except Exception as exc:  # the API server is down or refusing: keep the record
                log.warning("status write failed, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)


class Loops:
    """Every object's loop, by UID (created on first use, dropped when done)."""

    def __init__(self, reconciler: Passes, kube: Kube, transitions: Transitions) -> None:
        """``transitions``: the index the reconciler's endpoint sweep nudges (both are
        built with it, in :mod:`ic_operator.kube.boot`)."""
        self.reconciler = reconciler
        self.kube = kube
        self._loops: dict[str, ObjectLoop] = {}
        self._transitions = transitions

    def get(self, uid: str) -> ObjectLoop:
        loop = self._loops.get(uid)
        if loop is None:
            loop = self._loops[uid] = ObjectLoop(self.reconciler, self.kube, self._transitions)
        return loop

    def drop(self, uid: str) -> None:
        loop = self._loops.pop(uid, None)
        if loop is not None:
            loop.leave()
        metrics.COMPONENT_TABLE.forget(uid)

    def news(self, body: Body) -> bool:
        loop = self._loops.get(str((body.get("metadata") or {}).get("uid", "")))
        return loop is not None and loop.news(body)

    def wake(self, body: Body) -> None:
        loop = self._loops.get(str((body.get("metadata") or {}).get("uid", "")))
        if loop is not None:
            loop.wake()

    def poke(self, uid: str) -> None:
        """Something the object depends on changed (the ACK Endpoint its spec.endpointRef
        names): a pass soon, also when one is running now (it may have read it before)."""
        loop = self._loops.get(uid)
        if loop is not None:
            loop.poke()

    def __len__(self) -> int:
        return len(self._loops)
