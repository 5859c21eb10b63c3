"""The GitOps case with the real ACK controller: an ACK EndpointConfig and Endpoint and our
InferenceComponents in one directory, applied with one `kubectl apply` and removed with one
`kubectl delete`.

ACK (upstream's controller, ic_sandbox.peers.ack) makes the endpoint in the emulator; the
operator creates the components on it once it exists and is InService. On the way out
SageMaker refuses to delete an endpoint that still hosts components, so ACK's delete fails
until the operator's finalizers have deleted them; ACK retries (controller-runtime's
per-object backoff) and the delete converges. Proved from the cluster (every object gone,
so every finalizer ran) and from the emulator's call log and state (nothing left).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from ic_sandbox.harness.emulator_process import ROLE_ARN
from ic_sandbox.peers.ack import GROUP, AckController
from tests.fixtures.emulator import wait_for
from tests.fixtures.operator import OperatorTestbed

pytestmark = [pytest.mark.ack, pytest.mark.e2e, pytest.mark.controlplane, pytest.mark.slow]

ACK_VERSION = f"{GROUP}/v1alpha1"
COMPONENTS = ("model-a", "model-b")
# ACK looks at a Creating endpoint every 30 s (its requeue_on_success_seconds), and the
# operator's backoff for a missing endpoint starts at 30 s: a minute and a half covers both.
CONVERGE = 150.0


def ack_manifests(world: OperatorTestbed, endpoint: str) -> dict[str, list[dict[str, Any]]]:
    """The ACK half of the directory: an endpoint config whose variant hosts components, and
    the endpoint made from it (named by plain strings, as most repositories do)."""
    config = {
        "apiVersion": ACK_VERSION,
        "kind": "EndpointConfig",
        "metadata": {"name": f"{endpoint}-config", "namespace": world.namespace},
        "spec": {
            "endpointConfigName": f"{endpoint}-config",
            "executionRoleARN": ROLE_ARN,
            "productionVariants": [
                {
                    "variantName": "AllTraffic",
                    "instanceType": "ml.m5.4xlarge",
                    "initialInstanceCount": 2,
                }
            ],
        },
    }
    endpoint_object = {
        "apiVersion": ACK_VERSION,
        "kind": "Endpoint",
        "metadata": {"name": endpoint, "namespace": world.namespace},
        "spec": {"endpointName": endpoint, "endpointConfigName": f"{endpoint}-config"},
    }
    return {"00-endpoint-config.yaml": [config], "01-endpoint.yaml": [endpoint_object]}


def write_directory(directory: Path, files: dict[str, list[dict[str, Any]]]) -> Path:
    directory.mkdir(parents=True)
    for name, documents in files.items():
        (directory / name).write_text(yaml.safe_dump_all(documents))
    return directory


def ack_object(world: OperatorTestbed, kind: str, name: str) -> dict[str, Any] | None:
    out = world.kubectl(
        "get", f"{kind}.{GROUP}", name, "-n", world.namespace, "-o", "json", check=False
    )
    return yaml.safe_load(out.stdout) if out.returncode == 0 else None


def synced_object(world: OperatorTestbed, kind: str, name: str) -> dict[str, Any] | None:
    """The ACK object once ACK says it is synced with SageMaker (`ACK.ResourceSynced`)."""
    obj = ack_object(world, kind, name) or {}
    conditions = (obj.get("status") or {}).get("conditions") or []
    synced = any(c["type"] == "ACK.ResourceSynced" and c["status"] == "True" for c in conditions)
    return obj if synced else None


def succeeded(world: OperatorTestbed, operation: str) -> list[dict[str, Any]]:
    return [c for c in world.emulator.admin.calls(operation) if c["error"] is None]


def gone(call: Callable[[], object]) -> bool:
    """Whether SageMaker answers the read with its "Could not find ..." for a missing one."""
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Message"]).startswith("Could not find")
    return False


def component(world: OperatorTestbed, name: str, endpoint: str, naming: str) -> dict[str, Any]:
    """A component on the endpoint, named by its SageMaker name or by the ACK object."""
    manifest = world.manifest(name, copies=1, endpointName=endpoint)
    if naming == "endpointRef":
        del manifest["spec"]["endpointName"]
        manifest["spec"]["endpointRef"] = {"name": endpoint}  # the ACK object's name
    return manifest


def apply_directory(
    world: OperatorTestbed, directory: Path, naming: str = "endpointName"
) -> tuple[str, dict[str, Any]]:
    """Write the endpoint's and the components' manifests into one directory, apply it with
    one `kubectl apply`, and wait until ACK and the operator both say done: the endpoint's
    name and ACK's Endpoint object."""
    endpoint = f"ack-{uuid.uuid4().hex[:8]}"
    files = ack_manifests(world, endpoint)
    for name in COMPONENTS:
        files[f"ic-{name}.yaml"] = [component(world, name, endpoint, naming)]
    write_directory(directory, files)

    world.kubectl("apply", "-f", str(directory))

    # ACK makes the endpoint config and the endpoint, and reports both synced (the config
    # once it has late-initialized enableNetworkIsolation from DescribeEndpointConfig).
    synced = wait_for(
        lambda: synced_object(world, "endpoints", endpoint),
        timeout=CONVERGE,
        interval=0.5,
        what=f"ACK's Endpoint {endpoint} synced",
    )
    assert synced["status"]["endpointStatus"] == "InService"
    wait_for(
        lambda: synced_object(world, "endpointconfigs", f"{endpoint}-config"),
        timeout=CONVERGE,
        interval=0.5,
        what="ACK's EndpointConfig synced",
    )
    for name in COMPONENTS:
        world.wait_ready(name, timeout=CONVERGE)
    made = [c["request"]["EndpointName"] for c in succeeded(world, "CreateEndpoint")]
    assert made == [endpoint]
    assert len(succeeded(world, "CreateEndpointConfig")) == 1
    return endpoint, synced


def assert_nothing_left(world: OperatorTestbed, endpoint: str) -> None:
    """Neither the cluster nor SageMaker holds anything of the directory."""
    for kind, name in (("endpoints", endpoint), ("endpointconfigs", f"{endpoint}-config")):
        assert ack_object(world, kind, name) is None
    for name in COMPONENTS:
        assert world.get(name) is None
    left = world.sagemaker.list_inference_components(EndpointNameEquals=endpoint)
    assert left["InferenceComponents"] == []
    assert gone(lambda: world.sagemaker.describe_endpoint(EndpointName=endpoint))
    assert gone(
        lambda: world.sagemaker.describe_endpoint_config(EndpointConfigName=f"{endpoint}-config")
    )


def refused_deletes(world: OperatorTestbed) -> list[dict[str, Any]]:
    """ACK's DeleteEndpoint calls that SageMaker refused: the endpoint still had components."""
    return [c for c in world.emulator.admin.calls("DeleteEndpoint") if c["error"] is not None]


@pytest.mark.parametrize("naming", ["endpointName", "endpointRef"])
def test_one_apply_and_one_delete_of_ack_endpoint_and_components(
    world: OperatorTestbed, ack: AckController, tmp_path: Path, naming: str
) -> None:
    directory = tmp_path / "gitops"
    endpoint, synced = apply_directory(world, directory, naming)
    if naming == "endpointRef":
        for name in COMPONENTS:
            resolved = world.condition(name, "EndpointResolved") or {}
            assert resolved.get("status") == "True", resolved
            assert (world.get(name) or {})["status"]["endpointName"] == endpoint
    # ACK's own tags on what it made: it tagged through SageMaker's API, read back by ListTags.
    tags = world.sagemaker.list_tags(ResourceArn=synced["status"]["ackResourceMetadata"]["arn"])
    keys = {t["Key"]: t["Value"] for t in tags["Tags"]}
    assert keys.get("services.k8s.aws/controller-version") == "sagemaker-v1.9.1"

    in_service_at = world.sagemaker.describe_endpoint(EndpointName=endpoint)["LastModifiedTime"]
    created = {
        c["request"]["InferenceComponentName"]: c["at"]
        for c in succeeded(world, "CreateInferenceComponent")
    }
    assert sorted(created) == sorted(COMPONENTS)
    lag = max(created.values()) - in_service_at.timestamp()
    print(f"{naming}: components created {lag:.1f} s after the endpoint turned InService")
    if naming == "endpointName":
        # The operator's own part (issue 18's target): the shared endpoint watch sees
        # InService within one transition poll. By endpointRef the clock starts when ACK
        # reports InService (its 30 s requeue), which tests/e2e/test_endpoint_ref.py bounds.
        assert lag <= 10, f"created {lag:.1f} s after InService"

    # One delete, which returns once every finalizer (the operator's, ACK's) has run.
    world.kubectl("delete", "-f", str(directory), "--timeout=180s")

    assert_nothing_left(world, endpoint)
    deletes = world.emulator.admin.calls("DeleteEndpoint")
    refused = refused_deletes(world)
    assert {c["error"] for c in refused} <= {"ValidationException"}
    assert len(deletes) - len(refused) == 1
    print(f"DeleteEndpoint refused {len(refused)} time(s) while components were deleted")
    assert ack.failed() is None


def test_ack_retries_the_refused_endpoint_delete_until_the_components_are_gone(
    world: OperatorTestbed, ack: AckController, tmp_path: Path
) -> None:
    """The operator is stopped, so the components stay on the endpoint: SageMaker refuses
    ACK's delete again and again, ACK keeps its Endpoint object; once the operator is back
    and has deleted the components, ACK's next retry succeeds and everything is gone."""
    directory = tmp_path / "gitops"
    endpoint, _ = apply_directory(world, directory)
    world.operator.stop()
    world.kubectl("delete", "-f", str(directory), "--wait=false")

    def refused_twice() -> list[dict[str, Any]] | None:
        found = refused_deletes(world)
        return found if len(found) >= 2 else None

    refusals = wait_for(
        refused_twice,
        timeout=60,
        interval=0.2,
        what="ACK's DeleteEndpoint refused twice",
    )
    assert {c["error"] for c in refusals} == {"ValidationException"}
    assert all(c["request"]["EndpointName"] == endpoint for c in refusals)
    assert ack_object(world, "endpoints", endpoint) is not None
    assert world.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == (
        "InService"
    )

    world.operator.start()
    wait_for(
        lambda: ack_object(world, "endpoints", endpoint) is None,
        timeout=CONVERGE,
        interval=0.5,
        what=f"ACK's Endpoint {endpoint} gone",
    )
    assert_nothing_left(world, endpoint)
    assert ack.failed() is None
