"""ACK's SageMaker controller beside the local control plane and the emulator.

What runs is upstream's code, unchanged: aws-controllers-k8s/sagemaker-controller v1.9.1 and
the ACK runtime it compiles against, from the two source archives vendored in third_party/ack
(`git archive` snapshots, Apache-2.0; the Go module proxy serves every other dependency but
not these two modules, so the controller's go.mod gets a `replace` to the extracted runtime).
It is built like kube-apiserver (binaries.py): once per version, under a file lock, into
~/.cache/sagemaker-ic-operator, with the controller's CRDs (its `helm/crds/`) copied beside
the binary so a run needs neither Go nor the archives once built.

The controller talks to the emulator as to AWS: `--aws-endpoint-url` for SageMaker, the same
URL for STS (GetCallerIdentity at start, which it exits on if it fails), static keys in its
environment. vendor/ack/README.md has the traps found while getting it to run.
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ic_sandbox.cluster.binaries import (
    BinariesMissing,
    _build,
    _go,
    _Target,
    cache_root,
    ensure_cached,
    repo_root,
    run_logged,
)
from ic_sandbox.cluster.kubectl import Kubectl
from ic_sandbox.harness.crds import crd_established
from ic_sandbox.listen_ports import free_port
from ic_sandbox.peers.argocd import _http_ok
from ic_sandbox.polling import poll
from ic_sandbox.processes import ManagedProcess
from ic_sandbox.startstop import StartStop, start_or_stop

VERSION = "v1.9.1"
COMMIT = "dc4970704d3bbd86772bbb22d39b42ee12c22876"
RUNTIME_COMMIT = "95428e7b79a341b3bfcc571ae1f799a3fbfd9729"
MODULE = "github.com/aws-controllers-k8s/sagemaker-controller"
RUNTIME_MODULE = "github.com/aws-controllers-k8s/runtime"
CONTROLLER_ARCHIVE = f"sagemaker-controller-{VERSION}-{COMMIT[:7]}.tar.gz"
RUNTIME_ARCHIVE = f"runtime-{RUNTIME_COMMIT[:7]}.tar.gz"
SOURCES_ENV = "IC_OPERATOR_ACK_SOURCES"
BINARY = "ack-sagemaker-controller"
GROUP = "sagemaker.services.k8s.aws"
# The kinds the GitOps case needs, and the two common ones the runtime watches whatever it
# reconciles (it fails to start without them).
CRD_FILES = {
    "endpoints": f"{GROUP}_endpoints.yaml",
    "endpointconfigs": f"{GROUP}_endpointconfigs.yaml",
    "models": f"{GROUP}_models.yaml",
    "inferencecomponents": f"{GROUP}_inferencecomponents.yaml",
    "fieldexports": "services.k8s.aws_fieldexports.yaml",
    "iamroleselectors": "services.k8s.aws_iamroleselectors.yaml",
}


class AckError(RuntimeError):
    """ACK's controller could not be built or did not come up; the message says where to look."""


@dataclass(frozen=True)
class AckBuild:
    """The cached controller binary and the CRDs of the same commit."""

    binary: Path
    directory: Path

    @property
    def crds(self) -> tuple[Path, ...]:
        return tuple(self.directory / "crds" / name for name in CRD_FILES.values())


def sources_dir() -> Path:
    """Where the two archives are: $IC_OPERATOR_ACK_SOURCES, else the checkout's
    third_party/ack (vendored: the module proxy does not serve them, and a clean clone must
    build from its own files)."""
    if explicit := os.environ.get(SOURCES_ENV):
        return Path(explicit)
    return repo_root() / "third_party" / "ack"


def cache_dir() -> Path:
    """Keyed by both commits: a new runtime snapshot is a new build."""
    return cache_root() / "ack" / f"{VERSION}-{COMMIT[:7]}-runtime-{RUNTIME_COMMIT[:7]}"


def _version_ldflags() -> tuple[str, ...]:
    """What ACK's release build stamps: without it the controller tags what it creates
    `services.k8s.aws/controller-version: sagemaker-unknown`."""
    values = {"GitVersion": VERSION, "GitCommit": COMMIT}
    return tuple(f"-X {MODULE}/pkg/version.{key}={value}" for key, value in values.items())


def _run_go(args: Sequence[str], cwd: Path, log: Path) -> None:
    run_logged([_go(), *args], cwd, log)


def _extract(sources: Path, workdir: Path) -> Path:
    """Both archives side by side; the controller's go.mod pointed at the runtime copy.

    `go mod tidy` then only drops go.sum's lines for the runtime version go.mod asked for.
    """
    controller, runtime = workdir / "sagemaker-controller", workdir / "runtime"
    for archive, target in ((CONTROLLER_ARCHIVE, controller), (RUNTIME_ARCHIVE, runtime)):
        path = sources / archive
        if not path.is_file():
            raise BinariesMissing(
                f"{path} not found: ACK's sources are read from {sources} "
                f"(set ${SOURCES_ENV} to the directory holding {CONTROLLER_ARCHIVE} "
                f"and {RUNTIME_ARCHIVE})"
            )
        target.mkdir(parents=True)
        with tarfile.open(path) as tar:
            tar.extractall(target, filter="data")
    log = workdir / "prepare.log"
    _run_go(["mod", "edit", f"-replace={RUNTIME_MODULE}=../runtime"], controller, log)
    _run_go(["mod", "tidy"], controller, log)
    return controller


def ensure_ack(*, build: bool = True) -> AckBuild:
    """The cached controller, building it (and copying its CRDs) when `build` is true.

    The binary is written last, so its presence means the CRDs are there too.
    """
    directory = cache_dir()
    binary = directory / BINARY
    ensure_cached(
        binary,
        build=build,
        missing=f"ACK's SageMaker controller {VERSION} is not built in {directory}: "
        "run `make ack` (builds once, then cached)",
        make=lambda: _build_into(directory, binary),
        make_target="ack",
    )
    return AckBuild(binary=binary, directory=directory)


def _build_into(directory: Path, binary: Path) -> None:
    workdir = directory / f".src-{os.getpid()}"
    shutil.rmtree(workdir, ignore_errors=True)
    try:
        controller = _extract(sources_dir(), workdir)
        crds = directory / "crds"
        crds.mkdir(exist_ok=True)
        for name in CRD_FILES.values():
            shutil.copyfile(controller / "helm" / "crds" / name, crds / name)
        target = _Target(BINARY, controller, "./cmd/controller", _version_ldflags())
        _build(target, binary, directory / f"{BINARY}.build.log")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ------------------------------------------------------------------------ cluster objects


def install(kubectl: Kubectl, build: AckBuild, *, timeout: float = 60.0) -> None:
    """ACK's CRDs, server-side (several are too big for client-side apply's annotation)."""
    for crd in build.crds:
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd))
    for plural, file in CRD_FILES.items():
        name = f"{plural}.{file.split('_', 1)[0]}"
        poll(
            lambda name=name: crd_established(kubectl, name),  # type: ignore[misc]
            timeout=timeout,
            what=f"CRD {name} Established",
            error=AckError,
        )


# ------------------------------------------------------------------------ the process


@dataclass(frozen=True)
class AwsTarget:
    """Where and as whom the controller calls AWS: the emulator's URL (SageMaker and STS on
    one port), its region, and static keys the emulator issued (it verifies signatures, so
    the call log shows ACK's calls as its own principal's)."""

    url: str
    region: str
    access_key_id: str
    secret_access_key: str


class AckController(StartStop):
    """One `ack-sagemaker-controller` process watching one namespace.

    resources: the kinds it reconciles (`--reconcile-resources`); the others' informers
    are not started, so their CRDs need not even exist.
    """

    def __init__(
        self,
        workdir: Path,
        build: AckBuild,
        kubeconfig: Path,
        aws: AwsTarget,
        namespace: str,
        *,
        resources: Sequence[str] = ("Endpoint", "EndpointConfig"),
        start_timeout: float = 60.0,
    ) -> None:
        self.workdir = workdir
        self.build = build
        self.kubeconfig = kubeconfig
        self.aws = aws
        self.namespace = namespace
        self.resources = tuple(resources)
        self.start_timeout = start_timeout
        self.process: ManagedProcess | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "ack-controller.log"

    def start(self) -> AckController:
        start_or_stop(self._start, self.stop)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=10.0)
            self.process = None

    def failed(self) -> str | None:
        if self.process is None or (code := self.process.exit_code()) is None:
            return None
        return f"ACK's controller exited with {code}:\n{self.process.log_tail()}"

    def _env(self) -> dict[str, str]:
        """Only what the controller needs: a developer's AWS_PROFILE, AWS_CA_BUNDLE (with
        which every reconcile fails) or real credentials must not leak in."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "KUBECONFIG": str(self.kubeconfig),
            "AWS_ACCESS_KEY_ID": self.aws.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.aws.secret_access_key,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        health_port = free_port()
        self.process = ManagedProcess(
            "ack-controller",
            [
                str(self.build.binary),
                "--aws-region", self.aws.region,
                "--aws-endpoint-url", self.aws.url,
                "--aws-identity-endpoint-url", self.aws.url,
                "--allow-unsafe-aws-endpoint-urls",
                "--enable-carm=false",
                "--reconcile-resources", ",".join(self.resources),
                "--watch-namespace", self.namespace,
                "--metrics-addr", "127.0.0.1:0",
                "--healthz-addr", f"127.0.0.1:{health_port}",
                "--log-level", "info",
            ],
            self.log,
            env=self._env(),
        )  # fmt: skip
        self.process.start()
        url = f"http://127.0.0.1:{health_port}/readyz"

        def ready() -> bool:
            if message := self.failed():
                raise AckError(message)
            return _http_ok(url)

        poll(
            ready,
            timeout=self.start_timeout,
            what=f"ACK's SageMaker controller ready (log: {self.log})",
            error=AckError,
        )


def main(argv: list[str] | None = None) -> int:
    """`python -m ic_sandbox.peers.ack`: build the controller if it is not cached, say where."""
    del argv
    started = time.monotonic()
    try:
        build = ensure_ack(build=True)
    except BinariesMissing as exc:
        print(f"ic-operator: {exc}", file=sys.stderr)
        return 1
    print(
        f"ack-sagemaker-controller: {build.binary}\nversion: {VERSION} ({COMMIT[:7]})\n"
        f"took: {time.monotonic() - started:.0f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
