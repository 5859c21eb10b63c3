"""One pass for one InferenceComponent: parse, observe, plan, execute, build status.

Knows nothing of kopf or of scheduling: it takes the object as a mapping and returns
a :class:`PassResult` (the status to write, the events to post, when to look again).
The per-object loop (:mod:`ic_operator.loop.object_loop`) decides when a pass runs and writes
what it returns; everything a pass decides on is in the object it is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

import pydantic

from ic_operator import metrics
from ic_operator.autoscaling import sync as autoscaling_sync
from ic_operator.autoscaling.sync import Synced
from ic_operator.aws.budget import Purpose
from ic_operator.aws.errors import ErrorKind, SageMakerError
from ic_operator.aws.ports import SageMakerApi
from ic_operator.config import Settings
from ic_operator.models import InferenceComponentSpec, InferenceComponentStatus, validation_message
from ic_operator.models.autoscaling_status import AutoScalingStatus
from ic_operator.reconcile.execute import Executed, execute
from ic_operator.reconcile.observe import Observation, Observer, tags_digest
from ic_operator.reconcile.plan import (
    DEFAULT,
    RETRY_ANNOTATION,
    WRITES,
    Act,
    Desired,
    Look,
    Observed,
    Plan,
    PollPolicy,
    Strategy,
    Wake,
    classify_failure,
    desired_tags,
    is_owned,
    plan,
    plan_created,
    plan_delete,
    plan_failure,
)
from ic_operator.reconcile.status import Event, build, events


class Trigger(StrEnum):
    """Why a pass runs (the ``trigger`` label of ic_operator_reconciles_total)."""

    START = "start"  # the loop started: operator start, resume, or a new object
    CHANGE = "change"  # the spec or the retry annotation changed
    TIMER = "timer"  # a resync, or a tick during a long backoff
    POLL = "poll"  # a transition, a confirmation or a backoff came due
    LISTED = "listed"  # another component's List showed this one's transition moving on
    DELETE = "delete"  # the finaliser


Transition = tuple[str, str, str]  # region, endpoint, SageMaker component name


@dataclass
class PassResult:
    status: InferenceComponentStatus | None  # None: nothing to write
    sleep: float | None  # seconds until the next pass; None: until the spec changes
    outcome: str  # for metrics and logs
    events: list[Event] = field(default_factory=list)
    released: bool = False  # finaliser: deletion is complete from the operator's side
    # (region, endpoint, SageMaker name) of a transition the endpoint's listing can show
    # moving on: any List of that endpoint, made for whichever component, wakes this one.
    transition: Transition | None = None


def _blocked(reason: str, message: str) -> Plan:
    return Plan(Act.BLOCKED, reason, message, degraded=True, wake=Wake.IDLE)


class Reconciler:
    def __init__(
        self,
        client: SageMakerApi,
        settings: Settings,
        *,
        strategy: Strategy = DEFAULT,
        clock: Callable[[], float] = time.time,
        observer: Observer | None = None,
    ) -> None:
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
        self.observer = observer or Observer(
            client, self.poll, strategy, full_listing=settings.full_listing_interval
        )

    # ------------------------------------------------------------------ converge

    async def reconcile(self, body: Mapping[str, Any], trigger: Trigger) -> PassResult:
        started = time.monotonic()
        result = await self._reconcile(body, trigger)
        metrics.RECONCILES.labels(trigger=trigger.value, outcome=result.outcome).inc()
        metrics.RECONCILE_SECONDS.labels(outcome=result.outcome).observe(time.monotonic() - started)
        return result

    async def _reconcile(self, body: Mapping[str, Any], trigger: Trigger) -> PassResult:
        meta = body.get("metadata") or {}
        generation = int(meta.get("generation", 0))
        retry_token = (meta.get("annotations") or {}).get(RETRY_ANNOTATION)
        status = InferenceComponentStatus.parse(body.get("status") or {})
        now = self.clock()

        uid = str(meta.get("uid", ""))

        def without_sagemaker(blocked: Plan) -> PassResult:
            return self._result(
                blocked, status, generation, retry_token, now, uid=uid, component=None, read=False
            )

        try:
            spec = InferenceComponentSpec.parse(body.get("spec") or {})
        except pydantic.ValidationError as err:
            return without_sagemaker(_blocked("InvalidSpec", validation_message(err)))
        problems = spec.component_name_problems(str(meta.get("name")))
        if problems:
            return without_sagemaker(_blocked("InvalidSpec", "; ".join(problems)))
        namespace = str(meta.get("namespace", ""))
        if not self.settings.endpoint_policy.permits(namespace, spec.endpoint_name):
            return without_sagemaker(
                _blocked(
                    "NotPermitted",
                    f"namespace {namespace!r} may not target endpoint {spec.endpoint_name!r} "
                    "(operator endpoint policy)",
                )
            )
        desired = Desired(
            name=spec.component_name(str(meta.get("name"))),
            uid=uid,
            resource=f"{namespace}/{meta.get('name')}",
            generation=generation,
            retry_token=retry_token,
            spec=spec,
        )
        region = spec.region or self.settings.region
        transition: Transition = (region, spec.endpoint_name, desired.name)
        decision = status.decision
        fresh = decision is None or (decision.generation, decision.retry_token) != (
            generation,
            retry_token,
        )
        if (
            not fresh
            and decision is not None
            and decision.next in (Wake.BACKOFF, Wake.POLL, Wake.CONFIRM, Wake.VERIFY)
            and decision.not_before is not None
            and now < decision.not_before
        ):
            # Woken early (a tick during a long backoff, a restart, a listing that moved
            # before the poll was due): nothing is due.
            waiting = transition if Wake(decision.next) is Wake.POLL else None
            return PassResult(None, decision.not_before - now, "NotDue", transition=waiting)

        identity = {"inference_component_name": desired.name, "region": region}
        observation: Observation | None = None
        sending: Plan | None = None
        try:
            observation = await self.observer.observe(desired, status, region, fresh=fresh, now=now)
            if observation.look in (Look.UNCHANGED, Look.MOVING):
                # Nothing moved: the stored status stands (and is what the gauge reports).
                _gauge(uid, status)
                if observation.look is Look.UNCHANGED:
                    if self._scaling_due(desired, status, None, fresh=fresh, now=now):
                        return await self._scaling_only(desired, status, region, now)
                    return PassResult(None, self.poll.resync, "Unchanged")
                assert observation.component is not None
                delay = self.poll.for_transition(observation.component, now)
                return PassResult(None, delay, "Wait", transition=transition)
            # This resource's own create, InService in the listing: Ready without a Describe.
            listed = observation.look is Look.CREATED
            observed = Observed(observation.component, observation.tags, now)
            the_plan = (
                plan_created(status, now, self.poll)
                if listed
                else plan(desired, observed, status, self.poll, strategy=self.strategy)
            )
            executed = None
            if the_plan.action in (*WRITES, Act.TAG):
                sending = the_plan
                executed = await execute(
                    the_plan, self.client, region=region, component=observation.component
                )
            synced, failed = await self._scaling(
                desired, status, region, observation.component, the_plan, fresh=fresh, now=now
            )
            scaling_now = synced.status if synced is not None else status.auto_scaling
            if (
                the_plan.action is Act.WAIT
                and desired.spec.auto_scaling is not None
                and scaling_now is not None
                and scaling_now.state == "Scaling"
            ):
                # SageMaker's Updating is the autoscaler's work: say so (Progressing).
                the_plan = replace(
                    the_plan,
                    reason="Scaling",
                    message=scaling_now.message or "the autoscaler is moving the copy count",
                )
            result = self._result(
                the_plan,
                status,
                generation,
                retry_token,
                now,
                uid=uid,
                component=observation.component,
                read=True,
                executed=executed,
                write_outcome="Accepted" if the_plan.action in WRITES else None,
                tags=_tags_known(the_plan, observation, desired),
                identity=identity,
                listed=listed,
            )
            if the_plan.wake is Wake.POLL:
                result.transition = transition
            return self._with_scaling(result, desired, synced, failed)
        except SageMakerError as err:
            after = self._after_failure(
                err, uid=uid, desired=desired, status=status, sending=sending, now=now
            )
            unknown = after.sent is not None
            return self._result(
                after,
                status,
                generation,
                retry_token,
                now,
                uid=uid,
                component=observation.component if observation else None,
                read=observation is not None,
                write_outcome="Unknown" if unknown else None,
                identity=identity,
            )

    # ------------------------------------------------------------------ autoscaling

    def _scaling_due(
        self,
        desired: Desired,
        status: InferenceComponentStatus,
        component: Mapping[str, Any] | None,
        *,
        fresh: bool,
        now: float,
    ) -> Literal["change", "resync"] | None:
        """Read spec.autoScaling's state on an edit, when the copy count moved, while
        copies move ("change"), and otherwise once per autoscaling resync interval
        ("resync"): steady state costs no autoscaling call per pass."""
        previous = status.auto_scaling
        if desired.spec.auto_scaling is None and not (previous and previous.registered):
            return None
        if fresh or previous is None or previous.checked_at is None:
            return "change"
        if previous.state == "Scaling":
            return "change"
        if component is not None:
            runtime = component.get("RuntimeConfig") or {}
            seen = (runtime.get("DesiredCopyCount"), runtime.get("CurrentCopyCount"))
            if seen != (previous.desired_copies, previous.current_copies):
                return "change"
        if now - previous.checked_at >= self.settings.autoscaling_resync_interval:
            return "resync"
        return None

    async def _scaling(
        self,
        desired: Desired,
        status: InferenceComponentStatus,
        region: str,
        component: Mapping[str, Any] | None,
        the_plan: Plan,
        *,
        fresh: bool,
        now: float,
    ) -> tuple[Synced | None, SageMakerError | None]:
        """Sync spec.autoScaling for a component that exists and is not being created
        or deleted. A failure here does not undo the pass: it is reported and retried."""
        if component is None or the_plan.action in (Act.CREATE, Act.DELETE):
            return None, None
        if component.get("InferenceComponentStatus") in ("Creating", "Deleting", "Failed"):
            return None, None
        if the_plan.action is Act.BLOCKED and not the_plan.owned:
            return None, None
        due = self._scaling_due(desired, status, component, fresh=fresh, now=now)
        if due is None:
            return None, None
        try:
            synced = await autoscaling_sync.sync(
                self.client,
                desired.name,
                desired.spec.auto_scaling,
                status.auto_scaling,
                region,
                component=component,
                purpose=Purpose.FIRST_LOOK if fresh else Purpose.SWEEP,
                activities=due == "change",
            )
        except SageMakerError as err:
            return None, err
        checked = synced.status.model_copy(update={"checked_at": now})
        return replace(synced, status=checked), None

    async def _scaling_only(
        self, desired: Desired, status: InferenceComponentStatus, region: str, now: float
    ) -> PassResult:
        """The autoscaling resync of a component SageMaker reports unchanged: its copy
        counts are the ones the last Describe recorded."""
        known = {
            "InferenceComponentStatus": status.inference_component_status,
            "RuntimeConfig": {
                "DesiredCopyCount": status.desired_copy_count,
                "CurrentCopyCount": status.current_copy_count,
            },
        }
        noop = Plan(Act.NOOP, "InSync", "SageMaker matches the spec")
        synced, failed = await self._scaling(
            desired, status, region, known, noop, fresh=False, now=now
        )
        base = PassResult(status, self.poll.resync, "Unchanged")
        return self._with_scaling(base, desired, synced, failed)

    def _with_scaling(
        self,
        result: PassResult,
        desired: Desired,
        synced: Synced | None,
        failed: SageMakerError | None,
    ) -> PassResult:
        if failed is not None:
            result.events.append(Event("Warning", "AutoScalingFailed", str(failed)))
            result.sleep = min(result.sleep or self.poll.maximum, self.poll.maximum)
            return result
        if synced is None or result.status is None:
            return result
        if desired.spec.auto_scaling is None and not synced.status.registered:
            # autoScaling was removed and the target deregistered: nothing left to show
            scaling: AutoScalingStatus | None = None
            metrics.forget_copies(desired.resource)
        else:
            scaling = synced.status
            metrics.set_copies(
                desired.resource,
                {
                    "min": scaling.min_copies,
                    "max": scaling.max_copies,
                    "desired": scaling.desired_copies,
                    "current": scaling.current_copies,
                },
            )
        result.status = result.status.model_copy(update={"auto_scaling": scaling})
        for call in synced.writes:
            result.events.append(
                Event("Normal", "AutoScalingSynced", f"{call.operation} ({call.service})")
            )
        activity = synced.status.last_activity
        if synced.new_activity and activity is not None:
            result.events.append(
                Event(
                    "Normal",
                    "ScalingActivity",
                    f"{activity.description} {activity.status_code}: {activity.cause}",
                )
            )
        if synced.status.state == "Scaling":
            result.sleep = min(result.sleep or self.poll.minimum, self.poll.minimum)
        return result

    def _after_failure(
        self,
        err: SageMakerError,
        *,
        uid: str,
        desired: Desired | None,
        status: InferenceComponentStatus,
        sending: Plan | None,
        now: float,
    ) -> Plan:
        """The planner's verdict on a failed call (``sending``: the plan whose write failed)."""
        return plan_failure(
            classify_failure(err.kind.value, err.operation),
            operation=err.operation,
            detail=str(err),
            message=err.message,
            uid=uid,
            desired=desired,
            status=status,
            attempted=sending,
            now=now,
            poll=self.poll,
        )

    def _result(
        self,
        the_plan: Plan,
        status: InferenceComponentStatus,
        generation: int,
        retry_token: str | None,
        now: float,
        *,
        uid: str,
        component: Mapping[str, Any] | None,
        read: bool,
        executed: Executed | None = None,
        write_outcome: Literal["Accepted", "Unknown"] | None = None,
        tags: str | None = None,
        identity: Mapping[str, Any] | None = None,
        listed: bool = False,
    ) -> PassResult:
        new = build(
            the_plan,
            status,
            generation=generation,
            retry_token=retry_token,
            now=now,
            poll=self.poll,
            component=component,
            read=read,
            executed=executed,
            write_outcome=write_outcome,
            tags_digest=tags,
            identity=identity,
            listed=listed,
        )
        sleep: float | None
        if the_plan.wake is Wake.IDLE:
            sleep = None
        elif the_plan.wake is Wake.RESYNC:
            sleep = self.poll.resync
        else:
            sleep = the_plan.delay if the_plan.delay is not None else self.poll.minimum
        outcome = the_plan.action.value if the_plan.action is not Act.BLOCKED else the_plan.reason
        _gauge(uid, new)
        return PassResult(new, sleep, outcome, events(the_plan, status, new.conditions))

    # ------------------------------------------------------------------ delete

    async def finalise(self, body: Mapping[str, Any]) -> PassResult:
        result = await self._finalise(body)
        metrics.RECONCILES.labels(trigger=Trigger.DELETE.value, outcome=result.outcome).inc()
        return result

    async def _finalise(self, body: Mapping[str, Any]) -> PassResult:
        meta = body.get("metadata") or {}
        raw = body.get("spec") or {}
        status = InferenceComponentStatus.parse(body.get("status") or {})
        now = self.clock()
        generation = int(meta.get("generation", 0))
        retry_token = (meta.get("annotations") or {}).get(RETRY_ANNOTATION)
        policy = str(raw.get("deletionPolicy", "Delete"))
        name = str(
            status.inference_component_name or raw.get("inferenceComponentName") or meta.get("name")
        )
        region = str(raw.get("region") or status.region or self.settings.region)
        endpoint = raw.get("endpointName")
        namespace = str(meta.get("namespace", ""))
        uid = str(meta.get("uid", ""))
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
        component: Mapping[str, Any] | None = None
        read = False
        sending: Plan | None = None

        def finish(the_plan: Plan, executed: Executed | None) -> PassResult:
            return self._deletion_result(
                the_plan,
                status=status,
                generation=generation,
                retry_token=retry_token,
                now=now,
                component=component,
                read=read,
                executed=executed,
                uid=uid,
            )

        try:
            component = await self.client.describe(name, region=region, purpose=Purpose.WRITE)
            read = True
            tags = None
            if (
                component is not None
                and component.get("InferenceComponentArn") != status.inference_component_arn
                and component.get("EndpointName") == endpoint
            ):
                tags = await self.client.list_tags(
                    component["InferenceComponentArn"], region=region, purpose=Purpose.WRITE
                )
            observed = Observed(component=component, tags=tags, now=now)
            the_plan = plan_delete(
                name,
                policy,
                observed,
                is_owned(uid, observed, status),
                self.poll,
                endpoint=endpoint if isinstance(endpoint, str) else None,
                write=status.last_write,
            )
            if the_plan.action is Act.RELEASE:
                return _released(the_plan.reason, the_plan.message)
            executed = None
            if the_plan.action is Act.DELETE:
                if raw.get("autoScaling") is not None or (
                    status.auto_scaling is not None and status.auto_scaling.registered
                ):
                    # Deregister before the component goes (Retain returned above: with
                    # it the target, policies and alarm all stay).
                    await autoscaling_sync.remove(self.client, name, region)
                    metrics.forget_copies(f"{namespace}/{meta.get('name')}")
                sending = the_plan
                executed = await execute(the_plan, self.client, region=region, component=component)
        except SageMakerError as err:
            if err.kind is ErrorKind.NOT_FOUND:
                return _released("Deleted", f"{name!r} is gone from SageMaker")
            the_plan = self._after_failure(
                err, uid=uid, desired=None, status=status, sending=sending, now=now
            )
            result = finish(the_plan, None)
            if the_plan.sent is None and the_plan.wake is Wake.BACKOFF:
                result.events.append(Event("Warning", "DeleteFailed", str(err)))
            return result
        return finish(the_plan, executed)

    def _deletion_result(
        self,
        the_plan: Plan,
        *,
        status: InferenceComponentStatus,
        generation: int,
        retry_token: str | None,
        now: float,
        component: Mapping[str, Any] | None,
        read: bool,
        executed: Executed | None,
        uid: str,
    ) -> PassResult:
        unknown = the_plan.sent is not None
        result = self._result(
            the_plan,
            status,
            generation,
            retry_token,
            now,
            uid=uid,
            component=component,
            read=read,
            executed=executed,
            write_outcome="Accepted" if executed is not None else ("Unknown" if unknown else None),
        )
        assert result.status is not None
        if executed is not None or (component or {}).get("InferenceComponentStatus") == "Deleting":
            result.status = result.status.model_copy(
                update={"inference_component_status": "Deleting"}
            )
        result.sleep = the_plan.delay if the_plan.delay is not None else self.poll.minimum
        # Deletion posts one event per Delete sent; waiting and retrying stay quiet.
        result.events = (
            [Event("Normal", "Deleting", the_plan.message)] if the_plan.action is Act.DELETE else []
        )
        result.outcome = "Delete" if the_plan.action is Act.DELETE else "DeleteRetry"
        if the_plan.action is Act.WAIT and not unknown:
            result.outcome = "Wait"
        return result


def _gauge(uid: str, status: InferenceComponentStatus) -> None:
    ready = next((c.status for c in status.conditions if c.type == "Ready"), "Unknown")
    metrics.COMPONENT_TABLE.set(uid, status.inference_component_status or "Unknown", ready)


def _tags_known(the_plan: Plan, observation: Observation, desired: Desired) -> str | None:
    """The desired tags' digest when this pass proved (or made) SageMaker hold them."""
    if the_plan.action in (Act.CREATE, Act.TAG) or (
        the_plan.action is Act.NOOP and observation.tags is not None
    ):
        return tags_digest(desired_tags(desired))
    return None


def _released(reason: str, message: str) -> PassResult:
    return PassResult(None, None, reason, [Event("Normal", reason, message)], released=True)
