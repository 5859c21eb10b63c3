"""The delete pass (the finalizer's): delete the component in SageMaker, or leave it
there (Retain, not ours, not permitted), and say when the finalizer may go."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ic_operator import metrics
from ic_operator.autoscaling import sync as autoscaling_sync
from ic_operator.autoscaling.plan import Call
from ic_operator.autoscaling.step import write_events
from ic_operator.autoscaling.sweep import AutoScalingSweep
from ic_operator.aws.api import SageMakerApi
from ic_operator.aws.budget import Purpose
from ic_operator.aws.errors import ErrorKind, SageMakerError
from ic_operator.aws.placement import Placement, Refusal
from ic_operator.config import Settings
from ic_operator.events import Event
from ic_operator.models import InferenceComponentStatus
from ic_operator.names import RETRY_ANNOTATION
from ic_operator.reconcile.apply_pass import gauge
from ic_operator.reconcile.delete import plan_delete
from ic_operator.reconcile.execute import Executed, execute
from ic_operator.reconcile.failures import plan_failure
from ic_operator.reconcile.ownership import is_owned
from ic_operator.reconcile.status import NOT_READ, Reading, build
from ic_operator.reconcile.suspend import hold_deletion
from ic_operator.reconcile.types import (
    Act,
    Observed,
    PassContext,
    PassResult,
    Plan,
    PollPolicy,
    Wake,
    iso,
)


@dataclass(frozen=True)
class DeletePass:
    client: SageMakerApi
    settings: Settings
    poll: PollPolicy
    scaling_sweep: AutoScalingSweep | None = None  # told the component is going

    async def run(
        self, body: Mapping[str, Any], now: float, placement: Placement | Refusal | None = None
    ) -> PassResult:
        """``placement``: where the component was created (reconcile/placed.py), or why
        no AWS call may be made for it; None: the operator's own identity."""
        meta = body.get("metadata") or {}
        raw = body.get("spec") or {}
        status = InferenceComponentStatus.parse(body.get("status") or {})
        name = str(
            status.inference_component_name or raw.get("inferenceComponentName") or meta.get("name")
        )
        # With spec.endpointRef: the endpoint it resolved to (None if it never did).
        endpoint = raw.get("endpointName") or status.endpoint_name
        namespace = str(meta.get("namespace", ""))
        policy = str(raw.get("deletionPolicy", "Delete"))
        ctx = PassContext(
            uid=str(meta.get("uid", "")),
            generation=int(meta.get("generation", 0)),
            retry_token=(meta.get("annotations") or {}).get(RETRY_ANNOTATION),
            now=now,
            region=str(raw.get("region") or status.region or self.settings.region),
        )
        if isinstance(placement, Refusal):
            if status.account is None and status.last_write is None:
                # Never placed, so never created: nothing of it can be in any account.
                return _released(placement.reason, f"{placement.message}; nothing was created")
            # Created in an account the operator may not reach now: it stays, and says so
            # (a deletionPolicy Retain, or the mapping back, lets the deletion finish).
            blocked = Plan(Act.BLOCKED, placement.reason, placement.message, degraded=True)
            return self._finish(blocked, status, ctx, NOT_READ)
        if placement is not None:
            ctx = replace(ctx, region=placement.region)
        if self.scaling_sweep is not None:
            # Going, whatever happens next: the shared autoscaling listings stop covering it.
            self.scaling_sweep.leave(ctx.region, name)
        if policy == "Retain":
            return _released("Retained", f"deletionPolicy Retain: {name!r} is kept in SageMaker")
        if isinstance(endpoint, str) and not self.settings.endpoint_policy.permits(
            namespace, endpoint
        ):
            # Never permitted, so never created: and a denied namespace must not reach
            # the endpoint even to look.
            return _released(
                "NotPermitted",
                f"namespace {namespace!r} may not target endpoint {endpoint!r}; "
                "nothing was done in SageMaker",
            )
        reading = NOT_READ
        attempted: Plan | None = None
        scaled: tuple[Event, ...] = ()  # the autoscaling writes made before the Delete
        try:
            component = await self.client.describe(name, region=ctx.region, purpose=Purpose.WRITE)
            reading = Reading(component, read=True)
            tags = None
            if (
                component is not None
                and component.get("InferenceComponentArn") != status.inference_component_arn
                and component.get("EndpointName") == endpoint
            ):
                tags = await self.client.list_tags(
                    component["InferenceComponentArn"], region=ctx.region, purpose=Purpose.WRITE
                )
            observed = Observed(component=component, tags=tags, now=now)
            plan = plan_delete(
                name,
                policy,
                observed,
                is_owned(ctx.uid, observed, status),
                self.poll,
                endpoint=endpoint if isinstance(endpoint, str) else None,
                write=status.last_write,
            )
            if plan.action is Act.RELEASE:
                return _released(plan.reason, plan.message)
            scaled_too = raw.get("autoScaling") is not None or (
                status.auto_scaling is not None and status.auto_scaling.registered
            )
            if plan.action is Act.DELETE and raw.get("suspend") is True:
                removal = []
                if scaled_too:  # read only what deletion would remove
                    removal = await autoscaling_sync.removal(self.client, name, ctx.region)
                return self._held(plan, name, status, ctx, reading, removal=removal)
            executed = None
            if plan.action is Act.DELETE:
                if scaled_too:
                    # Deregister before the component goes (Retain returned above: with
                    # it the target, policies and alarm all stay).
                    removed = await autoscaling_sync.remove(self.client, name, ctx.region)
                    scaled = write_events(removed)
                    metrics.forget_copies(f"{namespace}/{meta.get('name')}")
                attempted = plan
                executed = await execute(plan, self.client, region=ctx.region, component=component)
            return self._finish(plan, status, ctx, reading, executed=executed, scaled=scaled)
        except SageMakerError as err:
            if err.kind is ErrorKind.NOT_FOUND:
                gone = _released("Deleted", f"{name!r} is gone from SageMaker")
                return replace(gone, events=scaled + gone.events)
            after = plan_failure(
                err, ctx, desired=None, status=status, attempted=attempted, poll=self.poll
            )
            failed = after.record.sent is None and after.wake is Wake.BACKOFF
            warning = (Event("Warning", "DeleteFailed", str(err)),) if failed else ()
            return self._finish(after, status, ctx, reading, scaled=scaled, warnings=warning)

    def _held(
        self,
        plan: Plan,
        name: str,
        status: InferenceComponentStatus,
        ctx: PassContext,
        reading: Reading,
        *,
        removal: Sequence[Call],
    ) -> PassResult:
        """spec.suspend: the Delete waits, shown in status.pendingPlan, looked at again at
        the resync interval or at once when the spec changes (the loop's wake)."""
        since = status.pending_plan.suspended_since if status.pending_plan else iso(ctx.now)
        held = hold_deletion(plan, name, removal, since)
        new = build(held, status, ctx, reading=reading, executed=None, wake_in=self.poll.resync)
        gauge(ctx.uid, new)
        first = status.pending_plan is None or status.pending_plan.message != held.message
        warned = (Event("Warning", "DeletionSuspended", held.message),) if first else ()
        return PassResult(new, self.poll.resync, "DeletionSuspended", warned)

    def _finish(
        self,
        plan: Plan,
        status: InferenceComponentStatus,
        ctx: PassContext,
        reading: Reading,
        *,
        executed: Executed | None = None,
        scaled: tuple[Event, ...] = (),
        warnings: tuple[Event, ...] = (),
    ) -> PassResult:
        """Deletion posts one event per write sent (the autoscaling ones are ``scaled``) and
        a warning for a failed call; waiting and retrying stay quiet."""
        wake_in = plan.wake_in(self.poll)
        new = build(plan, status, ctx, reading=reading, executed=executed, wake_in=wake_in)
        gauge(ctx.uid, new)
        deleting = plan.action is Act.DELETE
        outcome = "Delete" if deleting else "DeleteRetry"
        if plan.action is Act.WAIT and plan.record.sent is None:
            outcome = "Wait"
        announced = (Event("Normal", "Deleting", plan.message),) if deleting else ()
        return PassResult(new, wake_in, outcome, scaled + announced + warnings)


def _released(reason: str, message: str) -> PassResult:
    return PassResult(None, None, reason, (Event("Normal", reason, message),), released=True)
