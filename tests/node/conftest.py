"""Session fixtures for tests/node: one real node (kubelet, containerd, kube-proxy,
scheduler, controller-manager) joined to its own control plane, started once.

The control plane listens on the node network's gateway address (pods reach it there
and through the `kubernetes` Service), so it is not the shared loopback one of
tests/fixtures/controlplane.py. `make node` installs the Debian packages and builds
the node binaries first; a missing piece fails the tests with the command to run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ic_sandbox import image
from ic_sandbox.cluster.binaries import (
    BinariesMissing,
    ensure_binaries,
    ensure_node_binaries,
    find_kubectl,
)
from ic_sandbox.cluster.controlplane import ControlPlane
from ic_sandbox.node.network import NodeNetwork
from ic_sandbox.node.node import Node
from tests.fixtures.controlplane import Cluster, Kubectl
from tests.node.images import busybox_archive

HOST_EFFECTS_MODULE = "test_host_effects.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the host-effects test before any test that starts the shared node: it compares
    host settings before and after a node of its own, which a running node would change."""
    items.sort(key=lambda item: 0 if item.path.name == HOST_EFFECTS_MODULE else 1)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if os.geteuid() != 0:
        pytest.skip("a node needs root (network namespaces, mounts, cgroups)")


@dataclass
class RunningNode:
    network: NodeNetwork
    control_plane: ControlPlane
    node: Node
    cluster: Cluster
    kubectl: Kubectl


def start_node(workdir: Path, name: str | None = None) -> tuple[NodeNetwork, ControlPlane, Node]:
    """A network, a control plane on its gateway and a node (workdir/node), started;
    stop_node() stops them."""
    try:
        binaries = ensure_binaries(build=False)
        node_binaries = ensure_node_binaries(build=False)
    except BinariesMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    network = NodeNetwork.create(name)
    control_plane = ControlPlane(workdir / "controlplane", binaries, address=network.gateway)
    try:
        control_plane.start()
        node = Node(workdir / "node", control_plane, network, node_binaries).start()
    except BaseException:
        control_plane.stop()
        network.delete()
        raise
    return network, control_plane, node


def stop_node(network: NodeNetwork, control_plane: ControlPlane, node: Node) -> None:
    node.stop()
    control_plane.stop()
    network.delete()


@pytest.fixture(scope="session")
def running_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    workdir = tmp_path_factory.mktemp("node")
    network, control_plane, node = start_node(workdir)
    try:
        cluster = Cluster(kubeconfig=control_plane.kubeconfig, control_plane=control_plane)
        kubectl = Kubectl(find_kubectl(), cluster, tmp_path_factory.mktemp("node-kubectl-cache"))
        node.import_image(busybox_archive(workdir / "images"))
        yield RunningNode(network, control_plane, node, cluster, kubectl)
    finally:
        stop_node(network, control_plane, node)


def import_operator_image(running: RunningNode) -> tuple[str, str]:
    """The image `make image` built, imported into the node's containerd; its (repository,
    tag) for the chart."""
    archive = image.archive_path()
    if not archive.is_file():
        pytest.fail(f"{archive} not found: run `make image` first", pytrace=False)
    running.node.import_image(archive)
    repository, tag = image.reference().rsplit(":", 1)
    return repository, tag
