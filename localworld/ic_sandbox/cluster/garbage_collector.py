"""Kubernetes' garbage collector beside the local control plane, for suites that delete in
the foreground.

The control plane (controlplane.py) runs no kube-controller-manager on purpose. Argo CD
prunes with `propagationPolicy: Foreground`: the API server then adds the
`foregroundDeletion` finalizer, which only the garbage collector removes (once the
object's dependents are gone), so without it a pruned object never goes away although our
operator has long removed its own finalizer. The real collector, rather than a test that
strips the finalizer itself, keeps the order of the two finalizers and the time the
collector takes exactly as on a cluster.

It is the node suite's kube-controller-manager (binaries.py builds and caches it) with
only the `garbagecollector` controller on, as the admin user, no leader election.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from pathlib import Path

from ic_sandbox.cluster.binaries import NodeBinaries
from ic_sandbox.listen_ports import free_port
from ic_sandbox.polling import poll
from ic_sandbox.processes import ManagedProcess
from ic_sandbox.startstop import StartStop


class GarbageCollectorError(RuntimeError):
    """kube-controller-manager exited or did not become healthy; carries its log's tail."""


class GarbageCollector(StartStop):
    """kube-controller-manager running only the garbage collector against `kubeconfig`."""

    def __init__(
        self, workdir: Path, binaries: NodeBinaries, kubeconfig: Path, *, timeout: float = 60.0
    ) -> None:
        self.workdir = workdir
        self.binaries = binaries
        self.kubeconfig = kubeconfig
        self.timeout = timeout
        self.port = free_port()
        self.process = ManagedProcess(
            "kube-controller-manager", self._argv(), workdir / "logs" / "controller-manager.log"
        )

    def _argv(self) -> list[str]:
        kubeconfig = str(self.kubeconfig)
        return [
            str(self.binaries.kube_controller_manager),
            "--controllers=garbagecollector",
            f"--kubeconfig={kubeconfig}",
            # Its own HTTPS port (for /healthz) authenticates callers through the API server.
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--authentication-skip-lookup=true",  # the API server has no front-proxy CA
            "--bind-address=127.0.0.1",
            f"--secure-port={self.port}",
            f"--cert-dir={self.workdir / 'certs'}",
            "--leader-elect=false",
        ]

    def start(self) -> GarbageCollector:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process.start()
        try:
            poll(self._healthy, timeout=self.timeout, what="kube-controller-manager's /healthz",
                 error=GarbageCollectorError)  # fmt: skip
        except BaseException:
            self.stop()
            raise
        return self

    def _healthy(self) -> bool:
        if (code := self.process.exit_code()) is not None:
            raise GarbageCollectorError(
                f"kube-controller-manager exited with {code}:\n{self.process.log_tail()}"
            )
        # Its serving certificate is self-signed, made at start: nothing to verify it with.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(
                f"https://127.0.0.1:{self.port}/healthz", context=context, timeout=2
            ) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError):
            return False

    def stop(self) -> None:
        self.process.stop()
