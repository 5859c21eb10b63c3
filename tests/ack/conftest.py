"""Fixtures of the ACK suite: ACK's SageMaker controller (upstream v1.9.1, ic_sandbox.peers.ack)
beside the operator, both against the emulator and the real control plane.

The CRDs go in once per session; each test gets its own controller process watching only
the test's namespace, so tests never see each other's ACK objects.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ic_sandbox.cluster.binaries import BinariesMissing
from ic_sandbox.peers.ack import AckBuild, AckController, AwsTarget, ensure_ack, install
from tests.emulator.identity_helpers import issue
from tests.fixtures.controlplane import Cluster, Kubectl
from tests.fixtures.operator import OperatorTestbed

ACK_USER = "ack-sagemaker-controller"


@pytest.fixture(scope="session")
def ack_build(kubectl: Kubectl) -> AckBuild:
    try:
        # build=False: a first build takes minutes; `make test` builds it (`make ack`) in the
        # background, and this waits for that build (ic_sandbox.cluster.background).
        build = ensure_ack(build=False)
    except BinariesMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    install(kubectl, build)
    return build


@pytest.fixture
def ack(
    request: pytest.FixtureRequest,
    control_plane: Cluster,
    ack_build: AckBuild,
    world: OperatorTestbed,
    tmp_path: Path,
) -> Iterator[AckController]:
    """ACK's controller for the test's namespace, calling the emulator as SageMaker and STS
    with its own IAM user's key (the emulator verifies signatures)."""
    keys = issue(world.emulator, user=ACK_USER)
    aws = AwsTarget(
        world.emulator.url, world.emulator.region, keys["AccessKeyId"], keys["SecretAccessKey"]
    )
    controller = AckController(
        tmp_path / "ack", ack_build, control_plane.kubeconfig, aws, world.namespace
    )
    with controller:
        yield controller
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        tail = controller.log.read_text(errors="replace")[-8000:]
        print(f"---- ACK controller log (tail) ----\n{tail}", file=sys.stderr)
