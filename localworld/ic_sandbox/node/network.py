"""The node's own network namespace, joined to the host by one veth pair.

Why a namespace: the kubelet, kube-proxy and the CNI bridge plugin all rewrite the
network stack they run in (iptables KUBE-* chains, a KUBE-FIREWALL that drops
non-loopback traffic to 127.0.0.0/8, a bridge device, NAT rules, forwarding
sysctls). Run in a namespace of their own, all of that disappears with the
namespace, and nothing of it touches the host or other test runs on a shared machine.

Addresses: the veth pair is a /30 in 172.30.0.0/16 that no host interface uses;
the host end (`gateway`) is where the API server, the emulator and the cluster DNS
listen, so pods reach them through the node's default route (the bridge masquerades
pod traffic to the node end's address). Pods get 10.88.0.0/16 on the bridge
inside the namespace, invisible to the host.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

VETH_POOL = ipaddress.IPv4Network("172.30.0.0/16")
POD_CIDR = "10.88.0.0/16"
NETNS_DIR = Path("/run/netns")


class NetworkError(RuntimeError):
    """A namespace or link command failed; the message carries the command and its stderr."""


def run(*argv: str) -> str:
    result = subprocess.run(
        argv, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=30
    )
    if result.returncode != 0:
        raise NetworkError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def _used_networks() -> list[ipaddress.IPv4Network]:
    links = json.loads(run("ip", "-j", "-4", "addr", "show"))
    return [
        ipaddress.IPv4Interface(f"{a['local']}/{a['prefixlen']}").network
        for link in links
        for a in link.get("addr_info", [])
    ]


def _free_subnet() -> ipaddress.IPv4Network:
    used = _used_networks()
    candidates: list[ipaddress.IPv4Network] = list(VETH_POOL.subnets(new_prefix=30))
    for _ in range(64):
        subnet = candidates[secrets.randbelow(len(candidates))]
        if not any(subnet.overlaps(u) for u in used):
            return subnet
    raise NetworkError(f"no free /30 in {VETH_POOL}")


@dataclass(frozen=True)
class NodeNetwork:
    """A network namespace named `name` and the veth pair that links it to the host."""

    name: str
    gateway: str  # host end: API server, emulator and DNS listen here
    node_ip: str  # namespace end: the node's InternalIP
    host_link: str
    pod_cidr: str = POD_CIDR

    @property
    def netns_path(self) -> Path:
        return NETNS_DIR / self.name

    def exec_prefix(self) -> list[str]:
        """Enter only the network namespace: `ip netns exec` would also unshare the mount
        namespace, and the kubelet's volume mounts must be visible to containerd's runc."""
        return ["nsenter", f"--net={self.netns_path}", "--"]

    def run_inside(self, *argv: str) -> str:
        return run(*self.exec_prefix(), *argv)

    @staticmethod
    def new_name() -> str:
        return f"icnode-{secrets.token_hex(3)}"

    @staticmethod
    def link_names(name: str) -> tuple[str, str]:
        """(host end, node end) of the veth pair; interface names have 15 bytes at most."""
        suffix = name.removeprefix("icnode-")[:8]
        return f"icn{suffix}h", f"icn{suffix}n"

    @classmethod
    def create(cls, name: str | None = None) -> NodeNetwork:
        name = name or cls.new_name()
        subnet = _free_subnet()
        gateway, node_ip = (str(h) for h in subnet.hosts())
        host_link, node_link = cls.link_names(name)
        network = cls(name=name, gateway=gateway, node_ip=node_ip, host_link=host_link)
        run("ip", "netns", "add", name)
        try:
            run("ip", "link", "add", network.host_link, "type", "veth", "peer", "name", node_link)
            run("ip", "link", "set", node_link, "netns", name)
            run("ip", "addr", "add", f"{gateway}/30", "dev", network.host_link)
            run("ip", "link", "set", network.host_link, "up")
            network.run_inside("ip", "link", "set", "lo", "up")
            network.run_inside("ip", "addr", "add", f"{node_ip}/30", "dev", node_link)
            network.run_inside("ip", "link", "set", node_link, "up")
            network.run_inside("ip", "route", "add", "default", "via", gateway)
        except BaseException:
            network.delete()
            raise
        return network

    def forward(self, address: str, port: int, to_host: str, to_port: int) -> None:
        """Make `address:port` reach `to_host:to_port` for pods: a DNAT rule in the node's
        namespace (pod traffic enters it through the bridge; the bridge's masquerade then
        applies as for any traffic leaving the node). What EKS's Pod Identity agent does
        by listening on a link-local address of the node (169.254.170.23:80) the emulator
        does from the host; the rule goes with the namespace."""
        self.run_inside(
            "iptables", "-t", "nat", "-A", "PREROUTING", "-d", f"{address}/32",
            "-p", "tcp", "--dport", str(port),
            "-j", "DNAT", "--to-destination", f"{to_host}:{to_port}",
        )  # fmt: skip

    def delete(self) -> None:
        """Remove the veth pair and the namespace (with everything the node made inside).

        Idempotent. The namespace itself only goes once no process runs in it any more.
        """
        subprocess.run(
            ["ip", "link", "del", self.host_link],
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        subprocess.run(
            ["ip", "netns", "del", self.name],
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def cni_conflist(self, data_dir: Path) -> dict[str, object]:
        """The pod network: a bridge that is the pods' gateway and masquerades their traffic.

        host-local keeps its leases in data_dir, not /var/lib/cni. containerd's CRI sets up
        each pod's loopback itself (with the `loopback` plugin from the same bin dir).
        """
        return {
            "cniVersion": "1.0.0",
            "name": self.name,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": "cni0",
                    "isGateway": True,
                    "ipMasq": True,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": self.pod_cidr}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(data_dir),
                    },
                },
            ],
        }
