"""The node runs pods that reach the control plane, the cluster DNS and the emulator.

These are the paths the operator's pod takes (tests/node/test_chart.py): the
`kubernetes` Service ClusterIP (kube-proxy's DNAT to the API server), the name
`kubernetes.default.svc.cluster.local` (the cluster DNS), and the gateway address
where the emulator listens; plus `kubectl logs`/`exec` through the kubelet.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from ic_sandbox.cluster.controlplane import KUBERNETES_SERVICE_IP
from tests.node.conftest import RunningNode
from tests.node.images import BUSYBOX_IMAGE

pytestmark = [pytest.mark.node, pytest.mark.slow]

POD = "probe"


@pytest.fixture(scope="module")
def probe_pod(running_node: RunningNode) -> Iterator[str]:
    kubectl = running_node.kubectl
    kubectl("create", "namespace", "node-probe")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": POD, "namespace": "node-probe"},
        "spec": {
            "containers": [
                {
                    "name": "probe",
                    "image": BUSYBOX_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["/bin/busybox", "sh", "-c", "echo probe-started; exec sleep 3600"],
                }
            ],
            "terminationGracePeriodSeconds": 1,
        },
    }
    kubectl("apply", "-f", "-", input=json.dumps(pod))
    kubectl(
        "wait",
        "-n",
        "node-probe",
        f"pod/{POD}",
        "--for=condition=Ready",
        "--timeout=90s",
        timeout=100,
    )
    yield "node-probe"
    kubectl("delete", "namespace", "node-probe", "--wait=false", check=False)


def _exec(running_node: RunningNode, namespace: str, *argv: str) -> str:
    result = running_node.kubectl(
        "exec", "-n", namespace, POD, "--", "/bin/busybox", *argv, check=False
    )
    assert result.returncode == 0, f"{argv} in the pod: {result.stderr}{result.stdout}"
    return result.stdout


def test_node_registers_ready(running_node: RunningNode) -> None:
    node = json.loads(
        running_node.kubectl("get", "node", running_node.node.name, "-o", "json").stdout
    )
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == running_node.network.node_ip


def test_pod_logs_come_through_the_kubelet(running_node: RunningNode, probe_pod: str) -> None:
    logs = running_node.kubectl("logs", "-n", probe_pod, POD).stdout
    assert logs.strip() == "probe-started"


def test_cluster_dns_resolves_the_kubernetes_service(
    running_node: RunningNode, probe_pod: str
) -> None:
    out = _exec(running_node, probe_pod, "nslookup", "kubernetes.default.svc.cluster.local")
    assert KUBERNETES_SERVICE_IP in out
    missing = running_node.kubectl(
        "exec",
        "-n",
        probe_pod,
        POD,
        "--",
        "/bin/busybox",
        "nslookup",
        "no-such-service.default.svc.cluster.local",
        check=False,
    )
    assert missing.returncode != 0
    assert KUBERNETES_SERVICE_IP not in missing.stdout


def test_kubernetes_service_leads_to_the_api_server(
    running_node: RunningNode, probe_pod: str
) -> None:
    # The API server's TLS port answers an HTTP request with HTTP 400: through the
    # ClusterIP (kube-proxy's rules) it is the API server that answers, not a timeout.
    out = _exec(
        running_node,
        probe_pod,
        "sh",
        "-c",
        f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {KUBERNETES_SERVICE_IP} 443",
    )
    assert "400 Bad Request" in out
    assert "Client sent an HTTP request to an HTTPS server" in out


def test_pods_reach_a_server_on_the_gateway(running_node: RunningNode, probe_pod: str) -> None:
    gateway = running_node.network.gateway
    with socket.socket() as server:
        server.bind((gateway, 0))
        server.listen()
        port = server.getsockname()[1]
        seen: list[str] = []

        def accept() -> None:
            conn, _ = server.accept()
            with conn:
                seen.append(conn.recv(64).decode())

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        _exec(running_node, probe_pod, "sh", "-c", f"echo hello-gateway | nc -w 5 {gateway} {port}")
        thread.join(timeout=10)
    assert seen == ["hello-gateway\n"]
