"""The autoscaling step of a pass: decides *when* spec.autoScaling is synced, syncs it,
and returns what the pass records (:class:`ScalingDelta`), so the pass applies it in
one line.

Synced on an edit, when the copy count moved and while copies move. Otherwise the
component's slice of the shared autoscaling listings (:mod:`ic_operator.autoscaling.sweep`,
one round per autoscaling listing interval for every component) is compared with the
spec, and only a slice that differs is read again and corrected: steady state costs no
call of the component's own. A failure here does not undo the pass: it is reported (an
event, a sooner look) and retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from ic_operator import metrics
from ic_operator.autoscaling import plan as asp
from ic_operator.autoscaling import sync
from ic_operator.autoscaling.plan import Call
from ic_operator.autoscaling.sweep import AutoScalingSweep
from ic_operator.aws.api import SageMakerApi
from ic_operator.aws.budget import Purpose
from ic_operator.aws.errors import SageMakerError
from ic_operator.events import Event
from ic_operator.models import InferenceComponentStatus
from ic_operator.models.autoscaling import AutoScaling
from ic_operator.models.autoscaling_status import AutoScalingStatus

# SageMaker states in which the autoscaler's target is left alone: the component is
# being created or deleted, or has failed.
_UNTOUCHED_STATES = ("Creating", "Deleting", "Failed")


@dataclass(frozen=True)
class ScalingDelta:
    """What the autoscaling step changes in a pass's result."""

    ran: bool = False  # a sync was made: ``status`` replaces status.autoScaling
    status: AutoScalingStatus | None = None
    events: tuple[Event, ...] = ()
    # The longest the pass may sleep: soon while copies move, no longer than the poll
    # maximum after a failure.
    sleep_cap: float | None = None
    # The autoscaler is moving the copy count: SageMaker's Updating is its work, and
    # the pass's Progressing says so with this message.
    progressing: str | None = None
    # The sync failed: the pass reports it (Degraded when a human must act) and the
    # autoscaling step runs again on the next pass.
    failed: SageMakerError | None = None

    def applied_to(self, status: InferenceComponentStatus) -> InferenceComponentStatus:
        return status.model_copy(update={"auto_scaling": self.status}) if self.ran else status

    def cap(self, sleep: float | None) -> float | None:
        if self.sleep_cap is None:
            return sleep
        return self.sleep_cap if sleep is None else min(sleep, self.sleep_cap)


NONE = ScalingDelta()


def write_events(calls: tuple[Call, ...]) -> tuple[Event, ...]:
    """One Normal event per autoscaling write, in a pass or on delete alike: a user reads
    in `kubectl describe` every change the operator made to the autoscaler."""
    return tuple(
        Event("Normal", "AutoScalingSynced", f"{call.operation} ({call.service})") for call in calls
    )


@dataclass(frozen=True)
class AutoScalingStep:
    client: SageMakerApi
    sweep: AutoScalingSweep
    interval: float  # --autoscaling-resync-interval: how old a round may be
    fast: float  # the poll minimum: how soon to look while copies move
    slow: float  # the poll maximum: how soon to look after a failed sync

    def due(
        self,
        spec: AutoScaling | None,
        previous: AutoScalingStatus | None,
        component: Mapping[str, Any] | None,
        *,
        edited: bool,
        now: float,
    ) -> Literal["change"] | None:
        """ "change" on an edit, when the copy count moved or while copies move (the
        scaling activities are read too); otherwise the shared listings are asked."""
        if spec is None and not (previous and previous.registered):
            return None
        if edited or previous is None or previous.checked_at is None:
            return "change"
        if previous.state == "Scaling":
            return "change"
        if component is not None:
            runtime = component.get("RuntimeConfig") or {}
            seen = (runtime.get("DesiredCopyCount"), runtime.get("CurrentCopyCount"))
            if seen != (previous.desired_copies, previous.current_copies):
                return "change"
        return None

    async def moved(
        self, name: str, spec: AutoScaling | None, registered: bool, region: str
    ) -> bool:
        """The component's slice of the shared listings differs from the spec: worth a
        read of its own (the listing may lag a write) before anything is corrected."""
        return bool(await self.listed(name, spec, registered, region))

    async def listed(
        self, name: str, spec: AutoScaling | None, registered: bool, region: str
    ) -> list[Call]:
        """The calls the component's slice of the shared listings asks for (none: in sync
        as far as the listings show)."""
        reading = await self.sweep.reading(region, name, self.interval)
        if not asp.alarm_read_needed(spec, reading.policies):
            reading = replace(reading, alarm=None)  # as a read of its own would see it
        return asp.sync_calls(spec, reading, name, owned=asp.owned(spec, registered))

    async def held(
        self,
        *,
        name: str,
        spec: AutoScaling | None,
        previous: AutoScalingStatus | None,
        region: str,
        component: Mapping[str, Any] | None,
    ) -> tuple[Call, ...]:
        """The calls a sync would send now, sent by no one (spec.suspend): read, never
        written. Empty where :meth:`run` would leave the target alone."""
        registered = previous is not None and previous.registered
        if spec is None and not registered:
            return ()
        if component is None or component.get("InferenceComponentStatus") in _UNTOUCHED_STATES:
            return ()
        reading = await sync.observe(self.client, name, spec, region, Purpose.SWEEP)
        return tuple(asp.sync_calls(spec, reading, name, owned=asp.owned(spec, registered)))

    async def run(
        self,
        *,
        name: str,
        resource: str,
        spec: AutoScaling | None,
        previous: AutoScalingStatus | None,
        region: str,
        endpoint: str,
        component: Mapping[str, Any] | None,
        edited: bool,
        now: float,
    ) -> ScalingDelta:
        """Sync a component the autoscaler may touch (``component`` None: the pass
        creates, deletes or does not own it) when it is due or the listings show it moved."""
        registered = previous is not None and previous.registered
        if spec is None and not registered:
            self.sweep.leave(region, name)
            return NONE
        self.sweep.join(region, name, endpoint)
        if component is None or component.get("InferenceComponentStatus") in _UNTOUCHED_STATES:
            return self._progress(spec, previous)
        due = self.due(spec, previous, component, edited=edited, now=now)
        try:
            if due is None and not await self.moved(name, spec, registered, region):
                return self._progress(spec, previous)
            synced = await sync.sync(
                self.client,
                name,
                spec,
                previous,
                region,
                component=component,
                purpose=Purpose.FIRST_LOOK if edited else Purpose.SWEEP,
                activities=due == "change",
            )
            self.sweep.note(region, name, synced.reading)
        except SageMakerError as err:
            failed = self._progress(spec, previous)
            return ScalingDelta(
                events=(Event("Warning", "AutoScalingFailed", str(err)),),
                sleep_cap=self.slow,
                progressing=failed.progressing,
                failed=err,
            )
        now_status = synced.status.model_copy(update={"checked_at": now})
        return self._synced(resource, spec, synced, now_status)

    def _synced(
        self,
        resource: str,
        spec: AutoScaling | None,
        synced: sync.Synced,
        scaling: AutoScalingStatus,
    ) -> ScalingDelta:
        recorded: AutoScalingStatus | None = scaling
        if spec is None and not scaling.registered:
            # autoScaling was removed and the target deregistered: nothing left to show
            recorded = None
            metrics.forget_copies(resource)
        else:
            metrics.set_copies(
                resource,
                {
                    "min": scaling.min_copies,
                    "max": scaling.max_copies,
                    "desired": scaling.desired_copies,
                    "current": scaling.current_copies,
                },
            )
        events = list(write_events(synced.writes))
        activity = scaling.last_activity
        if synced.new_activity and activity is not None:
            events.append(
                Event(
                    "Normal",
                    "ScalingActivity",
                    f"{activity.description} {activity.status_code}: {activity.cause}",
                )
            )
        moving = scaling.state == "Scaling"
        return ScalingDelta(
            ran=True,
            status=recorded,
            events=tuple(events),
            sleep_cap=self.fast if moving else None,
            progressing=self._progress(spec, scaling).progressing,
        )

    @staticmethod
    def _progress(spec: AutoScaling | None, scaling: AutoScalingStatus | None) -> ScalingDelta:
        if spec is not None and scaling is not None and scaling.state == "Scaling":
            return ScalingDelta(
                progressing=scaling.message or "the autoscaler is moving the copy count"
            )
        return NONE
