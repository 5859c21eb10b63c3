"""The simulated autoscaler: load in, metrics out, alarms evaluated, policies applied.

The admin API sets the load on a component (`POST /_emulator/load`) and simulates requests
reaching it (`POST /_emulator/requests`). Every 10 service seconds the scaler

1. evaluates each CloudWatch alarm whose period ends, on the metrics the emulator emits for
   inference components in `AWS/SageMaker` (dimension `InferenceComponentName`):
   `InvocationsPerCopy` and `ConcurrentRequestsPerCopy` (the load spread over the running
   copies; no datapoint while there are none), `Invocations` and
   `NoCapacityInvocationFailures` (requests that found no copy, summed over the period);
2. invokes the scaling policies named in the actions of alarms in ALARM, at every
   evaluation while they stay there (doc: alarms keep invoking Auto Scaling actions while in
   ALARM);
3. applies registration bounds and due scheduled actions.

A scaling action goes through InferenceComponents.update_runtime_config, the handler behind
UpdateInferenceComponentRuntimeConfig, so the component goes Updating and back to InService
exactly as for a client's call; it is recorded as a scaling activity, not as a client call.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from typing import Any

from aiohttp import web

from .application_autoscaling import ApplicationAutoScaling
from .cloudwatch import AlarmRecord, CloudWatch
from .components import InferenceComponents
from .errors import ApiError
from .records import IN_SERVICE
from .scaling_records import DEFAULT_COOLDOWN, Policy, Target
from .state import EmulatorState
from .step_scaling import step_capacity

log = logging.getLogger(__name__)

TICK = 10.0
LOAD_METRICS = {
    "invocationsPerCopy": "InvocationsPerCopy",
    "concurrentRequestsPerCopy": "ConcurrentRequestsPerCopy",
}
EMITTED = ("InvocationsPerCopy", "ConcurrentRequestsPerCopy", "Invocations")
NO_CAPACITY = "NoCapacityInvocationFailures"


class Scaler:
    def __init__(
        self,
        world: EmulatorState,
        components: InferenceComponents,
        cloudwatch: CloudWatch,
        autoscaling: ApplicationAutoScaling,
    ) -> None:
        self.world = world
        self.components = components
        self.cloudwatch = cloudwatch
        self.autoscaling = autoscaling
        # per component: total demand per metric (the per-copy value times the copies)
        self.loads: dict[str, dict[str, float]] = {}
        # per component: (tick, count) of requests that found no copy
        self.failures: dict[str, deque[tuple[int, int]]] = {}
        self.ticks = 0
        self.task: asyncio.Task[None] | None = None
        autoscaling.wake = self.ensure_running
        world.reset_hooks.append(self._forget)

    def _forget(self) -> None:
        self.loads.clear()
        self.failures.clear()
        self.task = None

    def ensure_running(self) -> None:
        if self.task is None or self.task.done():
            self.task = self.world.spawn(self._run())

    async def _run(self) -> None:
        while True:
            await self.world.clock.sleep(TICK)
            self.ticks += 1
            try:
                self.step()
            except Exception:
                # a bug here must not silently stop every autoscaler in the world
                log.exception("autoscaler tick %d failed", self.ticks)

    def now(self) -> float:
        """Service seconds simulated so far: ticks, not wall time, so periods never drift."""
        return self.ticks * TICK

    # ---- admin inputs ------------------------------------------------------------------------
    def set_load(self, component: str, metric: str, total: float) -> None:
        self.loads.setdefault(component, {})[LOAD_METRICS[metric]] = total
        self.ensure_running()

    def requests(self, component: str, count: int) -> dict[str, int]:
        """Requests arriving now: served if a copy runs, else NoCapacityInvocationFailures."""
        ic = self.world.components[component]
        self.ensure_running()
        if ic.current > 0:
            return {"served": count, "failed": 0}
        self.failures.setdefault(component, deque()).append((self.ticks, count))
        return {"served": 0, "failed": count}

    # ---- metrics -------------------------------------------------------------------------------
    def metric(self, alarm: AlarmRecord) -> tuple[bool, float | None]:
        """(emitted by the emulator?, the datapoint for the period that just ended)."""
        d = alarm.definition
        name = d.get("MetricName")
        dims = alarm.dimensions()
        if d.get("Namespace") != "AWS/SageMaker" or set(dims) != {"InferenceComponentName"}:
            return False, None
        if name not in EMITTED and name != NO_CAPACITY:
            return False, None
        ic = self.world.components.get(dims["InferenceComponentName"])
        if ic is None:
            return True, None
        loads = self.loads.get(ic.name, {})
        if name == NO_CAPACITY:
            # requests that arrived since the tick that began this period
            events = self.failures.get(ic.name, deque())
            first = self.ticks - max(1, round(alarm.period / TICK))
            while events and events[0][0] < first - 360:
                events.popleft()
            failed = float(sum(n for tick, n in events if tick >= first))
            if ic.current == 0:
                # a standing load finds no copy either: invocations are per minute (inf)
                failed += loads.get("InvocationsPerCopy", 0.0) * alarm.period / 60
                failed += loads.get("ConcurrentRequestsPerCopy", 0.0)
            return True, failed
        if name == "Invocations":
            return True, loads.get("InvocationsPerCopy", 0.0)
        if ic.current == 0:
            return True, None
        return True, loads.get(name, 0.0) / ic.current

    # ---- the tick ----------------------------------------------------------------------------
    def step(self) -> None:
        elapsed = self.now()
        for alarm in list(self.cloudwatch.alarms.values()):
            period = alarm.period if alarm.period >= TICK else TICK
            if elapsed % period:
                continue
            ours, value = self.metric(alarm)
            if ours:
                self.cloudwatch.evaluate(alarm, value)
            else:
                self.cloudwatch.sync(alarm)
            if alarm.state == "ALARM" and alarm.actions_enabled:
                for arn in alarm.definition.get("AlarmActions") or []:
                    policy = self.autoscaling.policy_by_arn.get(arn)
                    if policy is not None:
                        self.invoke(policy, alarm)
        for target in list(self.autoscaling.targets.values()):
            if target.pending_bound is not None:
                self._apply_bounds(target, target.pending_bound)
        self._scheduled()

    def _ready(self, target: Target) -> Any:
        ic = self.world.components.get(target.component)
        if ic is None or ic.status != IN_SERVICE:
            return None
        return ic

    def invoke(self, policy: Policy, alarm: AlarmRecord) -> None:
        target = self.autoscaling.targets.get(policy.key)
        if target is None:
            return
        ic = self._ready(target)
        if ic is None:
            return  # Updating or gone: the alarm invokes the policy again next period (inf)
        current = ic.desired
        value = alarm.datapoints[-1] if alarm.datapoints else None
        now = self.now()
        if policy.target_tracking is not None:
            tt = policy.target_tracking
            if value is None:
                return
            desired = math.ceil(current * value / float(tt["TargetValue"]))
            high = alarm.definition.get("ComparisonOperator", "").startswith("Greater")
            if high:
                desired = max(desired, current + 1)
            elif desired >= current or tt.get("DisableScaleIn"):
                return
            out_cooldown = float(tt.get("ScaleOutCooldown", DEFAULT_COOLDOWN))
            in_cooldown = float(tt.get("ScaleInCooldown", DEFAULT_COOLDOWN))
        else:
            step = policy.step or {}
            threshold = float(alarm.definition.get("Threshold", 0.0))
            desired = step_capacity(step, current, value, threshold)
            out_cooldown = in_cooldown = float(step.get("Cooldown", DEFAULT_COOLDOWN))
        desired = min(max(desired, target.min), target.max)
        if desired == current:
            return
        suspended = target.suspended
        if desired > current:
            if suspended.get("DynamicScalingOutSuspended") or now < policy.last_out + out_cooldown:
                return
            policy.last_out = now
        else:
            if suspended.get("DynamicScalingInSuspended") or now < policy.last_in + in_cooldown:
                return
            policy.last_in = now
        self.scale(
            target,
            desired,
            f"monitor alarm {alarm.name} in state ALARM triggered policy {policy.name}",
        )

    def _apply_bounds(self, target: Target, cause: str) -> None:
        ic = self._ready(target)
        if ic is None:
            if target.component not in self.world.components:
                target.pending_bound = None
            return
        target.pending_bound = None
        desired = min(max(ic.desired, target.min), target.max)
        if desired != ic.desired:
            self.scale(target, desired, cause)

    def _scheduled(self) -> None:
        wall = self.world.clock.now()
        service = self.now()
        for action in list(self.autoscaling.scheduled.values()):
            target = self.autoscaling.targets.get(action.key)
            if target is None or target.suspended.get("ScheduledScalingSuspended"):
                continue
            if action.start is not None and wall < action.start:
                continue
            if action.end is not None and wall > action.end:
                continue
            if action.every is not None and action.due_service is None:
                action.due_service = service + action.every
            if action.due_wall is not None and wall >= action.due_wall:
                action.due_wall = None
            elif (
                action.due_service is not None
                and action.every is not None
                and service >= action.due_service
            ):
                action.due_service = service + action.every
            else:
                continue
            lo = action.action.get("MinCapacity", target.min)
            hi = action.action.get("MaxCapacity", target.max)
            target.min, target.max = int(lo), int(hi)
            done = self.autoscaling.record(
                target.key,
                f"Setting min capacity to {target.min} and max capacity to {target.max}",
                f"scheduled action name {action.name} was triggered",
            )
            done.status, done.end = "Successful", wall
            done.message = (
                f"Successfully set min capacity to {target.min} and max capacity to {target.max}"
            )
            self._apply_bounds(
                target,
                f"scheduled action name {action.name} set the capacity range to "
                f"[{target.min}, {target.max}]",
            )

    # ---- the scaling path --------------------------------------------------------------------
    def scale(self, target: Target, desired: int, cause: str) -> None:
        """Set DesiredCopyCount through the UpdateInferenceComponentRuntimeConfig handler."""
        activity = self.autoscaling.record(
            target.key, f"Setting desired copy count to {desired}.", cause
        )
        try:
            self.components.update_runtime_config(
                {
                    "InferenceComponentName": target.component,
                    "DesiredRuntimeConfig": {"CopyCount": desired},
                }
            )
        except ApiError as exc:
            activity.status = "Failed"
            activity.message = f"Failed to set desired copy count to {desired}. {exc.message}"
            activity.end = self.world.clock.now()
            return
        ic = self.world.components[target.component]
        task = ic.task
        self.world.spawn(self._finish(activity, ic, task, desired))

    async def _finish(self, activity: Any, ic: Any, task: Any, desired: int) -> None:
        if task is not None:
            await asyncio.wait([task])
        activity.end = self.world.clock.now()
        if ic.current == desired:
            activity.status = "Successful"
            activity.message = (
                f"Successfully set desired copy count to {desired}. Change successfully "
                "fulfilled by sagemaker."
            )
        else:
            activity.status = "Failed"
            activity.message = (
                f"Failed to set desired copy count to {desired}. {ic.failure_reason or ''}"
            ).strip()


# ---- admin API -------------------------------------------------------------------------------
SCALER_KEY = web.AppKey("scaler", Scaler)


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def post_load(request: web.Request) -> web.Response:
    """`{component, metric, value}` (per copy at today's copy count) or `{…, total}`."""
    scaler = request.app[SCALER_KEY]
    body = await _body(request)
    if body is None:
        return _bad("body must be a JSON object")
    component, metric = body.get("component"), body.get("metric")
    if metric not in LOAD_METRICS:
        return _bad(f"metric must be one of {sorted(LOAD_METRICS)}")
    ic = scaler.world.components.get(component) if isinstance(component, str) else None
    if ic is None:
        return _bad("no such inference component", 404)
    value, total = body.get("value"), body.get("total")
    if (value is None) == (total is None):
        return _bad("give exactly one of value (per copy) and total")
    number = value if value is not None else total
    if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
        return _bad("value/total must be a non-negative number")
    demand = float(number) * max(ic.current, 1) if value is not None else float(number)
    scaler.set_load(ic.name, metric, demand)
    return web.json_response({"component": ic.name, "metric": metric, "total": demand})


async def get_state(request: web.Request) -> web.Response:
    """How many ticks ran (tests wait on these rather than on time) and the loads."""
    scaler = request.app[SCALER_KEY]
    return web.json_response({"ticks": scaler.ticks, "loads": scaler.loads})


async def post_requests(request: web.Request) -> web.Response:
    """`{component, count}`: requests arriving now (at zero copies they fail)."""
    scaler = request.app[SCALER_KEY]
    body = await _body(request)
    if body is None:
        return _bad("body must be a JSON object")
    component, count = body.get("component"), body.get("count", 1)
    if not isinstance(component, str) or component not in scaler.world.components:
        return _bad("no such inference component", 404)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        return _bad("count must be a positive integer")
    return web.json_response(scaler.requests(component, count))


def add_routes(app: web.Application, scaler: Scaler) -> None:
    app[SCALER_KEY] = scaler
    app.router.add_post("/_emulator/load", post_load)
    app.router.add_get("/_emulator/autoscaler", get_state)
    app.router.add_post("/_emulator/requests", post_requests)
