"""UpdateEndpoint and what an endpoint's state does to its components' writes (issue 18)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ic_sandbox.emulator import Durations, EmulatorThread
from tests.emulator.conftest import FAST_SCALE, NO_RETRIES
from tests.emulator.helpers import create_ic, error_of, wait_status
from tests.fixtures.emulator import ACCOUNT_ID, REGION, ROLE_ARN, RunningEmulator, wait_for

ARN_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012"


def slow(durations: Durations) -> Iterator[Any]:
    """An emulator whose given steps outlast any test step (the rest is fast): on the
    shared fast one a 0.3 s endpoint update can end between two calls."""
    with EmulatorThread(
        time_scale=FAST_SCALE, region=REGION, account_id=ACCOUNT_ID, durations=durations
    ) as thread:
        yield RunningEmulator(thread).client(config=NO_RETRIES)


@pytest.fixture
def slow_create() -> Iterator[Any]:
    yield from slow(Durations(endpoint_create=1e6))


@pytest.fixture
def slow_update() -> Iterator[Any]:
    yield from slow(Durations(endpoint_update=1e6))


def in_service(sm: Any, name: str = "ep", *, count: int = 1) -> None:
    config(sm, f"{name}-cfg", count)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-cfg")
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 400}
    )


def config(sm: Any, name: str, count: int) -> None:
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ExecutionRoleArn=ROLE_ARN,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.12xlarge",
                "InitialInstanceCount": count,
            }
        ],
    )


def test_update_endpoint_goes_updating_then_in_service_with_the_new_count(sm: Any) -> None:
    in_service(sm, count=2)
    create_ic(sm, "ic")
    config(sm, "cfg-2", 3)
    arn = sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2")["EndpointArn"]
    assert arn == f"{ARN_PREFIX}:endpoint/ep"
    wait_for(
        lambda: sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService",
        what="the update ends",
    )
    after = sm.describe_endpoint(EndpointName="ep")
    assert after["EndpointConfigName"] == "cfg-2"
    assert after["ProductionVariants"][0]["CurrentInstanceCount"] == 3
    # The component kept serving throughout (no availability loss, doc).
    assert wait_status(sm, "ic", "InService")["RuntimeConfig"]["CurrentCopyCount"] == 1


def test_a_create_is_refused_while_the_endpoint_is_creating(slow_create: Any) -> None:
    sm = slow_create
    config(sm, "cfg-1", 1)
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg-1")
    # Creating: a Create is refused the same way
    with pytest.raises(ClientError) as creating:
        create_ic(sm, "early", wait=False)
    assert error_of(creating) == (
        "ValidationException",
        f"Cannot create inference component {ARN_PREFIX}:inference-component/early because "
        f"endpoint {ARN_PREFIX}:endpoint/ep is in status Creating.",
        400,
    )


def test_component_writes_are_refused_while_the_endpoint_updates(slow_update: Any) -> None:
    sm = slow_update
    in_service(sm, count=2)
    create_ic(sm, "ic")
    config(sm, "cfg-2", 2)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2")
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Updating"
    refusals = []
    for call in (
        lambda: sm.update_inference_component_runtime_config(
            InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 2}
        ),
        lambda: sm.update_inference_component(
            InferenceComponentName="ic", RuntimeConfig={"CopyCount": 2}
        ),
        lambda: create_ic(sm, "other", wait=False),
        lambda: sm.update_endpoint(EndpointName="ep", EndpointConfigName="ep-cfg"),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        refusals.append(error_of(refused))
    ic_arn, ep_arn = f"{ARN_PREFIX}:inference-component/ic", f"{ARN_PREFIX}:endpoint/ep"
    assert refusals == [
        (
            "ValidationException",
            f"Cannot update inference component {ic_arn} because endpoint {ep_arn} is in "
            "status Updating.",
            400,
        ),
    ] * 2 + [
        (
            "ValidationException",
            f"Cannot create inference component {ARN_PREFIX}:inference-component/other "
            f"because endpoint {ep_arn} is in status Updating.",
            400,
        ),
        ("ValidationException", f'Cannot update in-progress endpoint "{ep_arn}".', 400),
    ]
    # Reads go on, and so does a component's delete (inf).
    described = sm.describe_inference_component(InferenceComponentName="ic")
    assert described["InferenceComponentStatus"] == "InService"
    sm.delete_inference_component(InferenceComponentName="ic")


def test_update_endpoint_refuses_a_count_that_cannot_hold_the_components(sm: Any) -> None:
    in_service(sm, count=2)
    # ml.g5.12xlarge has 4 GPUs: 8 single-GPU copies fill two instances
    create_ic(
        sm,
        "big",
        copies=8,
        specification={
            "Container": {"Image": "repo/image:1"},
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1,
                "MinMemoryRequiredInMb": 1024,
            },
        },
    )
    config(sm, "cfg-small", 1)
    with pytest.raises(ClientError) as refused:
        sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-small")
    assert "cannot hold the inference component copies" in error_of(refused)[1]
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService"


def test_delete_endpoint_with_components_is_refused(sm: Any) -> None:
    in_service(sm, count=1)
    create_ic(sm, "ic")
    with pytest.raises(ClientError) as refused:
        sm.delete_endpoint(EndpointName="ep")
    assert "still hosts 1 inference component(s)" in error_of(refused)[1]
