"""A real Kubernetes node for the local control plane: pods actually run.

What it starts, all from the same Kubernetes release as the API server (cluster/binaries.py)
and Debian's containerd, runc and CNI plugins:

- a network namespace joined to the host by a veth pair (network.py); the API
  server, the emulator and the cluster DNS listen on the host end (`gateway`);
- inside it: a private containerd (containerd.py), the kubelet, kube-proxy in
  iptables mode (so the `kubernetes` Service ClusterIP leads to the API server),
  kube-scheduler and kube-controller-manager;
- on the host: the cluster DNS responder (dns.py) on the gateway address.

Every component signs in as the identity Kubernetes' bootstrap RBAC and the Node
authorizer expect (system:node:<name>, system:kube-proxy, system:kube-scheduler,
system:kube-controller-manager with per-controller service accounts).

What it changes on the host and restores at stop() is in hosteffects.py; a test
compares `HostState.capture()` before start and after stop.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from ic_sandbox.cluster import certs
from ic_sandbox.cluster.binaries import NodeBinaries, find_kubectl
from ic_sandbox.cluster.controlplane import ControlPlane, write_kubeconfig
from ic_sandbox.node import hosteffects
from ic_sandbox.node.containerd import Containerd, build_pause_archive
from ic_sandbox.node.network import NodeNetwork
from ic_sandbox.processes import ManagedProcess, first_exit
from ic_sandbox.startstop import start_or_stop

DNS_PORT = 53
_live: set[Node] = set()


class NodeError(RuntimeError):
    """The node did not come up; the message carries the failing component's log tail."""


class Node:
    """One node joined to control_plane, which must listen on network.gateway."""

    def __init__(
        self,
        workdir: Path,
        control_plane: ControlPlane,
        network: NodeNetwork,
        binaries: NodeBinaries,
        *,
        ready_timeout: float = 120.0,
    ) -> None:
        if control_plane.address != network.gateway:
            raise ValueError("the control plane must listen on the node network's gateway")
        self.workdir = workdir
        self.control_plane = control_plane
        self.network = network
        self.binaries = binaries
        self.ready_timeout = ready_timeout
        self.name = network.name
        self.containerd = Containerd(
            workdir / "containerd", workdir / "cni" / "net.d", network.exec_prefix()
        )
        self.processes: list[ManagedProcess] = []
        self._sysctls: dict[str, str] = {}
        self._created_dirs: list[Path] = []

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Node:
        _live.add(self)
        start_or_stop(self._start, self.stop)
        return self

    def _start(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        self._sysctls = hosteffects.read_sysctls()
        self._created_dirs = [
            d for d in (hosteffects.CNI_STATE, hosteffects.LEGACY_CONTAINER_LOGS) if not d.exists()
        ]
        self.workdir.mkdir(parents=True, exist_ok=True)
        for hierarchy in hosteffects.cgroup_hierarchies():
            (hierarchy / self.name).mkdir(exist_ok=True)
        conf_dir = self.workdir / "cni" / "net.d"
        conf_dir.mkdir(parents=True, exist_ok=True)
        (conf_dir / "10-node.conflist").write_text(
            json.dumps(self.network.cni_conflist(self.workdir / "cni" / "leases"), indent=2)
        )
        self.containerd.start()
        self.containerd.import_image(build_pause_archive(self.workdir / "pause"))

        pki = self.control_plane.pki
        assert pki is not None
        kubeconfigs = {
            component: self._kubeconfig(pki, component, common_name, organization)
            for component, common_name, organization in (
                ("kubelet", f"system:node:{self.name}", "system:nodes"),
                ("kube-proxy", "system:kube-proxy", None),
                ("kube-scheduler", "system:kube-scheduler", None),
                ("kube-controller-manager", "system:kube-controller-manager", None),
            )
        }
        # The DNS only reads Services: kube-proxy's identity (system:node-proxier) can.
        self._start_process(
            "dns",
            [
                sys.executable,
                "-m",
                "ic_sandbox.node.dns",
                f"--listen={self.network.gateway}:{DNS_PORT}",
                f"--kubeconfig={kubeconfigs['kube-proxy']}",
            ],
            inside=False,
        )
        self._start_process("kube-scheduler", self._scheduler_argv(kubeconfigs["kube-scheduler"]))
        self._start_process(
            "kube-controller-manager",
            self._controller_manager_argv(pki, kubeconfigs["kube-controller-manager"]),
        )
        self._start_process("kube-proxy", self._kube_proxy_argv(kubeconfigs["kube-proxy"]))
        self._start_process("kubelet", self._kubelet_argv(pki, kubeconfigs["kubelet"]))
        self._wait_ready(deadline)

    def stop(self) -> None:
        """Stop everything and undo its host effects. Idempotent; runs at exit too."""
        # The kubelet first (it was started last), or it would restart the containers
        # killed next.
        for process in reversed(self.processes):
            process.stop(timeout=10.0)
        self.processes = []
        with contextlib.suppress(Exception):
            self.containerd.kill_all_tasks()
        self.containerd.stop()
        self._kill_cgroup_members()
        hosteffects.kill_processes_using(str(self.workdir))
        hosteffects.unmount_under(self.workdir)
        hosteffects.remove_cgroup_tree(self.name)
        self.network.delete()
        if self._sysctls:
            hosteffects.restore_sysctls(self._sysctls)
        hosteffects.remove_cni_state(self.name)
        hosteffects.remove_container_log_links(self.workdir)
        for directory in self._created_dirs:
            _remove_empty_tree(directory)
        _live.discard(self)

    def _kill_cgroup_members(self) -> None:
        """Container processes re-parent to init when their shim dies: find them by cgroup."""
        for hierarchy in hosteffects.cgroup_hierarchies():
            for procs in (hierarchy / self.name).rglob("cgroup.procs"):
                with contextlib.suppress(OSError):
                    for pid in procs.read_text().split():
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(int(pid), signal.SIGKILL)

    # -- helpers -------------------------------------------------------------------

    def import_image(self, archive: Path) -> None:
        """Make an OCI archive (`podman save --format oci-archive`) runnable by pods."""
        self.containerd.import_image(archive)

    def failed(self) -> str | None:
        """A description of the first component that has exited, if any."""
        return first_exit(self.processes)

    def log(self, component: str) -> Path:
        return self.workdir / "logs" / f"{component}.log"

    def _start_process(self, name: str, argv: list[str], *, inside: bool = True) -> None:
        prefix = self.network.exec_prefix() if inside else []
        process = ManagedProcess(name, [*prefix, *argv], self.log(name))
        self.processes.append(process)
        process.start()

    def _kubeconfig(
        self, pki: certs.Pki, component: str, common_name: str, organization: str | None
    ) -> Path:
        pair = certs.issue_client(pki, component, common_name, organization)
        path = self.workdir / "kubeconfigs" / component
        path.parent.mkdir(parents=True, exist_ok=True)
        write_kubeconfig(path, self.control_plane.server, pki, pair, common_name)
        return path

    @staticmethod
    def _controller_flags(kubeconfig: Path) -> list[str]:
        """What the scheduler and the controller-manager share: one identity for the API
        and for delegated authentication of their own (namespace-local) HTTPS port."""
        return [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            # The API server has no front-proxy CA: do not look for one.
            "--authentication-skip-lookup=true",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
        ]

    def _scheduler_argv(self, kubeconfig: Path) -> list[str]:
        return [str(self.binaries.kube_scheduler), *self._controller_flags(kubeconfig)]

    def _controller_manager_argv(self, pki: certs.Pki, kubeconfig: Path) -> list[str]:
        return [
            str(self.binaries.kube_controller_manager),
            *self._controller_flags(kubeconfig),
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki.service_account_key}",
            f"--root-ca-file={pki.ca.cert}",
            f"--cluster-signing-cert-file={pki.ca.cert}",
            f"--cluster-signing-key-file={pki.ca.key}",
        ]

    def _kube_proxy_argv(self, kubeconfig: Path) -> list[str]:
        config = {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(kubeconfig)},
            "mode": "iptables",
            "hostnameOverride": self.name,
            "clusterCIDR": self.network.pod_cidr,
            "bindAddress": self.network.node_ip,
            "healthzBindAddress": "127.0.0.1:10256",
            "metricsBindAddress": "127.0.0.1:10249",
            # Zero: leave the kernel's conntrack table size and timeouts alone (some are
            # host-wide, not per network namespace).
            "conntrack": {
                "maxPerCore": 0,
                "min": 0,
                "tcpEstablishedTimeout": "0s",
                "tcpCloseWaitTimeout": "0s",
            },
            "iptables": {"localhostNodePorts": False},
        }
        path = self.workdir / "kube-proxy.yaml"
        path.write_text(yaml.safe_dump(config))
        return [str(self.binaries.kube_proxy), f"--config={path}"]

    def _kubelet_argv(self, pki: certs.Pki, kubeconfig: Path) -> list[str]:
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            # This machine has cgroup v1 (hybrid) and no systemd as PID 1.
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            # Pods' cgroups under the node's own root, not a host-wide /kubepods.
            "cgroupRoot": f"/{self.name}",
            "containerRuntimeEndpoint": f"unix://{self.containerd.socket}",
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(pki.ca.cert)},
            },
            "authorization": {"mode": "Webhook"},
            "address": self.network.node_ip,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "failSwapOn": False,
            "enforceNodeAllocatable": [],
            # A shared disk must not evict the test's pods, nor garbage-collect its images.
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "1%",
                "nodefs.inodesFree": "1%",
                "imagefs.available": "1%",
            },
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "serializeImagePulls": False,
            "clusterDNS": [self.network.gateway],
            "clusterDomain": "cluster.local",
            "resolvConf": "",
            "podLogsDir": str(self.workdir / "pod-logs"),
            "volumePluginDir": str(self.workdir / "volume-plugins"),
            "rotateCertificates": False,
            "maxPods": 30,
        }
        path = self.workdir / "kubelet.yaml"
        path.write_text(yaml.safe_dump(config))
        return [
            str(self.binaries.kubelet),
            f"--config={path}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={self.workdir / 'kubelet'}",
            f"--cert-dir={self.workdir / 'kubelet-pki'}",
            f"--hostname-override={self.name}",
            f"--node-ip={self.network.node_ip}",
        ]

    def _get(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(find_kubectl()), f"--kubeconfig={self.control_plane.kubeconfig}", "get", *args],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def _wait_ready(self, deadline: float) -> None:
        """Until the Node is Ready and pods can be created: the controller-manager has
        made the `default` ServiceAccount, without which admission rejects every pod."""
        last = "not registered yet"
        while True:
            if (failure := self.failed()) is not None:
                raise NodeError(failure)
            result = self._get("node", self.name, "-o", "json")
            if result.returncode == 0:
                conditions = json.loads(result.stdout)["status"].get("conditions", [])
                ready = [c for c in conditions if c["type"] == "Ready"]
                last = json.dumps(ready)
                if ready and ready[0]["status"] == "True":
                    if self._get("serviceaccount", "default", "-n", "default").returncode == 0:
                        return
                    last = "Ready; no default ServiceAccount yet"
            if time.monotonic() > deadline:
                kubelet = next(p for p in self.processes if p.name == "kubelet")
                raise NodeError(
                    f"node {self.name} not Ready in {self.ready_timeout:.0f}s ({last}); "
                    f"kubelet log tail:\n{kubelet.log_tail()}"
                )
            time.sleep(0.5)


def _remove_empty_tree(directory: Path) -> None:
    """rmdir directory and its subdirectories if nothing but empty directories is left."""
    if not directory.is_dir():
        return
    for path, _, _ in sorted(os.walk(directory), key=lambda e: len(e[0]), reverse=True):
        with contextlib.suppress(OSError):
            Path(path).rmdir()


@atexit.register
def _stop_all() -> None:
    for node in list(_live):
        with contextlib.suppress(Exception):
            node.stop()
