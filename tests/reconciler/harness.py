"""The reconciler suite's world: the real loop, planner and status building, with
in-memory SageMaker and Kubernetes and a clock that moves only when told to."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Any

from ic_operator.autoscaling.sweep import AutoScalingSweep
from ic_operator.config import Settings
from ic_operator.loop.object_loop import ObjectLoop
from ic_operator.reconcile.endpoint_ref import AckEndpoints
from ic_operator.reconcile.passes import Reconciler
from ic_operator.reconcile.sweep import EndpointSweep
from ic_operator.reconcile.types import DEFAULT, PassResult, Strategy, Trigger
from tests.reconciler.fake import Clock, FakeKube, FakeSageMaker

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-cpu-full"
UID = "6f1c1c55-9a43-4b8e-8d0e-5e0f6f4c7a10"
ROLLING = {
    "rollingUpdatePolicy": {
        "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
        "waitIntervalInSeconds": 60,
    },
    "autoRollbackConfiguration": {"alarms": [{"alarmName": "llm-5xx"}]},
}
SETTINGS = Settings(resync_interval=300, poll_min=5, poll_max=60, confirm_window=60)


def image(tag: str) -> str:
    return IMAGE.rsplit(":", 1)[0] + ":" + tag


def manifest(**spec_over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "endpointName": "llm-endpoint",
        "variantName": "AllTraffic",
        "specification": {
            "container": {"image": IMAGE, "environment": {"LOG_LEVEL": "info"}},
            "computeResourceRequirements": {
                "numberOfCpuCoresRequired": 1,
                "minMemoryRequiredInMb": 1024,
            },
        },
        "runtimeConfig": {"copyCount": 4},
        "deploymentConfig": ROLLING,
        "tags": {"team": "search"},
    }
    # A copy: edits patch the stored spec in place, and must not reach the caller's
    # dicts (a module's SCALING, say, that the next test starts from).
    spec.update(copy.deepcopy(spec_over))
    return {
        "apiVersion": "sagemaker.ic-operator.io/v1alpha1",
        "kind": "InferenceComponent",
        "metadata": {
            "name": "llm",
            "namespace": "team-a",
            "uid": UID,
            "generation": 1,
            "resourceVersion": "1",
        },
        "spec": spec,
    }


class Rig:
    """The operator's loop on one object, against in-memory SageMaker and Kubernetes."""

    def __init__(
        self,
        *,
        settings: Settings = SETTINGS,
        strategy: Strategy = DEFAULT,
        drop_cache: bool = False,
        ack_endpoints: AckEndpoints | None = None,
        **spec_over: Any,
    ) -> None:
        self.clock = Clock()
        self.sm = FakeSageMaker(self.clock)
        self.kube = FakeKube(manifest(**spec_over))
        self.settings = settings
        self.strategy = strategy
        self.ack_endpoints = ack_endpoints
        self.drop_cache = drop_cache  # a new process (no memory at all) before every pass
        self.restart()

    def restart(self) -> None:
        """A new operator process: nothing survives but SageMaker and the stored object."""
        self.reconciler = Reconciler(
            self.sm,
            self.settings,
            strategy=self.strategy,
            clock=self.clock,
            sweep=EndpointSweep(self.sm, clock=self.clock, wall=self.clock),
            scaling_sweep=AutoScalingSweep(self.sm, clock=self.clock),
            ack_endpoints=self.ack_endpoints,
            follow_endpoints=False,  # each pass asks for the endpoint; time moves when told
        )
        self.loop = ObjectLoop(self.reconciler, self.kube)

    @property
    def status(self) -> dict[str, Any]:
        return dict(self.kube.body.get("status") or {})

    async def step(self, trigger: Trigger = Trigger.POLL) -> PassResult:
        """One pass on the object as the loop would see it, then time moves to its wake."""
        if self.drop_cache:
            self.restart()
        result = await self.loop.step(self.loop.current(copy.deepcopy(self.kube.body)), trigger)
        if result.sleep is not None:
            self.clock.advance(result.sleep)
        return result

    async def finalize(self) -> PassResult:
        if self.drop_cache:
            self.restart()
        async with self.loop.lock:
            body = self.loop.current(copy.deepcopy(self.kube.body))
            result = await self.reconciler.finalize(body)
            await self.loop._apply(body, result)
        if result.sleep is not None:
            self.clock.advance(result.sleep)
        return result

    async def until(self, done: Callable[[], bool], *, passes: int = 20) -> None:
        for _ in range(passes):
            if done():
                return
            await self.step()
        raise AssertionError(f"not done after {passes} passes: {self.status}")

    def settled(self) -> bool:
        """Ready, and the routine Describe that follows a Ready read from the listing
        (after a create) has been made: the next pass is an ordinary resync."""
        return self.ready() and (self.status.get("decision") or {}).get("next") == "Resync"

    def ready(self) -> bool:
        return (
            self.kube.condition("Ready")[0] == "True"
            and self.status.get("observedGeneration") == self.kube.body["metadata"]["generation"]
        )


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]
