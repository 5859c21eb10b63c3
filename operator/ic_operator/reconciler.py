"""Observe -> plan -> execute -> status, for one InferenceComponent resource.

Knows nothing of kopf: it takes the object as a mapping and returns a
:class:`Result` (the status to write, the events to post, when to look again).
That keeps the kopf layer to a few lines and lets the same code serve the
change handlers, the resync timer and the finaliser.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic

from ic_operator import conditions, metrics
from ic_operator.config import Settings
from ic_operator.diffing import spec_hash
from ic_operator.models import (
    InferenceComponentSpec,
    InferenceComponentStatus,
    LastDeployment,
    validation_message,
)
from ic_operator.planner import (
    RETRY_ANNOTATION,
    TRANSITIONS,
    Act,
    Desired,
    Observed,
    Plan,
    PollPolicy,
    desired_tags,
    epoch,
    is_owned,
    iso,
    plan,
    plan_delete,
)
from ic_operator.sagemaker import ErrorKind, SageMakerClient, SageMakerError
from ic_operator.sweep import EndpointSweep

log = logging.getLogger("ic_operator.reconciler")


@dataclass
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass
class Result:
    status: dict[str, Any]  # camelCase status to merge-patch
    # Look again after this many seconds; None: at the next resync.
    delay: float | None = None
    # True: the change handler itself looks again after `delay` (kopf re-invokes it; used
    # for SageMaker transitions, bounded by --poll-max). False: the resync timer does, so
    # that a new edit is handled at once instead of waiting out a long backoff.
    poll: bool = True
    events: list[Event] = field(default_factory=list)
    released: bool = False  # finaliser: deletion is complete from the operator's side
    outcome: str = ""  # for metrics and logs


# Failures that resolve themselves in time: (action, reason, first delay, longest delay).
# Throttling and 5xx are routine (not Degraded); capacity and IAM need a human to look.
_BACKOFF: dict[ErrorKind, tuple[Act, str, float, float]] = {
    ErrorKind.RETRYABLE: (Act.WAIT, "Retrying", 2, 120),
    ErrorKind.CAPACITY: (Act.BLOCKED, "InsufficientCapacity", 30, 600),
    ErrorKind.ACCESS_DENIED: (Act.BLOCKED, "AccessDenied", 60, 900),
}


@dataclass(frozen=True)
class Seen:
    generation: int
    retry_token: str | None
    arn: str
    settled: bool  # in sync or blocked: only a LastModifiedTime change warrants a Describe
    state: str | None
    modified: float | None
    acted_at: float  # monotonic time of this process's last write to the component


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch that turns ``old`` into ``new``.

    Keys of ``old`` missing from ``new`` become null, so a cleared field (an old
    failureReason, say) really disappears instead of lingering in the object.
    """
    patch: dict[str, Any] = dict(new)
    for key, value in old.items():
        if key not in new:
            patch[key] = None
        elif isinstance(value, Mapping) and isinstance(new[key], Mapping):
            patch[key] = merge_patch(value, new[key])
    return patch


def key_union(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Both documents' keys, nested; values from ``b`` (only the shape matters here)."""
    out: dict[str, Any] = {**a, **b}
    for key in a.keys() & b.keys():
        if isinstance(a[key], Mapping) and isinstance(b[key], Mapping):
            out[key] = key_union(a[key], b[key])
    return out


def tags_digest(tags: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(tags.items())).encode()).hexdigest()[:16]


class Reconciler:
    def __init__(
        self,
        client: SageMakerClient,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.settings = settings
        self.poll = PollPolicy(settings.poll_min, settings.poll_max)
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._errors: dict[str, int] = {}  # consecutive failed passes per UID, for backoff
        # The status this process last wrote, per UID. kopf applies a handler's patch only
        # after the handler returns, so a timer pass queued behind a change handler would
        # otherwise start from a stale body and overwrite a deployment record just made.
        self._written: dict[str, dict[str, Any]] = {}
        # When the resync timer should next do any work for a UID (monotonic): after the
        # resync interval, or when a backoff ends. A spec or annotation change (trigger
        # "change") does not wait for it.
        self._due: dict[str, float] = {}
        # What the last full pass established, so the next pass can ask the shared
        # endpoint listing instead of describing the component (drift mode "sweep").
        self._seen: dict[str, Seen] = {}
        self.sweep = EndpointSweep(client)

    def lock(self, uid: str) -> asyncio.Lock:
        """One pass at a time per object: change handlers and the timer share it."""
        return self._locks.setdefault(uid, asyncio.Lock())

    def forget(self, uid: str) -> None:
        self._locks.pop(uid, None)
        self._errors.pop(uid, None)
        self._written.pop(uid, None)
        self._due.pop(uid, None)
        self._seen.pop(uid, None)
        metrics.COMPONENT_TABLE.forget(uid)

    def backoff(self, uid: str, base: float, cap: float) -> float:
        """Exponential and jittered; the resync timer honours it (see ``reconcile``)."""
        n = self._errors.get(uid, 0)
        self._errors[uid] = n + 1
        return min(cap, base * 2.0**n) * random.uniform(0.8, 1.2)

    # ------------------------------------------------------------------ converge

    async def reconcile(self, body: Mapping[str, Any], *, trigger: str) -> Result:
        meta = body.get("metadata", {})
        uid = str(meta.get("uid", ""))
        started = time.monotonic()
        if trigger == "timer" and time.monotonic() < self._due.get(uid, 0.0):
            metrics.RECONCILES.labels(trigger=trigger, outcome="NotDue").inc()
            return Result(status={}, outcome="NotDue")
        async with self.lock(uid):
            stored = dict(body.get("status") or {})
            base = self._written.get(uid, stored)
            result = await self._reconcile(body, base, trigger)
            # kopf applies each handler's patch after the handler returns, from different
            # tasks, so an older patch of ours can land after a newer one. A pass that
            # changes nothing (including the sweep's quick "Unchanged") therefore still
            # writes when the stored status is not what this process last wrote; without
            # this, a component stays "Creating" in Kubernetes forever (found by bench/).
            new = result.status or (base if uid in self._written else {})
            if not new or (new == base and stored == base):
                result.status = {}  # nothing changed: no PATCH, no watch event, no churn
            else:
                self._written[uid] = new
                result.status = merge_patch(key_union(stored, base), new)
            pause = self.settings.resync_interval
            if result.delay is not None and not result.poll:
                pause = result.delay
            self._due[uid] = time.monotonic() + pause
        metrics.RECONCILES.labels(trigger=trigger, outcome=result.outcome).inc()
        metrics.RECONCILE_SECONDS.labels(outcome=result.outcome).observe(time.monotonic() - started)
        return result

    async def _reconcile(
        self, body: Mapping[str, Any], base: Mapping[str, Any], trigger: str
    ) -> Result:
        meta = body.get("metadata", {})
        uid = str(meta.get("uid", ""))
        generation = int(meta.get("generation", 0))
        status = InferenceComponentStatus.parse(base)
        now = self.clock()

        try:
            spec = InferenceComponentSpec.parse(body.get("spec") or {})
        except pydantic.ValidationError as err:
            blocked = Plan(Act.BLOCKED, "InvalidSpec", validation_message(err), degraded=True)
            return self._finish(
                blocked, status, delay=None, generation=generation, now=now, uid=uid
            )

        name = spec.component_name(str(meta.get("name")))
        problems = spec.component_name_problems(str(meta.get("name")))
        if problems:
            blocked = Plan(Act.BLOCKED, "InvalidSpec", "; ".join(problems), degraded=True)
            return self._finish(
                blocked, status, delay=None, generation=generation, now=now, uid=uid
            )
        namespace = str(meta.get("namespace", ""))
        region = spec.region or self.settings.region
        if not self.settings.endpoint_policy.permits(namespace, spec.endpoint_name):
            blocked = Plan(
                Act.BLOCKED,
                "NotPermitted",
                f"namespace {namespace!r} may not target endpoint {spec.endpoint_name!r} "
                "(operator endpoint policy)",
                degraded=True,
            )
            return self._finish(
                blocked, status, delay=None, generation=generation, now=now, uid=uid
            )

        desired = Desired(
            name=name,
            uid=uid,
            resource=f"{namespace}/{meta.get('name')}",
            generation=generation,
            retry_token=(meta.get("annotations") or {}).get(RETRY_ANNOTATION),
            spec=spec,
        )
        status = status.model_copy(update={"inference_component_name": name, "region": region})
        try:
            quick = await self._quick_check(desired, region, trigger, now)
            if quick is not None:
                return quick
            seen = self._seen.get(desired.uid)
            fresh = seen is None or (seen.generation, seen.retry_token) != (
                desired.generation,
                desired.retry_token,
            )
            # The first look after a spec change goes ahead of routine polls and resyncs.
            urgent = trigger == "change" and fresh
            observed = await self._observe(desired, status, region, now, urgent=urgent)
            the_plan = plan(
                desired,
                observed,
                status,
                self.poll,
                normalise=self.settings.drift_mode != "naive",
            )
            return await self._execute(
                the_plan, desired, observed, status=status, region=region, now=now
            )
        except SageMakerError as err:
            return self._failed_call(err, desired, status, now)

    async def _quick_check(
        self, desired: Desired, region: str, trigger: str, now: float
    ) -> Result | None:
        """Answer from the shared endpoint listing when it proves nothing needs a closer look.

        In sync (or blocked) and LastModifiedTime unchanged: nothing to do. Still
        transitioning and LastModifiedTime unchanged: keep waiting. Anything else, or any
        doubt: None, and the caller does a full Describe.
        """
        seen = self._seen.get(desired.uid)
        if (
            self.settings.drift_mode != "sweep"
            or seen is None
            or seen.generation != desired.generation
            or seen.retry_token != desired.retry_token
            or (seen.settled and trigger != "timer")
        ):
            return None
        if seen.settled:
            max_age = self.settings.resync_interval * 0.9
        else:
            max_age = min(self.poll.minimum, max(0.0, time.monotonic() - seen.acted_at))
        summary = await self.sweep.summary(
            region=region, endpoint=desired.spec.endpoint_name, name=desired.name, max_age=max_age
        )
        if summary is None or summary.get("InferenceComponentArn") != seen.arn:
            return None
        state = summary.get("InferenceComponentStatus")
        modified = epoch(summary.get("LastModifiedTime"))
        if seen.settled and state == seen.state and modified == seen.modified:
            return Result(status={}, outcome="Unchanged")
        # Still transitioning and nothing moved since the last Describe: keep waiting.
        # SageMaker bumps LastModifiedTime as each batch lands, so status.copies still
        # follows a rolling update batch by batch, at one Describe per batch, not per poll.
        if not seen.settled and state in TRANSITIONS and modified == seen.modified:
            return Result(status={}, delay=self.poll.for_transition(summary, now), outcome="Wait")
        return None

    def _remember(
        self, desired: Desired, the_plan: Plan, component: Mapping[str, Any] | None, wrote: bool
    ) -> None:
        arn = component.get("InferenceComponentArn") if component else None
        if arn is None or the_plan.action in (Act.TAG, Act.DELETE, Act.RELEASE):
            self._seen.pop(desired.uid, None)
            return
        previous = self._seen.get(desired.uid)
        self._seen[desired.uid] = Seen(
            generation=desired.generation,
            retry_token=desired.retry_token,
            arn=str(arn),
            settled=the_plan.action in (Act.NOOP, Act.BLOCKED),
            state=component.get("InferenceComponentStatus") if component else None,
            modified=epoch(component.get("LastModifiedTime")) if component else None,
            acted_at=time.monotonic() if wrote else (previous.acted_at if previous else 0.0),
        )

    async def _observe(
        self,
        desired: Desired,
        status: InferenceComponentStatus,
        region: str,
        now: float,
        *,
        urgent: bool = False,
    ) -> Observed:
        component = await self.client.describe(desired.name, region=region, urgent=urgent)
        tags = None
        if component is not None and component.get("EndpointName") in (
            None,
            desired.spec.endpoint_name,
        ):
            arn = component["InferenceComponentArn"]
            unknown_owner = status.inference_component_arn != arn
            stale_tags = status.tags_hash != tags_digest(desired_tags(desired))
            if unknown_owner or stale_tags:
                tags = await self.client.list_tags(arn, region=region, urgent=urgent)
        return Observed(component=component, tags=tags, now=now)

    async def _execute(
        self,
        the_plan: Plan,
        desired: Desired,
        observed: Observed,
        *,
        status: InferenceComponentStatus,
        region: str,
        now: float,
    ) -> Result:
        component = observed.component
        arn = component.get("InferenceComponentArn") if component else None
        sm_state = component.get("InferenceComponentStatus") if component else "NotFound"
        delay = the_plan.delay
        tags_hash = status.tags_hash
        act = the_plan.action

        if act is Act.CREATE:
            assert the_plan.request is not None
            response = await self.client.call(
                "CreateInferenceComponent", the_plan.request, region=region
            )
            arn, sm_state, delay = response["InferenceComponentArn"], "Creating", self.poll.minimum
            tags_hash = tags_digest(desired_tags(desired))
        elif act in (Act.UPDATE, Act.SCALE, Act.DELETE):
            assert the_plan.request is not None
            operation = {
                Act.UPDATE: "UpdateInferenceComponent",
                Act.SCALE: "UpdateInferenceComponentRuntimeConfig",
                Act.DELETE: "DeleteInferenceComponent",
            }[act]
            await self.client.call(operation, the_plan.request, region=region)
            sm_state = "Deleting" if act is Act.DELETE else "Updating"
            delay = self.poll.minimum
        elif act is Act.TAG:
            assert arn is not None
            if the_plan.tags_add:
                tag_list = [{"Key": k, "Value": v} for k, v in sorted(the_plan.tags_add.items())]
                await self.client.call(
                    "AddTags", {"ResourceArn": arn, "Tags": tag_list}, region=region
                )
            if the_plan.tags_remove:
                await self.client.call(
                    "DeleteTags",
                    {"ResourceArn": arn, "TagKeys": list(the_plan.tags_remove)},
                    region=region,
                )
            tags_hash = tags_digest(desired_tags(desired))
        elif act is Act.NOOP and observed.tags is not None:
            tags_hash = tags_digest(desired_tags(desired))

        update: dict[str, Any] = {
            "inference_component_status": sm_state,
            "tags_hash": tags_hash,
        }
        if the_plan.owned and arn:
            update["inference_component_arn"] = arn
        if act is Act.CREATE:
            self._seen.pop(desired.uid, None)
        elif the_plan.owned:
            self._remember(desired, the_plan, component, wrote=act in (Act.UPDATE, Act.SCALE))
        # What SageMaker no longer reports is cleared, not left stale next to NotFound.
        update.update(_observed_fields(component or {}))
        self._errors.pop(desired.uid, None)
        return self._finish(
            the_plan,
            status.model_copy(update=update),
            delay=delay,
            generation=desired.generation,
            now=now,
            uid=desired.uid,
            previous=status,
        )

    def _failed_call(
        self, err: SageMakerError, desired: Desired, status: InferenceComponentStatus, now: float
    ) -> Result:
        """One place decides what each kind of SageMaker failure means for the resource."""
        uid = desired.uid
        if err.kind is ErrorKind.NOT_FOUND and err.operation == "CreateInferenceComponent":
            # The endpoint (or base component) is not there yet: GitOps tools often apply
            # the component before the endpoint exists, so wait for it, slowly.
            the_plan = Plan(
                Act.BLOCKED,
                "EndpointNotFound",
                f"{err.message} The operator retries with backoff; set the annotation "
                f"{RETRY_ANNOTATION} to retry at once.",
                degraded=True,
                delay=self.backoff(uid, 30, 600),
            )
        elif err.kind is ErrorKind.BUSY and err.operation == "CreateInferenceComponent":
            # The endpoint exists but cannot host yet (still Creating or Updating):
            # endpoints take minutes, so back off rather than ask at every poll.
            the_plan = Plan(
                Act.WAIT,
                "EndpointNotReady",
                f"SageMaker cannot create yet: {err.message}",
                delay=self.backoff(uid, 10, 120),
            )
        elif err.kind in (ErrorKind.BUSY, ErrorKind.NOT_FOUND, ErrorKind.ALREADY_EXISTS):
            # A transition started or ended under us: look again soon.
            the_plan = Plan(
                Act.WAIT, "Waiting", f"SageMaker is busy: {err.message}", delay=self.poll.minimum
            )
        elif err.kind in _BACKOFF:
            action, reason, base, cap = _BACKOFF[err.kind]
            the_plan = Plan(
                action,
                reason,
                str(err),
                degraded=action is Act.BLOCKED,
                delay=self.backoff(uid, base, cap),
            )
        elif err.kind is ErrorKind.INVALID and err.operation in (
            "CreateInferenceComponent",
            "UpdateInferenceComponent",
            "UpdateInferenceComponentRuntimeConfig",
        ):
            # SageMaker rejected this spec: record it so the same spec is not sent again.
            spec_hash_now = _spec_digest(desired)
            failed = LastDeployment(
                generation=desired.generation,
                spec_hash=spec_hash_now,
                deployment_config=desired.spec.deployment_config,
                started_at=iso(now),
                finished_at=iso(now),
                outcome="Failed",
                failure_reason=f"SageMaker rejected the request: {err.message}",
                retry_token=desired.retry_token,
                previous_failure_reason=status.failure_reason,
            )
            scaling = err.operation == "UpdateInferenceComponentRuntimeConfig"
            the_plan = Plan(
                Act.BLOCKED,
                "InvalidSpec",
                f"SageMaker rejected {err.operation}: {err.message}",
                degraded=True,
                # A rejected copy count is not a deployment: keep the record, back off.
                deployment=status.last_deployment if scaling else failed,
                delay=self.backoff(uid, 60, 3600) if scaling else None,
            )
        else:
            the_plan = Plan(
                Act.BLOCKED, "AWSError", str(err), degraded=True, delay=self.backoff(uid, 30, 600)
            )
        result = self._finish(
            the_plan,
            status,
            delay=the_plan.delay,
            generation=desired.generation,
            now=now,
            uid=uid,
            previous=status,
        )
        # Only a component that is busy right now is polled by the change handler;
        # every backoff is paced by the timer so that an edit is never stuck behind it.
        result.poll = the_plan.reason == "Waiting"
        return result

    def _finish(
        self,
        the_plan: Plan,
        status: InferenceComponentStatus,
        *,
        delay: float | None,
        generation: int,
        now: float,
        uid: str,
        previous: InferenceComponentStatus | None = None,
    ) -> Result:
        previous = previous or status
        stamp = iso(now)
        conds = conditions.merge(
            previous.conditions, conditions.derive(the_plan), generation=generation, now=stamp
        )
        deployment = the_plan.deployment or status.last_deployment
        new_status = status.model_copy(
            update={
                "observed_generation": generation,
                "conditions": conds,
                "last_deployment": deployment,
                "copies": _copies(status),
            }
        )
        events = _events(the_plan, previous, conds)
        ready = next((c.status for c in conds if c.type == "Ready"), "Unknown")
        metrics.COMPONENT_TABLE.set(uid, new_status.inference_component_status or "Unknown", ready)
        return Result(
            status=new_status.to_k8s(),
            delay=delay,
            events=events,
            outcome=the_plan.action.value
            if the_plan.action is not Act.BLOCKED
            else the_plan.reason,
        )

    # ------------------------------------------------------------------ delete

    async def finalize(self, body: Mapping[str, Any]) -> Result:
        meta = body.get("metadata", {})
        uid = str(meta.get("uid", ""))
        async with self.lock(uid):
            result = await self._finalize(body)
        metrics.RECONCILES.labels(trigger="delete", outcome=result.outcome).inc()
        if result.released:
            self.forget(uid)
        return result

    async def _finalize(self, body: Mapping[str, Any]) -> Result:
        meta = body.get("metadata", {})
        raw = body.get("spec") or {}
        status = InferenceComponentStatus.parse(body.get("status") or {})
        now = self.clock()
        policy = str(raw.get("deletionPolicy", "Delete"))
        name = str(
            status.inference_component_name or raw.get("inferenceComponentName") or meta.get("name")
        )
        region = str(raw.get("region") or status.region or self.settings.region)
        endpoint = raw.get("endpointName")
        namespace = str(meta.get("namespace", ""))
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
        uid = str(meta.get("uid", ""))
        try:
            component = await self.client.describe(name, region=region)
            tags = None
            if (
                component is not None
                and component.get("InferenceComponentArn") != status.inference_component_arn
                and component.get("EndpointName") == endpoint
            ):
                tags = await self.client.list_tags(
                    component["InferenceComponentArn"], region=region
                )
            observed = Observed(component=component, tags=tags, now=now)
            owned = is_owned(uid, observed, status)
            the_plan = plan_delete(
                name,
                policy,
                observed,
                owned,
                self.poll,
                endpoint=endpoint if isinstance(endpoint, str) else None,
            )
            if the_plan.action is Act.DELETE:
                assert the_plan.request is not None
                await self.client.call("DeleteInferenceComponent", the_plan.request, region=region)
                return Result(
                    status={"inferenceComponentStatus": "Deleting"},
                    delay=self.poll.minimum,
                    outcome="Delete",
                    events=[Event("Normal", "Deleting", the_plan.message)],
                )
        except SageMakerError as err:
            if err.kind is ErrorKind.NOT_FOUND:
                return Result(status={}, released=True, outcome="Deleted")
            delay = self.poll.minimum if err.kind is ErrorKind.BUSY else self.backoff(uid, 5, 300)
            return Result(
                status={},
                delay=delay,
                outcome="DeleteRetry",
                events=[Event("Warning", "DeleteFailed", str(err))],
            )
        if the_plan.action is Act.WAIT:
            return Result(
                status={"inferenceComponentStatus": "Deleting"},
                delay=the_plan.delay,
                outcome="Wait",
            )
        return _released(the_plan.reason, the_plan.message)


def _spec_digest(desired: Desired) -> str:
    return spec_hash(desired.spec.aws_specification())


def _released(reason: str, message: str) -> Result:
    return Result(
        status={}, released=True, outcome=reason, events=[Event("Normal", reason, message)]
    )


def _observed_fields(component: Mapping[str, Any]) -> dict[str, Any]:
    runtime = component.get("RuntimeConfig") or {}
    spec = component.get("Specification") or {}
    deployed = (spec.get("Container") or {}).get("DeployedImage") or {}
    return {
        "endpoint_arn": component.get("EndpointArn"),
        "failure_reason": component.get("FailureReason"),
        "desired_copy_count": runtime.get("DesiredCopyCount"),
        "current_copy_count": runtime.get("CurrentCopyCount"),
        "resolved_image": deployed.get("ResolvedImage"),
    }


def _copies(status: InferenceComponentStatus) -> str | None:
    if status.desired_copy_count is None:
        return None
    return f"{status.current_copy_count or 0}/{status.desired_copy_count}"


def _events(the_plan: Plan, previous: InferenceComponentStatus, conds: list[Any]) -> list[Event]:
    """Events for actions taken and for outcomes newly known; nothing for a quiet pass."""
    events: list[Event] = []
    judged = the_plan.judged
    if judged is not None and judged.outcome == "Succeeded":
        events.append(Event("Normal", "Deployed", f"generation {judged.generation} is InService"))
    elif judged is not None:
        events.append(Event("Warning", judged.outcome, judged.failure_reason or judged.outcome))
    action_events = {
        Act.CREATE: "Creating",
        Act.UPDATE: "Updating",
        Act.SCALE: "Scaling",
        Act.TAG: "Tagging",
        Act.DELETE: the_plan.reason,
    }
    if the_plan.action in action_events:
        events.append(Event("Normal", action_events[the_plan.action], the_plan.message))
    elif (
        the_plan.degraded
        and not any(e.type == "Warning" for e in events)  # the judged outcome said it already
        and conditions.changed(previous.conditions, conds, "Degraded")
    ):
        events.append(Event("Warning", the_plan.reason, the_plan.message))
    return events
