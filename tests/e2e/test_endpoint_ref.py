"""spec.endpointRef end to end: the real API server with ACK's own Endpoint CRD (from the
vendored v1.9.1 archive), an ACK Endpoint object whose status this test writes as ACK's
controller would (through the status subresource), the operator as a process, and the
emulator over HTTP. The real ACK controller is the GitOps suite's (docs/endpoints.md).
"""

from __future__ import annotations

import json
import os
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from ic_sandbox.harness.operator_process import OperatorProcess, operator_env
from ic_sandbox.peers.ack import CONTROLLER_ARCHIVE, sources_dir
from tests.fixtures.controlplane import Cluster, Kubectl
from tests.fixtures.emulator import ic_endpoint, wait_for
from tests.fixtures.operator import OPERATOR_FLAGS, OperatorTestbed

pytestmark = [pytest.mark.e2e, pytest.mark.controlplane]

ARCHIVE = sources_dir() / CONTROLLER_ARCHIVE
MEMBER = "helm/crds/sagemaker.services.k8s.aws_endpoints.yaml"
ACK_CRD = "endpoints.sagemaker.services.k8s.aws"
ACK_KIND = "endpoints.sagemaker.services.k8s.aws"
# Long enough that anything the test sees within a few seconds was woken by the watch,
# not by the resync timer.
SLOW_RESYNC = "300"


@pytest.fixture(scope="module")
def ack_crd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ARCHIVE.exists():
        pytest.fail(f"{ARCHIVE} is missing (ACK's vendored sources)", pytrace=False)
    out = tmp_path_factory.mktemp("ack") / "endpoints.yaml"
    with tarfile.open(ARCHIVE) as tar:
        member = tar.extractfile(MEMBER)
        assert member is not None
        out.write_bytes(member.read())
    return out


def crd_present(kubectl: Kubectl) -> bool:
    return kubectl("get", "crd", ACK_CRD, check=False).returncode == 0


def ack_endpoint(world: OperatorTestbed, name: str, endpoint: str) -> None:
    manifest = {
        "apiVersion": "sagemaker.services.k8s.aws/v1alpha1",
        "kind": "Endpoint",
        "metadata": {"name": name, "namespace": world.namespace},
        "spec": {"endpointName": endpoint, "endpointConfigName": f"{endpoint}-config"},
    }
    world.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))


def ack_status(world: OperatorTestbed, name: str, state: str, synced: bool) -> None:
    """What ACK's controller writes: endpointStatus, the ARN and its conditions."""
    message = "" if synced else "Endpoint is in Creating status."
    status: dict[str, Any] = {
        "endpointStatus": state,
        "ackResourceMetadata": {
            "arn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
            "ownerAccountID": "123456789012",
            "region": "us-east-1",
        },
        "conditions": [
            {
                "type": "ACK.ResourceSynced",
                "status": "True" if synced else "False",
                "message": message,
                "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        ],
    }
    world.kubectl(
        "patch", ACK_KIND, name, "-n", world.namespace, "--subresource=status",
        "--type=merge", "-p", json.dumps({"status": status}),
    )  # fmt: skip


def by_ref(world: OperatorTestbed, name: str, ref: dict[str, str]) -> dict[str, Any]:
    manifest = world.manifest(name, endpointRef=ref)
    del manifest["spec"]["endpointName"]
    return manifest


def slow_operator(world: OperatorTestbed, cluster: Cluster, tmp_path: Path) -> OperatorProcess:
    """The world's operator replaced by one whose resync is 300 s."""
    world.operator.stop()
    flags = list(OPERATOR_FLAGS)
    flags[flags.index("--resync-interval") + 1] = SLOW_RESYNC
    process = OperatorProcess(
        tmp_path / "slow-operator.log",
        operator_env(
            cluster.kubeconfig,
            world.emulator.url,
            os.environ,
            world.emulator.operator_credentials(world.namespace),
        ),
        ("--namespace", world.namespace, *flags),
        timeout=30,
        error=AssertionError,
    )
    process.start()
    return process


def message(world: OperatorTestbed, name: str, ctype: str) -> str:
    condition = world.condition(name, ctype)
    return "" if condition is None else str(condition.get("message"))


def test_waits_for_the_ack_endpoint_resolves_and_wakes_on_its_changes(
    world: OperatorTestbed, control_plane: Cluster, ack_crd: Path, tmp_path: Path
) -> None:
    if crd_present(world.kubectl):  # another test of the session installed it
        world.kubectl("delete", "crd", ACK_CRD, "--wait=true")
    operator = slow_operator(world, control_plane, tmp_path)
    try:
        # No ACK CRD: a component by endpointName is served as ever; one by endpointRef
        # says what is missing, and SageMaker is never asked about it.
        world.apply(world.manifest("plain"))
        world.wait_ready("plain")
        world.apply(by_ref(world, "byref", {"name": "llm-ack"}))
        world.wait_condition("byref", "Degraded", status="True", reason="AckEndpointKindMissing")
        assert world.calls(component="byref") == []

        # The CRD appears while the operator runs, then the object: kopf starts
        # watching the kind, and the object's first event wakes the component.
        world.kubectl("apply", "--server-side", "-f", str(ack_crd))
        endpoint = f"ack-{uuid.uuid4().hex[:8]}"
        ack_endpoint(world, "llm-ack", endpoint)
        world.wait_condition(
            "byref", "Progressing", status="True", reason="WaitingForEndpointRef", timeout=30
        )
        said = message(world, "byref", "Progressing")
        assert f"ACK Endpoint {world.namespace}/llm-ack" in said
        assert "has not reported any condition yet" in said

        ack_status(world, "llm-ack", "Creating", synced=False)
        wait_for(
            lambda: "endpointStatus Creating" in message(world, "byref", "Progressing"),
            timeout=10,
            what="the waiting message to show ACK's Creating",
        )
        said = message(world, "byref", "Progressing")
        assert "ACK.ResourceSynced=False (Endpoint is in Creating status.)" in said
        assert "not synced for" in said
        assert world.calls(component="byref") == []

        # ACK creates the endpoint in SageMaker and reports it synced and InService.
        ic_endpoint(world.sagemaker, endpoint, instance_type="ml.m5.4xlarge", count=2)
        ack_status(world, "llm-ack", "InService", synced=True)
        synced_at = time.time()
        wait_for(
            lambda: world.calls("CreateInferenceComponent", "byref"),
            timeout=10,
            what="the create after ACK reported InService",
        )
        (create,) = world.calls("CreateInferenceComponent", "byref")
        assert create["request"]["EndpointName"] == endpoint
        assert float(create["at"]) - synced_at < 10  # the watch, not the 300 s resync
        obj = world.wait_ready("byref")
        assert obj["status"]["endpointName"] == endpoint
        resolved = world.condition("byref", "EndpointResolved")
        assert resolved is not None and resolved["status"] == "True"

        # endpointRef cannot be changed, nor swapped for endpointName (CEL, at apply).
        moved = by_ref(world, "byref", {"name": "other-ack"})
        rejected = world.kubectl("apply", "-f", "-", input=yaml.safe_dump(moved), check=False)
        assert rejected.returncode != 0 and "endpointRef is immutable" in rejected.stderr

        # ACK's object now names another endpoint: reported, not followed.
        ack_endpoint(world, "llm-ack", "somewhere-else")
        world.wait_condition(
            "byref", "EndpointResolved", status="True", reason="EndpointRefChanged", timeout=10
        )
        assert world.get("byref")["status"]["endpointName"] == endpoint  # type: ignore[index]
        assert len(world.calls("CreateInferenceComponent", "byref")) == 1
        assert not world.calls("DeleteInferenceComponent", "byref")

        logs = operator.logs()
        assert " ERROR " not in logs and "[ERROR" not in logs, logs[-4000:]
        assert "Unresolved resources" not in "\n".join(
            line for line in logs.splitlines() if "WARNING" in line
        )
    finally:
        operator.stop()


def test_both_or_neither_endpoint_form_is_rejected_at_apply(world: OperatorTestbed) -> None:
    both = world.manifest("both", endpointRef={"name": "llm-ack"})
    neither = world.manifest("neither")
    del neither["spec"]["endpointName"]
    for manifest in (both, neither):
        rejected = world.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest), check=False)
        assert rejected.returncode != 0
        assert "set exactly one of endpointName or endpointRef" in rejected.stderr


def test_cross_namespace_reference_is_refused_by_default(world: OperatorTestbed) -> None:
    world.apply(by_ref(world, "elsewhere", {"name": "llm-ack", "namespace": "platform"}))
    world.wait_condition("elsewhere", "Degraded", status="True", reason="EndpointRefNotPermitted")
    assert "crossNamespaceEndpointRefs" in message(world, "elsewhere", "Degraded")
    assert world.calls(component="elsewhere") == []
