"""The apply pass for one InferenceComponent: parse, due?, observe, plan, execute, the
autoscaling step, build the status. :meth:`ApplyPass.run` reads top to bottom.

Knows nothing of kopf or of scheduling: it takes the object as a mapping and returns
a :class:`~ic_operator.reconcile.types.PassResult`, built once at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pydantic

from ic_operator import metrics
from ic_operator.autoscaling.plan import Call
from ic_operator.autoscaling.step import NONE, AutoScalingStep, ScalingDelta
from ic_operator.aws.api import SageMakerApi
from ic_operator.aws.budget import Purpose
from ic_operator.aws.errors import SageMakerError, about_endpoint
from ic_operator.aws.placement import REFUSALS, Placement, Refusal
from ic_operator.config import Settings
from ic_operator.models import (
    EndpointRef,
    InferenceComponentSpec,
    InferenceComponentStatus,
    validation_message,
)
from ic_operator.models.status import AccountStatus
from ic_operator.names import REDEPLOY_ANNOTATION, RETRY_ANNOTATION
from ic_operator.reconcile import endpoint_ref
from ic_operator.reconcile.endpoint_ref import AckEndpoints, AckLookup, Found, Resolution
from ic_operator.reconcile.endpoint_watch import EndpointKey, EndpointWatch
from ic_operator.reconcile.endpoints import GATED, HELD_REASONS, gate
from ic_operator.reconcile.execute import Executed, execute
from ic_operator.reconcile.failures import plan_failure, scaling_degraded, scaling_failed
from ic_operator.reconcile.held import scaling_moved_while_held
from ic_operator.reconcile.observe import Observation, Observer
from ic_operator.reconcile.plan import plan_apply
from ic_operator.reconcile.status import NOT_READ, Reading, build, events
from ic_operator.reconcile.suspend import hold, still_held
from ic_operator.reconcile.triage import Look
from ic_operator.reconcile.types import (
    SENDS,
    TIMED,
    Act,
    Desired,
    Observed,
    PassContext,
    PassResult,
    Plan,
    PollPolicy,
    Strategy,
    TransitionKey,
    Wake,
    decided_for,
    iso,
    recorded_wake,
)
from ic_operator.reconcile.verdict import plan_created


@dataclass(frozen=True)
class ApplyPass:
    """The pass while the object lives; what it needs is passed in (built by the
    Reconciler)."""

    client: SageMakerApi
    settings: Settings
    poll: PollPolicy
    strategy: Strategy
    observer: Observer
    scaling: AutoScalingStep
    endpoints: EndpointWatch
    # The ACK Endpoints spec.endpointRef names, as the Kubernetes side last saw them;
    # None: the operator was built without (every reference then reads as no such kind).
    ack_endpoints: AckEndpoints | None = None

    async def run(
        self, body: Mapping[str, Any], now: float, placement: Placement | Refusal | None = None
    ) -> PassResult:
        """The pass, and with spec.endpointRef what it resolved to (EndpointResolved).
        ``placement``: the account and region the component lives in (reconcile/placed.py),
        or why it may make no AWS call; None: the operator's own identity, as configured."""
        status = InferenceComponentStatus.parse(body.get("status") or {})
        ctx, wanted, resolution = await self._parse(body, status, now, placement)
        if isinstance(wanted, Plan) and (body.get("spec") or {}).get("suspend") is True:
            # Rejected before SageMaker is asked anything, and still suspended.
            held = still_held(status.pending_plan, iso(now), wanted.message)
            wanted = replace(wanted, pending=held)
        result = await self._run(status, ctx, wanted)
        if resolution is None:
            return result
        return _with_resolution(result, resolution, status, ctx)

    async def _run(
        self, status: InferenceComponentStatus, ctx: PassContext, wanted: Desired | Plan
    ) -> PassResult:
        """A call that fails at any stage is planned like any other outcome
        (:func:`plan_failure`), so the status written always says what comes next."""
        now = ctx.now
        if isinstance(wanted, Plan):  # rejected before SageMaker is asked anything
            return self._finish(wanted, status, ctx, NOT_READ)
        # A placement refusal that cleared (a mapping or Namespace changed) is news too.
        edited = _edited(status, ctx) or _was_refused(status)
        key: TransitionKey = (ctx.region, wanted.endpoint, wanted.name)
        endpoint: EndpointKey = (ctx.region, wanted.endpoint)
        news = status.decision is not None and self.endpoints.changed_since(
            *endpoint, status.decision.at
        )  # the endpoint changed since the last decision: a waiting write may go now
        if not edited and not news and (early := _not_due(status, now, key)) is not None:
            return replace(early, endpoint=endpoint if _held(status) else None)
        observation: Observation | None = None
        attempted: Plan | None = None
        try:
            observation = await self.observer.observe(
                wanted, status, ctx.region, edited=edited, now=now
            )
            if observation.look in (Look.UNCHANGED, Look.MOVING):
                if not scaling_degraded(status) and not await scaling_moved_while_held(
                    self.scaling, wanted, status, ctx.region
                ):
                    return await self._nothing_moved(observation, wanted, status, ctx, key)
                # The plan shown is out of date, or autoscaling's Degraded waits for a
                # pass that can clear it: a full look, as after an edit.
                observation = await self.observer.observe(
                    wanted, status, ctx.region, edited=True, now=now
                )
            plan = self._plan(wanted, observation, status, now)
            if wanted.spec.suspended:
                return await self._held(plan, wanted, observation, status, ctx, key=key)
            held = False  # the endpoint cannot take this plan's write: it waits
            if plan.action in GATED:
                view = await self.endpoints.view(*endpoint, purpose=_look(edited))
                gated = gate(plan, view, desired=wanted, status=status, now=now, poll=self.poll)
                plan, held = gated, gated is not plan
            executed = None
            if plan.action in SENDS:
                attempted = plan
                executed = await execute(
                    plan, self.client, region=ctx.region, component=observation.component
                )
            touched = None if _leaves_alone(plan) else observation.component
            scaling = await self._scale(wanted, status, ctx, touched, edited=edited)
            plan = _narrated(plan, scaling.progressing)
            listed = observation.look is Look.CREATED
            reading = Reading(observation.component, read=True, listed=listed)
            waiting = key if plan.wake is Wake.POLL or _watched(wanted) else None
            return self._finish(
                plan,
                status,
                ctx,
                reading,
                executed=executed,
                scaling=scaling,
                transition=waiting,
                endpoint=endpoint if held else None,
            )
        except SageMakerError as err:
            reading = Reading(observation.component, read=True) if observation else NOT_READ
            if attempted is not None and about_endpoint(err):
                waits = await self._refused(attempted, wanted, status, endpoint, now)
                if waits is not None:
                    return self._finish(waits, status, ctx, reading, endpoint=endpoint)
            failed = plan_failure(
                err, ctx, desired=wanted, status=status, attempted=attempted, poll=self.poll
            )
            if wanted.spec.suspended:  # still suspended, whatever failed to be read
                failed = replace(
                    failed, pending=still_held(status.pending_plan, iso(ctx.now), failed.message)
                )
            return self._finish(failed, status, ctx, reading)

    async def _refused(
        self,
        attempted: Plan,
        desired: Desired,
        status: InferenceComponentStatus,
        endpoint: EndpointKey,
        now: float,
    ) -> Plan | None:
        """SageMaker refused the write because of the endpoint: the endpoint as it is now
        says what to wait for (None: it looks ready after all, so the refusal is planned
        like any other failure)."""
        try:
            view = await self.endpoints.view(*endpoint, purpose=Purpose.FIRST_LOOK, fresh=True)
        except SageMakerError:
            return None
        held = gate(attempted, view, desired=desired, status=status, now=now, poll=self.poll)
        return None if held is attempted else held

    def _plan(
        self,
        desired: Desired,
        observation: Observation,
        status: InferenceComponentStatus,
        now: float,
    ) -> Plan:
        """This resource's own create, InService in the listing, is Ready without a
        Describe; anything else is planned from the Describe."""
        if observation.look is Look.CREATED:
            return plan_created(status, now, self.poll)
        observed = Observed(observation.component, observation.tags, now)
        return plan_apply(desired, observed, status, self.poll, strategy=self.strategy)

    async def _held(
        self,
        plan: Plan,
        desired: Desired,
        observation: Observation,
        status: InferenceComponentStatus,
        ctx: PassContext,
        *,
        key: TransitionKey,
    ) -> PassResult:
        """spec.suspend: the plan is recorded, not executed; autoscaling is read, not
        written. A failed read is planned as any other (the caller's except)."""
        component = observation.component
        listed = observation.look is Look.CREATED
        view = self.strategy.view(component) if component is not None and not listed else None
        scaling: tuple[Call, ...] = ()
        if plan.action is not Act.BLOCKED and not _leaves_alone(plan):
            scaling = await self.scaling.held(
                name=desired.name,
                spec=desired.spec.auto_scaling,
                previous=status.auto_scaling,
                region=ctx.region,
                component=component,
            )
        since = status.pending_plan.suspended_since if status.pending_plan else iso(ctx.now)
        observed = Observed(component, observation.tags, ctx.now)
        held = hold(plan, desired, observed, view=view, scaling=scaling, since=since)
        reading = Reading(component, read=True, listed=listed)
        waiting = key if held.wake is Wake.POLL else None
        return self._finish(held, status, ctx, reading, transition=waiting)

    async def _scale(
        self,
        desired: Desired,
        status: InferenceComponentStatus,
        ctx: PassContext,
        component: Mapping[str, Any] | None,
        *,
        edited: bool,
    ) -> ScalingDelta:
        return await self.scaling.run(
            name=desired.name,
            resource=desired.resource,
            spec=desired.spec.auto_scaling,
            previous=status.auto_scaling,
            region=ctx.region,
            endpoint=desired.endpoint,
            component=component,
            edited=edited,
            now=ctx.now,
        )

    async def _parse(
        self,
        body: Mapping[str, Any],
        status: InferenceComponentStatus,
        now: float,
        placement: Placement | Refusal | None,
    ) -> tuple[PassContext, Desired | Plan, Resolution | None]:
        """The pass's context and what the spec asks for, or the plan of a spec the
        operator may not send yet (invalid, its endpointRef not resolved, or not
        permitted by the endpoint policy); and what the endpointRef resolved to."""
        meta = body.get("metadata") or {}
        name, namespace = str(meta.get("name")), str(meta.get("namespace", ""))
        annotations = meta.get("annotations") or {}
        ctx = PassContext(
            uid=str(meta.get("uid", "")),
            generation=int(meta.get("generation", 0)),
            retry_token=annotations.get(RETRY_ANNOTATION),
            now=now,
            region=self.settings.region,
            redeploy_token=annotations.get(REDEPLOY_ANNOTATION),
        )
        try:
            spec = InferenceComponentSpec.parse(body.get("spec") or {})
        except pydantic.ValidationError as err:
            return ctx, _blocked("InvalidSpec", validation_message(err)), None
        problems = spec.component_name_problems(name)
        if problems:
            return ctx, _blocked("InvalidSpec", "; ".join(problems)), None
        resolution = None
        if spec.endpoint_ref is not None:
            resolution = await self._resolve(spec.endpoint_ref, namespace, status, now)
            if resolution.plan is not None:
                return ctx, resolution.plan, resolution
            spec = spec.model_copy(update={"endpoint_name": resolution.endpoint})
        endpoint = str(spec.endpoint_name)
        if not self.settings.endpoint_policy.permits(namespace, endpoint):
            return (
                ctx,
                _blocked(
                    "NotPermitted",
                    f"namespace {namespace!r} may not target endpoint {endpoint!r} "
                    "(operator endpoint policy)",
                ),
                resolution,
            )
        desired = Desired(
            name=spec.component_name(name),
            uid=ctx.uid,
            resource=f"{namespace}/{name}",
            generation=ctx.generation,
            retry_token=ctx.retry_token,
            spec=spec,
            redeploy_token=ctx.redeploy_token,
        )
        if isinstance(placement, Refusal):  # a mapping or a Namespace may change: resync
            refused = Plan(Act.BLOCKED, placement.reason, placement.message, degraded=True)
            return ctx, refused, resolution
        region = spec.region or self.settings.region
        identity: dict[str, Any] = {"inference_component_name": desired.name, "region": region}
        if placement is not None:
            region = identity["region"] = placement.region
            identity["account"] = AccountStatus(
                account_id=placement.account_id, region=region, mapping=placement.mapping
            )
        return replace(ctx, region=region, identity=identity), desired, resolution

    async def _resolve(
        self, ref: EndpointRef, namespace: str, status: InferenceComponentStatus, now: float
    ) -> Resolution:
        """spec.endpointRef: refused across namespaces before anything is read."""
        cross = self.settings.cross_namespace_endpoint_refs
        refused = endpoint_ref.refused(ref, namespace, cross_namespace=cross)
        if refused is not None:
            return refused
        where, name = endpoint_ref.target(ref, namespace)
        lookup = AckLookup(Found.NO_KIND)
        if self.ack_endpoints is not None:
            lookup = await self.ack_endpoints.get(where, name)
        return endpoint_ref.resolve(ref, namespace, lookup, status, now)

    async def _nothing_moved(
        self,
        observation: Observation,
        desired: Desired,
        status: InferenceComponentStatus,
        ctx: PassContext,
        key: TransitionKey,
    ) -> PassResult:
        """The listing says nothing moved: the stored status stands (and is what the gauge
        reports); only autoscaling the shared listings show moved is looked at."""
        gauge(ctx.uid, status)
        if observation.look is Look.MOVING:
            assert observation.component is not None
            delay = self.poll.for_transition(observation.component, ctx.now)
            return PassResult(None, delay, "Wait", transition=key)
        scaled = desired.spec.auto_scaling is not None or (
            status.auto_scaling is not None and status.auto_scaling.registered
        )
        if not scaled or desired.spec.suspended:
            return PassResult(None, self.poll.resync, "Unchanged")
        # Its copy counts are the ones the last Describe recorded.
        recorded = {
            "InferenceComponentStatus": status.inference_component_status,
            "RuntimeConfig": {
                "DesiredCopyCount": status.desired_copy_count,
                "CurrentCopyCount": status.current_copy_count,
            },
        }
        scaling = await self._scale(desired, status, ctx, recorded, edited=False)
        return PassResult(
            scaling.applied_to(status) if scaling.ran else None,
            scaling.cap(self.poll.resync),
            "Unchanged",
            scaling.events,
            transition=key if _watched(desired) else None,
        )

    def _finish(
        self,
        plan: Plan,
        status: InferenceComponentStatus,
        ctx: PassContext,
        reading: Reading,
        *,
        executed: Executed | None = None,
        scaling: ScalingDelta = NONE,
        transition: TransitionKey | None = None,
        endpoint: EndpointKey | None = None,
    ) -> PassResult:
        """The result, built once: the next wake decided here is both the loop's sleep
        and status.decision.notBefore."""
        plan = scaling_failed(plan, scaling.failed, self.poll.maximum)
        wake_in = scaling.cap(plan.wake_in(self.poll))
        built = build(plan, status, ctx, reading=reading, executed=executed, wake_in=wake_in)
        new = scaling.applied_to(built)
        gauge(ctx.uid, new)
        return PassResult(
            new,
            wake_in,
            plan.action.value if plan.action is not Act.BLOCKED else plan.reason,
            events(plan, status, new.conditions) + scaling.events,
            transition=transition,
            endpoint=endpoint,
        )


def _with_resolution(
    result: PassResult, resolution: Resolution, status: InferenceComponentStatus, ctx: PassContext
) -> PassResult:
    """The pass's result with EndpointResolved and status.endpointName; a pass that had
    nothing to write writes them when they changed (the ACK object moved, say)."""
    base = result.status or status
    new = endpoint_ref.recorded(
        base, status, resolution, generation=ctx.generation, now=iso(ctx.now)
    )
    if result.status is None and new == status:
        return result
    return replace(result, status=new, events=result.events + endpoint_ref.news(status, new))


def _held(status: InferenceComponentStatus) -> bool:
    """The last pass held this component's write for its endpoint."""
    ready = next((c for c in status.conditions if c.type == "Ready"), None)
    return ready is not None and ready.reason in HELD_REASONS


def _look(edited: bool) -> Purpose:
    """The endpoint is described right before a write: after an edit, ahead of routine
    work; otherwise as a poll."""
    return Purpose.FIRST_LOOK if edited else Purpose.POLL


def _blocked(reason: str, message: str) -> Plan:
    return Plan(Act.BLOCKED, reason, message, degraded=True, wake=Wake.IDLE)


def _was_refused(status: InferenceComponentStatus) -> bool:
    return any(
        c.type == "Degraded" and c.status == "True" and c.reason in REFUSALS
        for c in status.conditions
    )


def _edited(status: InferenceComponentStatus, ctx: PassContext) -> bool:
    """The spec, the retry or the redeploy annotation changed since the last decision."""
    return status.decision is None or decided_for(status.decision) != ctx.asked


def _not_due(status: InferenceComponentStatus, now: float, key: TransitionKey) -> PassResult | None:
    """Woken early (a tick during a long backoff, a restart, a listing that moved before
    the poll was due): nothing is due until the recorded notBefore."""
    wake, decision = recorded_wake(status), status.decision
    if wake not in TIMED or decision is None or decision.not_before is None:
        return None
    if now >= decision.not_before:
        return None
    waiting = key if wake is Wake.POLL else None
    return PassResult(None, decision.not_before - now, "NotDue", transition=waiting)


def _watched(desired: Desired) -> bool:
    """A settled component with spec.autoScaling stays where a listing can wake it: a
    round of the autoscaling listings that shows it moved looks at it at once."""
    return desired.spec.auto_scaling is not None


def _leaves_alone(plan: Plan) -> bool:
    """The autoscaler's target is not touched while the component is created or deleted,
    nor when the component is not this resource's."""
    foreign = plan.action is Act.BLOCKED and not plan.record.owned
    return plan.action in (Act.CREATE, Act.DELETE) or foreign


def _narrated(plan: Plan, progressing: str | None) -> Plan:
    """SageMaker's Updating while the autoscaler moves copies is the autoscaler's work:
    Progressing says so."""
    if plan.action is Act.WAIT and progressing is not None:
        return replace(plan, reason="Scaling", message=progressing)
    return plan


def gauge(uid: str, status: InferenceComponentStatus) -> None:
    ready = next((c.status for c in status.conditions if c.type == "Ready"), "Unknown")
    where = status.account
    metrics.COMPONENT_TABLE.set(
        uid,
        status.inference_component_status or "Unknown",
        ready,
        where.account_id if where else "",
        where.region if where else "",
    )
