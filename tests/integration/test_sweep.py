"""The endpoint sweep against the emulator over HTTP: one List serves every asker."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ic_operator.aws.client import SageMakerClient
from ic_operator.reconcile.sweep import EndpointSweep
from tests.fixtures.emulator import RunningEmulator, ic_endpoint, wait_for


def client_for(emulator: RunningEmulator) -> SageMakerClient:
    return SageMakerClient(
        default_region="us-east-1",
        client_factory=lambda region: emulator.client(),
    )


def make_components(sagemaker: Any, endpoint: str, count: int) -> None:
    for i in range(count):
        sagemaker.create_inference_component(
            InferenceComponentName=f"c{i}",
            EndpointName=endpoint,
            VariantName="AllTraffic",
            Specification={
                "Container": {"Image": "repo/image:1"},
                "ComputeResourceRequirements": {
                    "NumberOfCpuCoresRequired": 0.25,
                    "MinMemoryRequiredInMb": 128,
                },
            },
            RuntimeConfig={"CopyCount": 1},
        )


def test_concurrent_askers_share_one_list_and_pages_are_followed(
    emulator: RunningEmulator, sagemaker: Any
) -> None:
    ic_endpoint(sagemaker, "ep", instance_type="ml.m5.24xlarge", count=2)
    make_components(sagemaker, "ep", 150)  # two pages of 100
    emulator.admin.clear_calls()
    sweep = EndpointSweep(client_for(emulator))

    async def ask_all() -> list[Any]:
        return await asyncio.gather(
            *(
                sweep.summary(region="us-east-1", endpoint="ep", name=f"c{i}", max_age=60)
                for i in range(150)
            )
        )

    summaries = asyncio.run(ask_all())
    assert [s["InferenceComponentName"] for s in summaries] == [f"c{i}" for i in range(150)]
    assert len(emulator.admin.calls("ListInferenceComponents")) == 2  # one sweep, two pages
    assert emulator.admin.calls("DescribeInferenceComponent") == []


def test_listing_is_reused_until_it_is_older_than_max_age(
    emulator: RunningEmulator, sagemaker: Any
) -> None:
    ic_endpoint(sagemaker, "ep", instance_type="ml.m5.24xlarge", count=1)
    make_components(sagemaker, "ep", 1)
    emulator.admin.clear_calls()
    now = [0.0]
    sweep = EndpointSweep(client_for(emulator), clock=lambda: now[0])

    async def ask(max_age: float) -> Any:
        return await sweep.summary(region="us-east-1", endpoint="ep", name="c0", max_age=max_age)

    first = asyncio.run(ask(30))
    assert first["InferenceComponentStatus"] == "Creating"
    now[0] = 20.0
    assert asyncio.run(ask(30)) == first  # cached
    assert len(emulator.admin.calls("ListInferenceComponents")) == 1
    wait_for(
        lambda: (
            sagemaker.describe_inference_component(InferenceComponentName="c0")[
                "InferenceComponentStatus"
            ]
            == "InService"
        ),
        what="c0 InService",
    )
    now[0] = 40.0
    assert asyncio.run(ask(30))["InferenceComponentStatus"] == "InService"  # refreshed
    assert len(emulator.admin.calls("ListInferenceComponents")) == 2
    assert asyncio.run(ask(30)) is not None
    assert (
        asyncio.run(sweep.summary(region="us-east-1", endpoint="ep", name="nope", max_age=30))
        is None
    )


def test_the_region_changes_listing_returns_only_what_moved_across_endpoints(
    emulator: RunningEmulator, sagemaker: Any
) -> None:
    """LastModifiedTimeAfter over the wire (boto3 serialises the bound; the emulator
    filters on it) with no endpoint filter: one call covers every endpoint."""
    for endpoint in ("ep1", "ep2"):
        ic_endpoint(sagemaker, endpoint, instance_type="ml.m5.24xlarge", count=1)
    make_components(sagemaker, "ep1", 2)

    def in_service() -> bool:
        return all(
            sagemaker.describe_inference_component(InferenceComponentName=f"c{i}")[
                "InferenceComponentStatus"
            ]
            == "InService"
            for i in range(2)
        )

    wait_for(in_service, what="c0 and c1 InService")
    # boto3 parses timestamps to microseconds; the emulator keeps more digits, so the bound
    # sits a little after both components' last change, and the change comes after it.
    moved_after = 0.005 + max(
        sagemaker.describe_inference_component(InferenceComponentName=f"c{i}")[
            "LastModifiedTime"
        ].timestamp()
        for i in range(2)
    )
    wait_for(lambda: time.time() > moved_after, what="the clock past the bound")
    sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="c0", DesiredRuntimeConfig={"CopyCount": 1}
    )
    emulator.admin.clear_calls()
    client = client_for(emulator)
    items = asyncio.run(
        client.list_components(endpoint_name=None, region="us-east-1", modified_after=moved_after)
    )
    assert [(i["EndpointName"], i["InferenceComponentName"]) for i in items] == [("ep1", "c0")]
    (call,) = emulator.admin.calls("ListInferenceComponents")
    assert "EndpointNameEquals" not in call["request"]
    assert abs(call["request"]["LastModifiedTimeAfter"] - moved_after) < 1e-3
