"""Components and the endpoint under them, end to end (issue 18): a real operator
process, the real API server, the emulator over HTTP. The endpoint's transitions take
seconds here (an emulator of their own, below), so the waiting is really seen.

Every claim is read twice: from the resources (what a user sees) and from the emulator's
call log (what SageMaker was asked).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from ic_sandbox.emulator import Durations, EmulatorThread
from tests.fixtures.controlplane import Cluster, Kubectl
from tests.fixtures.emulator import ACCOUNT_ID, REGION, ROLE_ARN, RunningEmulator, wait_for
from tests.fixtures.operator import OperatorTestbed, operator_world

pytestmark = [pytest.mark.e2e, pytest.mark.controlplane]

# At the emulator's time scale of 0.01: an endpoint takes 15 s to create or update.
TRANSITION = 1500.0
TARGET = 10.0  # seconds from InService to every waiting component's Create


@pytest.fixture(scope="module")
def slow_endpoints() -> Iterator[RunningEmulator]:
    durations = Durations(endpoint_create=TRANSITION, endpoint_update=TRANSITION)
    with EmulatorThread(
        time_scale=0.01, region=REGION, account_id=ACCOUNT_ID, durations=durations
    ) as thread:
        yield RunningEmulator(thread)


@pytest.fixture
def slow(
    request: pytest.FixtureRequest,
    control_plane: Cluster,
    kubectl: Kubectl,
    namespace: str,
    crds_installed: None,
    slow_endpoints: RunningEmulator,
    tmp_path: Path,
) -> Iterator[OperatorTestbed]:
    slow_endpoints.admin.reset()
    yield from operator_world(
        request,
        control_plane,
        kubectl,
        namespace,
        slow_endpoints,
        slow_endpoints.client(),
        tmp_path,
    )


def endpoint_config(world: OperatorTestbed, name: str, count: int) -> None:
    world.sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ExecutionRoleArn=ROLE_ARN,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.m5.4xlarge",
                "InitialInstanceCount": count,
            }
        ],
    )


def message(world: OperatorTestbed, name: str, ctype: str) -> str:
    condition = world.condition(name, ctype) or {}
    return str(condition.get("message", ""))


def test_components_applied_with_a_creating_endpoint_start_within_10s_of_in_service(
    slow: OperatorTestbed,
) -> None:
    world = slow
    endpoint_config(world, "fresh-cfg", 2)
    world.sagemaker.create_endpoint(EndpointName="fresh", EndpointConfigName="fresh-cfg")
    names = [f"model-{i}" for i in range(5)]
    for name in names:
        world.apply(world.manifest(name, copies=1, endpointName="fresh"))
    for name in names:
        world.wait_condition(name, "Progressing", "True", reason="WaitingForEndpoint", timeout=20)
        assert message(world, name, "Progressing").startswith("endpoint fresh is Creating (")
    for name in names:
        world.wait_ready(name, timeout=TRANSITION / 100 + 30)
    describes = world.calls("DescribeEndpoint")  # before this test's own Describe below
    in_service = world.sagemaker.describe_endpoint(EndpointName="fresh")["LastModifiedTime"]
    creates = [c for c in world.calls("CreateInferenceComponent") if not c["error"]]
    assert sorted(c["request"]["InferenceComponentName"] for c in creates) == names
    lateness = [c["at"] - in_service.timestamp() for c in creates]
    assert all(0 <= late <= TARGET for late in lateness), lateness  # none sent before
    # One Describe of the endpoint per poll, whoever waits: never two in the same poll
    # minimum (0.2 s here), so five waiting components cost what one does.
    times = [c["at"] for c in describes]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.15, gaps
    waited = times[-1] - times[0]
    assert len(describes) <= waited / 0.2 + 2


def test_an_endpoint_update_pauses_writes_and_the_components_resume(
    slow: OperatorTestbed,
) -> None:
    world = slow
    world.apply(world.manifest("chat", copies=1))
    world.wait_settled("chat")
    endpoint_config(world, "bigger", 3)
    world.sagemaker.update_endpoint(EndpointName=world.endpoint, EndpointConfigName="bigger")
    world.patch("chat", {"spec": {"runtimeConfig": {"copyCount": 2}}})
    world.wait_condition("chat", "Progressing", "True", reason="WaitingForEndpoint")
    assert f"endpoint {world.endpoint} is Updating (" in message(world, "chat", "Progressing")
    assert world.calls("UpdateInferenceComponentRuntimeConfig", "chat") == []
    obj = world.wait_ready("chat", timeout=TRANSITION / 100 + 30)
    (scaled,) = world.calls("UpdateInferenceComponentRuntimeConfig", "chat")
    assert scaled["error"] is None  # sent once, after the update: never refused
    assert scaled["request"]["DesiredRuntimeConfig"] == {"CopyCount": 2}
    in_service = world.sagemaker.describe_endpoint(EndpointName=world.endpoint)
    assert in_service["EndpointStatus"] == "InService"
    assert 0 <= scaled["at"] - in_service["LastModifiedTime"].timestamp() <= TARGET
    assert obj["status"]["desiredCopyCount"] == 2


def test_an_endpoint_deleted_out_of_band_is_reported_and_recovered_when_it_returns(
    world: OperatorTestbed,
) -> None:
    world.apply(world.manifest("chat", copies=1))
    world.wait_settled("chat")
    sm = world.sagemaker
    # Out of band, as SageMaker lets it happen: the components first, then the endpoint.
    sm.delete_inference_component(InferenceComponentName="chat")
    wait_for(lambda: not sm.list_inference_components()["InferenceComponents"], what="gone")
    sm.delete_endpoint(EndpointName=world.endpoint)
    wait_for(lambda: not sm.list_endpoints()["Endpoints"], what="endpoint gone")
    world.wait_condition("chat", "Degraded", "True", reason="EndpointNotFound", timeout=30)
    assert message(world, "chat", "Degraded").startswith(
        f"endpoint {world.endpoint} does not exist"
    )
    # Several passes later (each one looking at the endpoint again): no create loop.
    world.wait_more_passes("EndpointNotFound", 3)
    assert len(world.calls("CreateInferenceComponent", "chat")) == 1
    # The endpoint is back: the component is created again, as its spec says.
    sm.create_endpoint(EndpointName=world.endpoint, EndpointConfigName=f"{world.endpoint}-config")
    world.wait_ready("chat", timeout=60)
    assert len(world.calls("CreateInferenceComponent", "chat")) == 2


def test_deleting_a_component_whose_endpoint_is_gone_finishes_at_once(
    world: OperatorTestbed,
) -> None:
    world.apply(world.manifest("orphan", copies=1, endpointName="never-made"))
    world.wait_condition("orphan", "Degraded", "True", reason="EndpointNotFound")
    world.kubectl("delete", "smic", "orphan", "-n", world.namespace, "--wait=true", "--timeout=10s")
    assert world.get("orphan") is None
    assert world.calls("DeleteInferenceComponent") == []
    assert world.calls("CreateInferenceComponent") == []
