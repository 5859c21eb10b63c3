"""A real Argo CD beside the local control plane: built once, cached, started on loopback.

What runs is upstream's own code at the version tools/argocd/go.mod pins: the application
controller and the repo-server (one binary, tools/argocd/main.go), and miniredis for their
cache. That is all an Application with a git source needs; argocd-server, the UI, Dex and
the ApplicationSet controller are left out. The binary is built like kube-apiserver
(binaries.py): once per version, under a file lock, into ~/.cache/sagemaker-ic-operator.
What an Argo CD image ships beside its binary (the CRDs, upstream's default argocd-cm and
hack/git-verify-wrapper.sh, which the repo-server runs on every manifest generation) is
copied from the module into the same cache, so a run needs no Go once built.

Outside a cluster, `ARGOCD_FAKE_IN_CLUSTER=true` plus one KUBECONFIG make
`https://kubernetes.default.svc` mean that kubeconfig, so no cluster Secret is needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ic_sandbox.cluster.binaries import (
    BinariesMissing,
    _build,
    _go,
    _Target,
    cache_root,
    ensure_cached,
    repo_root,
)
from ic_sandbox.cluster.kubectl import Kubectl
from ic_sandbox.harness.crds import crd_established
from ic_sandbox.listen_ports import free_port
from ic_sandbox.polling import poll
from ic_sandbox.processes import ManagedProcess, first_exit
from ic_sandbox.startstop import StartStop, start_or_stop

MODULE = "github.com/argoproj/argo-cd/v3"
NAMESPACE = "argocd"
HEALTH_KEY = "resource.customizations.health.sagemaker.ic-operator.io_InferenceComponent"
# argo-cd's go.mod names a newer Go than most machines have; `auto` fetches that toolchain
# from the module proxy once (this machine's go defaults to `local`).
GO_ENV = {"GOTOOLCHAIN": "auto"}
# What the binary needs from the module at run time, by its name in the cache.
SUPPORT_FILES = {
    "application-crd.yaml": "manifests/crds/application-crd.yaml",
    "appproject-crd.yaml": "manifests/crds/appproject-crd.yaml",
    "argocd-cm.yaml": "manifests/base/config/argocd-cm.yaml",
    "bin/git-verify-wrapper.sh": "hack/git-verify-wrapper.sh",
}
CRD_NAMES = ("applications.argoproj.io", "appprojects.argoproj.io")


class ArgoCdError(RuntimeError):
    """Argo CD could not be built or did not come up; the message carries the log's tail."""


@dataclass(frozen=True)
class ArgoCdBuild:
    """The cached binary and the files from its module that an image would ship."""

    binary: Path
    directory: Path
    version: str

    @property
    def crds(self) -> tuple[Path, ...]:
        return (self.directory / "application-crd.yaml", self.directory / "appproject-crd.yaml")

    @property
    def default_config(self) -> Path:
        """Upstream's default argocd-cm (the part-of label, ignoreResourceUpdates, exclusions)."""
        return self.directory / "argocd-cm.yaml"

    @property
    def bin_dir(self) -> Path:
        """Goes first on the repo-server's PATH: git-verify-wrapper.sh lives here."""
        return self.directory / "bin"


def tools_dir() -> Path:
    return repo_root() / "tools" / "argocd"


def argocd_version() -> str:
    """The argo-cd release tools/argocd/go.mod requires: the cache key."""
    go_mod = tools_dir() / "go.mod"
    if not go_mod.is_file():
        raise BinariesMissing(f"{go_mod} not found: building Argo CD needs a source checkout")
    found = re.search(rf"^\s*{re.escape(MODULE)} (v\S+)", go_mod.read_text(), re.MULTILINE)
    if found is None:
        raise BinariesMissing(f"{go_mod} does not require {MODULE}")
    return found.group(1)


def cache_dir(version: str | None = None) -> Path:
    return cache_root() / "argocd" / (version or argocd_version())


def _module_dir() -> Path:
    """Where Go keeps the argo-cd module, downloading it if needed: ``go list -m`` only
    reports a module already in the module cache (an empty ``Dir`` on a fresh machine),
    ``go mod download -json`` fetches it first and reports the same directory."""
    result = subprocess.run(
        [_go(), "mod", "download", "-json", MODULE],
        cwd=tools_dir(),
        env={**os.environ, "GOFLAGS": "-mod=readonly", **GO_ENV},
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    directory = ""
    if result.returncode == 0:
        directory = str(json.loads(result.stdout).get("Dir", ""))
    if not directory:
        detail = (result.stderr.strip() or result.stdout.strip())[-2000:]
        raise BinariesMissing(f"`go mod download {MODULE}` failed: {detail}")
    return Path(directory)


def _copy_support_files(directory: Path) -> None:
    module = _module_dir()
    for name, source in SUPPORT_FILES.items():
        destination = directory / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
        shutil.copyfile(module / source, partial)
        partial.chmod(0o755 if name.startswith("bin/") else 0o644)
        partial.replace(destination)


def ensure_argocd(*, build: bool = True) -> ArgoCdBuild:
    """The cached Argo CD, building it (and copying its support files) when `build` is true.

    The binary is written last, so its presence means the support files are there too.
    """
    version = argocd_version()
    directory = cache_dir(version)
    binary = directory / "argocd"

    def make() -> None:
        _copy_support_files(directory)
        target = _Target("argocd", tools_dir(), ".")
        _build(target, binary, directory / "argocd.build.log", GO_ENV)

    ensure_cached(
        binary,
        build=build,
        missing=f"Argo CD {version} is not built in {directory}: run `make argocd` "
        "(builds once, then cached)",
        make=make,
        make_target="argocd",
    )
    return ArgoCdBuild(binary=binary, directory=directory, version=version)


# ------------------------------------------------------------------------ cluster objects


def health_script() -> Path:
    return (
        repo_root()
        / "deploy/argocd/resource_customizations/sagemaker.ic-operator.io/InferenceComponent"
        / "health.lua"
    )


def config_map(build: ArgoCdBuild) -> dict[str, Any]:
    """argocd-cm as docs/gitops.md tells users to write it: upstream's default (labelled
    part-of argocd, or the controller never sees it) plus our health check under its key."""
    config: dict[str, Any] = yaml.safe_load(build.default_config.read_text())
    config["metadata"]["namespace"] = NAMESPACE
    config["data"][HEALTH_KEY] = health_script().read_text()
    return config


def default_project() -> dict[str, Any]:
    """The AppProject `default` that argocd-server would create: every source, destination
    and cluster-scoped kind allowed."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "default", "namespace": NAMESPACE},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    }


def install(kubectl: Kubectl, build: ArgoCdBuild, *, timeout: float = 60.0) -> None:
    """What the controller expects to find: its CRDs, namespace, argocd-cm, an (empty)
    argocd-secret and the default AppProject.

    The Application CRD is too big for client-side apply's last-applied annotation, so
    everything goes server-side.
    """
    for crd in build.crds:
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd))
    for name in CRD_NAMES:
        poll(
            lambda name=name: crd_established(kubectl, name),  # type: ignore[misc]
            timeout=timeout,
            what=f"CRD {name} Established",
            error=ArgoCdError,
        )
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "argocd-secret",
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/part-of": "argocd"},
        },
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    for document in (namespace, config_map(build), secret, default_project()):
        kubectl(
            "apply", "--server-side", "--force-conflicts", "-f", "-",
            input=json.dumps(document),
        )  # fmt: skip


# ------------------------------------------------------------------------ processes


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
            connection.sendall(b"*1\r\n$4\r\nPING\r\n")  # RESP: miniredis has no inline commands
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class ArgoCd(StartStop):
    """Redis, the repo-server and the application controller under one working directory.

    app_resync: the controller's refresh period in seconds (`--app-resync`, no jitter), so
    a test can wait for a number of periods; upstream's default is 120.
    helm: the helm binary the repo-server renders Applications with a helm source with (an
    Argo CD image ships one; it runs `helm template` found on its PATH), or None when no
    Application has one.
    """

    def __init__(
        self,
        workdir: Path,
        build: ArgoCdBuild,
        kubeconfig: Path,
        *,
        app_resync: int = 10,
        helm: Path | None = None,
        start_timeout: float = 120.0,
    ) -> None:
        self.workdir = workdir
        self.build = build
        self.kubeconfig = kubeconfig
        self.app_resync = app_resync
        self.helm = helm
        self.start_timeout = start_timeout
        self.processes: list[ManagedProcess] = []

    def start(self) -> ArgoCd:
        start_or_stop(self._start, self.stop)
        return self

    def stop(self) -> None:
        """The controller first (it talks to the other two), then the repo-server, Redis."""
        for process in reversed(self.processes):
            process.stop(timeout=10.0)
        self.processes = []

    def failed(self) -> str | None:
        return first_exit(self.processes)

    def log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def _tools_dir(self) -> Path:
        """A directory of the tools the repo-server runs, each under the name it looks up:
        git-verify-wrapper.sh from the build, helm linked in (its own directory may hold
        other binaries that should not shadow the machine's)."""
        tools = self.workdir / "bin"
        tools.mkdir(parents=True, exist_ok=True)
        sources = {path.name: path for path in self.build.bin_dir.iterdir()}
        if self.helm is not None:
            sources["helm"] = self.helm
        for name, source in sources.items():
            link = tools / name
            link.unlink(missing_ok=True)
            link.symlink_to(source.resolve())
        return tools

    def _env(self) -> dict[str, str]:
        tmp = self.workdir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "ARGOCD_FAKE_IN_CLUSTER": "true",
            "KUBECONFIG": str(self.kubeconfig),
            "ARGOCD_GPG_ENABLED": "false",
            "TMPDIR": str(tmp),
            "ARGOCD_ASK_PASS_SOCK": str(self.workdir / "askpass.sock"),
            "PATH": f"{self._tools_dir()}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def _spawn(self, name: str, *args: str) -> ManagedProcess:
        process = ManagedProcess(
            name, [str(self.build.binary), *args], self.log(name), env=self._env()
        )
        self.processes.append(process)
        process.start()
        return process

    def _wait(self, process: ManagedProcess, ready: Callable[[], bool], deadline: float) -> None:
        def probe() -> bool:
            if (code := process.exit_code()) is not None:
                raise ArgoCdError(f"{process.name} exited with {code}:\n{process.log_tail()}")
            return ready()

        poll(
            probe,
            timeout=max(deadline - time.monotonic(), 0.0),
            what=f"Argo CD's {process.name} (log: {process.log_path})",
            error=ArgoCdError,
        )

    def _start(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        redis_port = free_port()
        redis = self._spawn("redis", "redis", f"127.0.0.1:{redis_port}")
        self._wait(redis, lambda: _redis_answers(redis_port), deadline)
        redis_address = f"127.0.0.1:{redis_port}"

        repo_port, repo_metrics = free_port(), free_port()
        repo_server = self._spawn(
            "repo-server", "repo-server",
            "--address", "127.0.0.1", "--port", str(repo_port),
            "--metrics-address", "127.0.0.1", "--metrics-port", str(repo_metrics),
            "--redis", redis_address, "--logformat", "text",
        )  # fmt: skip
        self._wait(
            repo_server, lambda: _http_ok(f"http://127.0.0.1:{repo_metrics}/healthz"), deadline
        )

        controller_metrics = free_port()
        controller = self._spawn(
            "controller", "controller",
            "--kubeconfig", str(self.kubeconfig), "--namespace", NAMESPACE,
            "--repo-server", f"127.0.0.1:{repo_port}", "--redis", redis_address,
            "--app-resync", str(self.app_resync), "--app-resync-jitter", "0",
            "--metrics-port", str(controller_metrics),
            # Each resource's health in the Application's status: what the tests read.
            "--persist-resource-health",
            "--logformat", "text",
        )  # fmt: skip
        self._wait(
            controller,
            lambda: _http_ok(f"http://127.0.0.1:{controller_metrics}/healthz"),
            deadline,
        )


def main(argv: list[str] | None = None) -> int:
    """`python -m ic_sandbox.peers.argocd`: build Argo CD if it is not cached, print where it is."""
    del argv
    try:
        build = ensure_argocd(build=True)
    except BinariesMissing as exc:
        print(f"ic-operator: {exc}", file=sys.stderr)
        return 1
    print(f"argocd: {build.binary}\nversion: {build.version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
