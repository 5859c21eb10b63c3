"""Starting and stopping a node leaves the host as it was.

A kubelet changes kernel tunables, writes iptables chains, bind-mounts its root
directory, creates cgroups, and a pod adds a CNI bridge, a network namespace, mounts
and runc shims (docs/node.md). This test captures the host facts that belong to one
node before it starts, runs a pod on it, stops it, and compares.
"""

from __future__ import annotations

import json

import pytest

from ic_sandbox.cluster.binaries import find_kubectl
from ic_sandbox.node.hosteffects import HostState
from ic_sandbox.node.network import NodeNetwork
from tests.fixtures.controlplane import Cluster, Kubectl
from tests.node.conftest import start_node, stop_node
from tests.node.images import BUSYBOX_IMAGE, busybox_archive

pytestmark = [pytest.mark.node, pytest.mark.slow]

SLEEPER = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "sleeper", "namespace": "default"},
    "spec": {
        "containers": [
            {
                "name": "sleeper",
                "image": BUSYBOX_IMAGE,
                "imagePullPolicy": "Never",
                "command": ["/bin/busybox", "sleep", "3600"],
            }
        ]
    },
}


def test_stop_restores_the_host(tmp_path_factory: pytest.TempPathFactory) -> None:
    # A short directory: containerd's socket path must stay under 104 characters, and
    # under xdist the test's own tmp_path is longer by the worker's "popen-gwN/".
    tmp_path = tmp_path_factory.mktemp("hx")
    name = NodeNetwork.new_name()
    host_link, _ = NodeNetwork.link_names(name)
    workdir = tmp_path / "node"

    def capture() -> HostState:
        return HostState.capture(workdir, name, host_link)

    before = capture()
    network, control_plane, node = start_node(tmp_path, name)
    try:
        kubectl = Kubectl(
            find_kubectl(), Cluster(control_plane.kubeconfig, control_plane), tmp_path / "kc"
        )
        node.import_image(busybox_archive(tmp_path / "images"))
        kubectl("apply", "-f", "-", input=json.dumps(SLEEPER))
        kubectl("wait", "pod/sleeper", "--for=condition=Ready", "--timeout=90s", timeout=100)
        running = capture()
        inside = network.run_inside("iptables-save")
    finally:
        stop_node(network, control_plane, node)
    after = capture()

    # While a pod runs, the capture sees the node's effects: else equality proves nothing.
    assert running.mounts, "no mounts of the node seen while a pod ran"
    assert running.cgroups, "no cgroups of the node seen while a pod ran"
    assert running.processes, "no processes of the node seen while it ran"
    assert running.links, "the node's veth link not seen"
    assert running.netns, "the node's network namespace not seen"
    assert running.sysctls["vm/overcommit_memory"] == "1", "the kubelet's tunable not seen"
    # The kubelet's and kube-proxy's chains exist, in the node's namespace, not the host's.
    assert ":KUBE-FIREWALL" in inside and ":KUBE-SERVICES" in inside
    assert running.iptables == before.iptables
    assert after == before
