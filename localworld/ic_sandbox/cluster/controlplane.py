"""A real Kubernetes control plane (etcd + kube-apiserver) on loopback, like envtest.

What it is: TLS everywhere with a fresh CA, an admin client certificate in
group system:masters, RBAC authorisation, the usual admission plugins and
service-account token signing. What it is not: there is no kube-controller-manager,
scheduler or kubelet, so nothing garbage-collects owner references, namespaces stay
Terminating after deletion, and pods never run. That is exactly what an operator
test needs: the API server's own behaviour (schemas, CEL, subresources,
generation, resourceVersion conflicts, finalizers, watches) and nothing that would
make a test depend on timing of controllers it does not own.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import shutil
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from ic_sandbox.cluster import certs
from ic_sandbox.cluster.binaries import Binaries
from ic_sandbox.listen_ports import free_port
from ic_sandbox.processes import ManagedProcess, first_exit
from ic_sandbox.startstop import StartStop

CONTEXT = "ic-operator-sandbox"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/24"
KUBERNETES_SERVICE_IP = "10.96.0.1"  # the first address of the range: the `kubernetes` Service
# All are on by default in recent releases except NodeRestriction; naming them makes
# the set explicit and keeps it stable if a release changes the defaults.
ADMISSION_PLUGINS = [
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "DefaultStorageClass",
    "DefaultTolerationSeconds",
    "NodeRestriction",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
]
_PORT_ATTEMPTS = 3

_live: set[ControlPlane] = set()


class ControlPlaneError(RuntimeError):
    """The control plane did not come up; the message carries the failing log's tail."""


class _PortTaken(ControlPlaneError):
    pass


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(
    path: Path,
    server: str,
    pki: certs.Pki,
    user: certs.KeyPair | None = None,
    user_name: str = certs.ADMIN_USER,
) -> None:
    """A self-contained kubeconfig (certificates embedded) for the admin user, or for
    another client certificate of the same CA."""
    client = user or pki.admin
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {"server": server, "certificate-authority-data": _b64(pki.ca.cert)},
            }
        ],
        "users": [
            {
                "name": user_name,
                "user": {
                    "client-certificate-data": _b64(client.cert),
                    "client-key-data": _b64(client.key),
                },
            }
        ],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user_name}}],
        "current-context": CONTEXT,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


class ControlPlane(StartStop):
    """etcd and kube-apiserver under one working directory; start() and stop() them.

    Use as a context manager, or call start()/stop(). stop() also runs at interpreter
    exit for any control plane still up, and the children die with their parent.
    """

    def __init__(
        self,
        workdir: Path,
        binaries: Binaries,
        *,
        start_timeout: float = 90.0,
        address: str = "127.0.0.1",
    ) -> None:
        """address: where kube-apiserver listens. Loopback (the default) serves host
        processes only; a local node (ic_sandbox.node.node) passes its gateway address so that
        its pods reach the API server, and the server then runs as for a cluster with
        nodes (Node authorizer, `kubernetes` endpoints at that address)."""
        self.workdir = workdir
        self.address = address
        self.binaries = binaries
        self.start_timeout = start_timeout
        self.kubeconfig = workdir / "kubeconfig"
        self.server = ""
        self.processes: list[ManagedProcess] = []
        self.pki: certs.Pki | None = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> ControlPlane:
        _live.add(self)
        try:
            for attempt in range(1, _PORT_ATTEMPTS + 1):
                try:
                    self._start_once()
                    return self
                except _PortTaken:
                    self._stop_processes()
                    if attempt == _PORT_ATTEMPTS:
                        raise
        except BaseException:
            self.stop()
            raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the apiserver first (it writes to etcd), then etcd. Idempotent."""
        self._stop_processes()
        _live.discard(self)

    def _stop_processes(self) -> None:
        # A kube-apiserver whose etcd is gone never finishes a graceful shutdown; when
        # any server has already died, the rest get a short grace before SIGKILL.
        grace = 10.0 if all(p.running() for p in self.processes) else 1.0
        for process in reversed(self.processes):
            process.stop(timeout=grace)
        self.processes = []

    def failed(self) -> str | None:
        """A description of the first managed process that has exited, if any."""
        return first_exit(self.processes)

    def exports(self) -> dict[str, str]:
        """Environment a client needs to reach this control plane."""
        return {"KUBECONFIG": str(self.kubeconfig)}

    # -- start-up ------------------------------------------------------------------

    def _start_once(self) -> None:
        for owned in ("etcd-data", "pki", "logs"):
            shutil.rmtree(self.workdir / owned, ignore_errors=True)
        self.kubeconfig.unlink(missing_ok=True)  # a stale one would point at a dead port
        self.workdir.mkdir(parents=True, exist_ok=True)
        extra_ips = () if self._loopback else (self.address, KUBERNETES_SERVICE_IP)
        pki = self.pki = certs.generate(self.workdir / "pki", apiserver_ips=extra_ips)
        deadline = time.monotonic() + self.start_timeout

        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_url = f"https://127.0.0.1:{etcd_port}"
        etcd = ManagedProcess("etcd", self._etcd_argv(pki, etcd_url, peer_port), self._log("etcd"))
        self.processes.append(etcd)
        etcd.start()
        self._wait_ready(etcd, f"{etcd_url}/health", pki.apiserver_etcd_client, deadline)

        self.server = f"https://{self.address}:{api_port}"
        apiserver = ManagedProcess(
            "kube-apiserver", self._apiserver_argv(pki, etcd_url, api_port), self._log("apiserver")
        )
        self.processes.append(apiserver)
        apiserver.start()
        self._wait_ready(apiserver, f"{self.server}/readyz", pki.admin, deadline)
        write_kubeconfig(self.kubeconfig, self.server, pki)

    def _log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def _etcd_argv(self, pki: certs.Pki, client_url: str, peer_port: int) -> list[str]:
        peer_url = f"http://127.0.0.1:{peer_port}"
        return [
            str(self.binaries.etcd),
            "--name=sandbox",
            f"--data-dir={self.workdir / 'etcd-data'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=sandbox={peer_url}",
            f"--cert-file={pki.etcd_server.cert}",
            f"--key-file={pki.etcd_server.key}",
            f"--trusted-ca-file={pki.ca.cert}",
            "--client-cert-auth=true",
            # A throw-away store: durability buys nothing and fsync dominates write latency.
            "--unsafe-no-fsync=true",
        ]

    @property
    def _loopback(self) -> bool:
        return self.address.startswith("127.")

    def _node_argv(self, pki: certs.Pki) -> list[str]:
        if self._loopback:
            # The endpoint reconciler refuses a loopback address, and nothing runs in-cluster
            # that would read the `kubernetes` Service's endpoints.
            return ["--endpoint-reconciler-type=none", "--authorization-mode=RBAC"]
        return [
            "--endpoint-reconciler-type=lease",
            # Kubelets sign in as system:node:<name>; the Node authorizer scopes them.
            "--authorization-mode=Node,RBAC",
            # `kubectl logs`/`exec` reach the kubelet at its InternalIP, as the admin.
            "--kubelet-preferred-address-types=InternalIP",
            f"--kubelet-client-certificate={pki.admin.cert}",
            f"--kubelet-client-key={pki.admin.key}",
        ]

    def _apiserver_argv(self, pki: certs.Pki, etcd_url: str, port: int) -> list[str]:
        return [
            str(self.binaries.kube_apiserver),
            f"--bind-address={self.address}",
            f"--advertise-address={self.address}",
            *self._node_argv(pki),
            f"--secure-port={port}",
            f"--tls-cert-file={pki.apiserver_server.cert}",
            f"--tls-private-key-file={pki.apiserver_server.key}",
            f"--client-ca-file={pki.ca.cert}",
            f"--etcd-servers={etcd_url}",
            f"--etcd-cafile={pki.ca.cert}",
            f"--etcd-certfile={pki.apiserver_etcd_client.cert}",
            f"--etcd-keyfile={pki.apiserver_etcd_client.key}",
            f"--enable-admission-plugins={','.join(ADMISSION_PLUGINS)}",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--allow-privileged=true",
            "--profiling=false",
        ]

    def _wait_ready(
        self, process: ManagedProcess, url: str, client: certs.KeyPair, deadline: float
    ) -> None:
        """Poll url until it answers 200, failing fast if the process dies."""
        assert self.pki is not None
        context = ssl.create_default_context(cafile=str(self.pki.ca.cert))
        context.load_cert_chain(str(client.cert), str(client.key))
        last = "no answer yet"
        while True:
            code = process.exit_code()
            if code is not None:
                tail = process.log_tail()
                error = _PortTaken if "address already in use" in tail else ControlPlaneError
                raise error(f"{process.name} exited with {code} during start-up:\n{tail}")
            try:
                with urllib.request.urlopen(url, context=context, timeout=5) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read()[:2000].decode(errors='replace')}"
            except (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError) as exc:
                last = str(exc)
            if time.monotonic() > deadline:
                raise ControlPlaneError(
                    f"{process.name} not ready at {url} within {self.start_timeout:.0f}s "
                    f"(last: {last}); log tail:\n{process.log_tail()}"
                )
            time.sleep(0.1)


@atexit.register
def _stop_all() -> None:
    for control_plane in list(_live):
        with contextlib.suppress(Exception):
            control_plane.stop()
