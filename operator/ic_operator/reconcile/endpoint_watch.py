"""Endpoint readiness, observed once per endpoint for every component on it.

A hundred components applied with their endpoint wait for the same thing; a
DescribeEndpoint per component per poll would spend the account's call budget on one
answer. So the answer is shared: one cached :class:`~ic_operator.reconcile.endpoints.EndpointView`
per (region, endpoint) (the process has one account), one Describe in flight however
many passes ask, and a cached answer reused for the poll's minimum interval.

While an endpoint is in a transition the watch follows it itself, describing it at the
pace :func:`~ic_operator.reconcile.endpoints.pace` sets, and when its status changes it
tells ``on_changed`` (the loops waiting on that endpoint, which look at once): the
waiting components make no calls of their own, and start within one pace of InService.
The following stops when the transition ends or when no pass has asked for the
endpoint for a while (its components are gone or no longer wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from ic_operator.aws.api import SageMakerApi
from ic_operator.aws.budget import Purpose
from ic_operator.aws.errors import SageMakerError
from ic_operator.aws.shared import SharedCalls
from ic_operator.reconcile.endpoints import EndpointView, pace
from ic_operator.reconcile.types import PollPolicy

log = logging.getLogger(__name__)

EndpointKey = tuple[str, str]  # (region, endpoint name)
Changed = Callable[[str, str], None]
"""Told (region, endpoint) when a Describe shows the endpoint in another status."""


class EndpointWatch:
    def __init__(
        self,
        client: SageMakerApi,
        poll: PollPolicy,
        *,
        wall: Callable[[], float] = time.time,
        on_changed: Changed | None = None,
        follow: bool = True,
    ) -> None:
        """``follow``: describe endpoints in a transition in the background (the
        operator); without it a view is refreshed only when a pass asks (tests that
        drive every step)."""
        self._client = client
        self._poll = poll
        self._wall = wall
        self._on_changed = on_changed
        self._follow = follow
        self._views: dict[EndpointKey, EndpointView] = {}
        self._changed: dict[EndpointKey, float] = {}
        self._asked: dict[EndpointKey, float] = {}
        self._followers: dict[EndpointKey, asyncio.Task[None]] = {}
        self._calls = SharedCalls()

    async def view(
        self, region: str, endpoint: str, *, purpose: Purpose, fresh: bool = False
    ) -> EndpointView:
        """The endpoint as last described, if that is recent enough (or being followed);
        otherwise one Describe, shared with whoever else asks meanwhile. ``fresh``: a
        write was just refused because of the endpoint, so the cache is not trusted."""
        key = (region, endpoint)
        self._asked[key] = self._wall()
        kept = self._views.get(key)
        if not fresh and kept is not None and self._current(key, kept):
            return kept
        return await self._describe(key, purpose)

    def changed_since(self, region: str, endpoint: str, at: float) -> bool:
        """Has a Describe shown the endpoint in a new status after ``at`` (epoch)?"""
        return self._changed.get((region, endpoint), float("-inf")) > at

    def _current(self, key: EndpointKey, kept: EndpointView) -> bool:
        if kept.transition and key in self._followers:
            return True  # the follower keeps it current, at its pace
        return self._wall() - kept.read_at < self._poll.minimum

    async def _describe(self, key: EndpointKey, purpose: Purpose) -> EndpointView:
        region, endpoint = key

        async def fetch() -> EndpointView:
            described = await self._client.describe_endpoint(
                endpoint, region=region, purpose=purpose
            )
            view = EndpointView.of(endpoint, described, self._wall())
            self._store(key, view)
            return view

        return await self._calls.run(("endpoint", *key), purpose, fetch)

    def _store(self, key: EndpointKey, view: EndpointView) -> None:
        before = self._views.get(key)
        if before is not None and before.read_at > view.read_at:
            return  # an older answer that arrived late
        self._views[key] = view
        if before is not None and before.status != view.status:
            self._changed[key] = view.read_at
            log.info(
                "endpoint %s: %s -> %s", view.name, before.status or "absent", view.status or "gone"
            )
            if self._on_changed is not None:
                self._on_changed(*key)
        if view.transition and self._follow and key not in self._followers:
            self._followers[key] = asyncio.ensure_future(self._follow_transition(key))

    async def _follow_transition(self, key: EndpointKey) -> None:
        """Describe the endpoint at its pace until the transition ends or nobody asks."""
        idle = 3 * self._poll.maximum
        try:
            while True:
                view = self._views[key]
                now = self._wall()
                if not view.transition or now - self._asked.get(key, now) > idle:
                    return
                await asyncio.sleep(pace(view, now, self._poll))
                with contextlib.suppress(SageMakerError):  # the next round tries again
                    await self._describe(key, Purpose.POLL)
        finally:
            if self._followers.get(key) is asyncio.current_task():
                del self._followers[key]

    async def close(self) -> None:
        """Stop following (a test's teardown; the operator's stop cancels everything)."""
        tasks = list(self._followers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
