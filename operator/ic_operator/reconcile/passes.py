"""The Reconciler: what the per-object loop (:mod:`ic_operator.loop.object_loop`) calls.

One pass per call, :mod:`~ic_operator.reconcile.apply_pass` while the object lives and
:mod:`~ic_operator.reconcile.delete_pass` for the finalizer; this only builds them,
reads the clock and counts the passes. The loop decides when a pass runs and writes
what it returns; everything a pass decides on is in the object it is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ic_operator import metrics
from ic_operator.autoscaling.step import AutoScalingStep
from ic_operator.autoscaling.sweep import AutoScalingSweep
from ic_operator.aws.api import SageMakerApi
from ic_operator.aws.placement import Placement, Refusal
from ic_operator.config import Settings
from ic_operator.reconcile.apply_pass import ApplyPass
from ic_operator.reconcile.delete_pass import DeletePass
from ic_operator.reconcile.endpoint_ref import AckEndpoints
from ic_operator.reconcile.endpoint_watch import Changed, EndpointWatch
from ic_operator.reconcile.observe import Observer
from ic_operator.reconcile.sweep import EndpointSweep
from ic_operator.reconcile.types import DEFAULT, PassResult, PollPolicy, Strategy, Trigger

__all__ = ["PassResult", "Passes", "Reconciler", "Trigger"]


class Passes(Protocol):
    """What the loops call: a Reconciler, or the router among them (reconcile/placed.py)."""

    @property
    def poll(self) -> PollPolicy: ...

    async def reconcile(self, body: Mapping[str, Any], trigger: Trigger) -> PassResult: ...

    async def finalize(self, body: Mapping[str, Any]) -> PassResult: ...


class Reconciler:
    def __init__(
        self,
        client: SageMakerApi,
        settings: Settings,
        *,
        strategy: Strategy = DEFAULT,
        clock: Callable[[], float] = time.time,
        sweep: EndpointSweep | None = None,
        scaling_sweep: AutoScalingSweep | None = None,
        ack_endpoints: AckEndpoints | None = None,
        on_endpoint: Changed | None = None,
        follow_endpoints: bool = True,
    ) -> None:
        """``sweep`` and ``scaling_sweep``: the endpoint and autoscaling listings shared
        by every object's passes (ones of its own if None); the operator builds both with
        the loops' transition index to nudge, a test on its own clock. ``ack_endpoints``:
        the ACK Endpoints spec.endpointRef names (None: none can be resolved).
        ``on_endpoint``: told when an endpoint's status changes (the loops waiting on it);
        ``follow_endpoints``: see :class:`EndpointWatch`."""
        self.client = client
        self.settings = settings
        self.strategy = strategy
        self.poll = PollPolicy(
            settings.poll_min,
            settings.poll_max,
            confirm_window=settings.confirm_window,
            resync=settings.resync_interval,
        )
        self.clock = clock
        self.observer = Observer(
            client, self.poll, strategy, sweep=sweep, full_listing=settings.full_listing_interval
        )
        self.scaling_sweep = scaling_sweep or AutoScalingSweep(client)
        scaling = AutoScalingStep(
            client,
            self.scaling_sweep,
            settings.autoscaling_resync_interval,
            fast=self.poll.minimum,
            slow=self.poll.maximum,
        )
        self.endpoints = EndpointWatch(
            client, self.poll, wall=clock, on_changed=on_endpoint, follow=follow_endpoints
        )
        self._apply = ApplyPass(
            client,
            settings,
            self.poll,
            strategy,
            self.observer,
            scaling,
            self.endpoints,
            ack_endpoints,
        )
        self._delete = DeletePass(client, settings, self.poll, self.scaling_sweep)

    async def reconcile(
        self,
        body: Mapping[str, Any],
        trigger: Trigger,
        placement: Placement | Refusal | None = None,
    ) -> PassResult:
        """``placement``: where the component lives (reconcile/placed.py chooses this
        Reconciler by it); None: the operator's own identity, as configured."""
        started = time.monotonic()
        result = await self._apply.run(body, self.clock(), placement)
        metrics.RECONCILES.labels(trigger=trigger.value, outcome=result.outcome).inc()
        metrics.RECONCILE_SECONDS.labels(outcome=result.outcome).observe(time.monotonic() - started)
        return result

    async def finalize(
        self, body: Mapping[str, Any], placement: Placement | Refusal | None = None
    ) -> PassResult:
        result = await self._delete.run(body, self.clock(), placement)
        metrics.RECONCILES.labels(trigger=Trigger.DELETE.value, outcome=result.outcome).inc()
        return result
