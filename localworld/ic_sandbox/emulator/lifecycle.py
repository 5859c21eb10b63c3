"""The background tasks that move resources through their states on the scalable clock.

A rolling update provisions new copies one batch at a time, bakes each batch for
WaitIntervalInSeconds while watching the named alarms, then retires as many old copies.
An alarm, a failing image or MaximumExecutionTimeoutInSeconds turns it into a rollback,
RollbackMaximumBatchSize copies at a time (all at once by default), which ends InService
with the old specification and a FailureReason (reference §2). Without a DeploymentConfig
the same machinery runs blue/green: one batch of every new copy, no bake, no alarms.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .capacity import Demand
from .records import (
    FAILED,
    IN_SERVICE,
    ComponentRecord,
    EndpointRecord,
)
from .state import EmulatorState, copies, merge


def batch_copies(size: dict[str, Any] | None, total: int) -> int:
    """Copies per batch: COPY_COUNT as given, CAPACITY_PERCENT rounded down, at least 1."""
    if size is None:
        return max(total, 1)
    value = int(size["Value"])
    if size["Type"] == "COPY_COUNT":
        return max(1, value)
    return max(1, math.floor(total * value / 100))


@dataclass
class Deployment:
    """What an accepted UpdateInferenceComponent asked for, frozen at acceptance."""

    old_specification: dict[str, Any] | None
    old_specifications: list[dict[str, Any]] | None
    old_image: dict[str, Any] | None
    old_demand: Demand | None
    old_count: int
    new_specification: dict[str, Any] | None
    new_specifications: list[dict[str, Any]] | None
    new_image: dict[str, Any] | None
    new_demand: Demand | None
    new_count: int
    batch: int
    rollback_batch: int
    wait_interval: float
    alarms: list[str]
    timeout: float | None
    deployment_config: dict[str, Any] | None
    image: str | None

    def peak(self) -> list[Counter[Demand]]:
        """Every (old, new) mix the forward plan passes through, for the capacity check."""
        mixes: list[Counter[Demand]] = []
        old_left, new_up = self.old_count, 0
        mixes.append(copies(self.old_demand, old_left))
        while new_up < self.new_count:
            k = min(self.batch, self.new_count - new_up)
            new_up += k
            mixes.append(merge(copies(self.old_demand, old_left), copies(self.new_demand, new_up)))
            old_left -= min(k, old_left)
        return mixes


def _touch(world: EmulatorState, ic: ComponentRecord) -> None:
    ic.record(world.clock.now())


async def create_endpoint(world: EmulatorState, endpoint: EndpointRecord) -> None:
    await world.clock.sleep(world.durations.endpoint_create)
    endpoint.status = IN_SERVICE
    endpoint.modified = world.clock.now()


async def update_endpoint(
    world: EmulatorState, endpoint: EndpointRecord, config: str, counts: dict[str, int]
) -> None:
    """Updating -> InService with the new configuration's instance counts (components keep
    serving throughout: doc, "there is no availability loss")."""
    await world.clock.sleep(world.durations.endpoint_update)
    endpoint.config_name = config
    for name, count in counts.items():
        endpoint.variants[name].instance_count = count
    endpoint.status = IN_SERVICE
    endpoint.modified = world.clock.now()


async def delete_endpoint(world: EmulatorState, endpoint: EndpointRecord) -> None:
    await world.clock.sleep(world.durations.endpoint_delete)
    world.endpoints.pop(endpoint.name, None)
    world.by_arn.pop(endpoint.arn, None)


async def create_component(world: EmulatorState, ic: ComponentRecord) -> None:
    await world.clock.sleep(world.durations.component_create)
    image = ic.image()
    if image is not None and image in world.faults.failing_images:
        ic.status, ic.state = FAILED, "FAILED"
        ic.failure_reason = (
            f"Container for inference component {ic.name} failed to pass the health check "
            f"with image {image}."
        )
        world.reserve(ic, Counter())
    else:
        ic.status, ic.state = IN_SERVICE, "IN_SERVICE"
        ic.current = ic.desired
    _touch(world, ic)


async def delete_component(world: EmulatorState, ic: ComponentRecord) -> None:
    await world.clock.sleep(world.durations.component_delete)
    world.reserve(ic, Counter())
    world.components.pop(ic.name, None)
    world.by_arn.pop(ic.arn, None)
    endpoint = world.endpoints.get(ic.endpoint_name)
    if endpoint is not None:
        endpoint.components.discard(ic.name)
    if ic.base is not None and ic.base in world.components:
        world.components[ic.base].adapters.discard(ic.name)


async def change_copies(world: EmulatorState, ic: ComponentRecord, target: int) -> None:
    """Move CurrentCopyCount to `target` in one step (UpdateRuntimeConfig, copy-only updates)."""
    if target > ic.current:
        await world.clock.sleep(world.durations.batch_provision)
        image = ic.image()
        if image is not None and image in world.faults.failing_images:
            ic.failure_reason = (
                f"Failed to scale inference component {ic.name} to {target} copies: new copies "
                f"failed the health check with image {image}."
            )
            ic.desired = ic.current
            world.reserve(ic, copies(ic.demand, ic.current))
            ic.status, ic.state = IN_SERVICE, "IN_SERVICE"
            _touch(world, ic)
            return
    elif target < ic.current:
        await world.clock.sleep(world.durations.copy_terminate)
    ic.current = target
    world.reserve(ic, copies(ic.demand, target))
    ic.status, ic.state = IN_SERVICE, "IN_SERVICE"
    _touch(world, ic)


async def deploy(world: EmulatorState, ic: ComponentRecord, plan: Deployment) -> None:
    """Roll the new specification out batch by batch, or roll back."""
    loop = asyncio.get_running_loop()
    deadline = None if plan.timeout is None else loop.time() + world.clock.real(plan.timeout)
    old_left, new_up = plan.old_count, 0

    def show() -> None:
        ic.current = old_left + new_up
        _touch(world, ic)

    reason: str | None = None
    while new_up < plan.new_count and reason is None:
        k = min(plan.batch, plan.new_count - new_up)
        stop = await world.wait(world.durations.batch_provision, plan.alarms, deadline)
        if stop is not None:
            reason = stop
            break
        if plan.image is not None and plan.image in world.faults.failing_images:
            reason = f"image:{plan.image}"
            break
        new_up += k
        show()
        if plan.wait_interval > 0 or plan.alarms:
            stop = await world.wait(plan.wait_interval, plan.alarms, deadline)
            if stop is not None:
                reason = stop
                break
        retire = min(k, old_left)
        if retire:
            await world.clock.sleep(world.durations.copy_terminate)
            old_left -= retire
            show()
    if reason is None and old_left > 0:
        await world.clock.sleep(world.durations.copy_terminate)
        old_left = 0
        show()
    if reason is None:
        ic.specification = plan.new_specification
        ic.specifications = plan.new_specifications
        ic.resolved_image = plan.new_image
        ic.demand = plan.new_demand
        ic.desired = ic.current = plan.new_count
        if plan.deployment_config is not None:
            ic.last_deployment_config = plan.deployment_config
        world.reserve(ic, copies(plan.new_demand, plan.new_count))
        ic.status, ic.state = IN_SERVICE, "IN_SERVICE"
        _touch(world, ic)
        return
    await _roll_back(world, ic, plan=plan, old_left=old_left, new_up=new_up, reason=reason)


def _failure_reason(ic: ComponentRecord, reason: str) -> str:
    if reason.startswith("alarm:"):
        alarm = reason.split(":", 1)[1]
        return (
            f"Update for inference component {ic.name} was rolled back because CloudWatch "
            f"alarm {alarm} entered the ALARM state."
        )
    if reason.startswith("image:"):
        image = reason.split(":", 1)[1]
        return (
            f"Update for inference component {ic.name} was rolled back because new copies "
            f"with image {image} failed the health check."
        )
    return (
        f"Update for inference component {ic.name} was rolled back because it exceeded "
        "MaximumExecutionTimeoutInSeconds."
    )


async def _roll_back(
    world: EmulatorState,
    ic: ComponentRecord,
    *,
    plan: Deployment,
    old_left: int,
    new_up: int,
    reason: str,
) -> None:
    def show() -> None:
        ic.current = old_left + new_up
        _touch(world, ic)

    restore = plan.old_count - old_left
    while restore > 0 or new_up > 0:
        k = min(plan.rollback_batch, restore)
        if k:
            await world.clock.sleep(world.durations.batch_provision)
            old_left += k
            restore -= k
            show()
        drop = min(plan.rollback_batch, new_up)
        if drop:
            await world.clock.sleep(world.durations.copy_terminate)
            new_up -= drop
            show()
    ic.desired = ic.current = plan.old_count
    ic.failure_reason = _failure_reason(ic, reason)
    if plan.deployment_config is not None:
        ic.last_deployment_config = plan.deployment_config
    world.reserve(ic, copies(plan.old_demand, plan.old_count))
    ic.status, ic.state = IN_SERVICE, "IN_SERVICE"
    _touch(world, ic)
