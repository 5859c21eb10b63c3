"""The whole local world as one object: control plane, CRD, emulator, seed, operator.

`ic-sandbox up` runs it until Ctrl-C; `ic-sandbox demo` runs it in-process
and drives it. Components start in order and stop in reverse order; start() stops
whatever it already started when a later part fails, so a failed start leaves
nothing running.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ic_sandbox.cluster.binaries import Binaries, ensure_binaries, find_kubectl
from ic_sandbox.cluster.controlplane import ControlPlane
from ic_sandbox.cluster.kubectl import Kubectl
from ic_sandbox.harness.emulator_process import aws_env
from ic_sandbox.harness.identity import ANY_CREDENTIALS, AwsCredentials
from ic_sandbox.processes import ManagedProcess
from ic_sandbox.sandbox.components import (
    CrdInstall,
    SandboxEmulator,
    SandboxError,
    SandboxOperator,
    Seed,
)
from ic_sandbox.startstop import StartStop


class Component(Protocol):
    """Something the sandbox runs: started in order, stopped in reverse order."""

    def start(self) -> object: ...

    def stop(self) -> None: ...

    def failed(self) -> str | None:
        """Why the component stopped working, or None while it is healthy."""

    def exports(self) -> dict[str, str]:
        """Environment variables a client shell needs for this component."""


@dataclass(frozen=True)
class Options:
    directory: Path
    build: bool = True
    emulator: bool = True
    operator: bool = True
    resync_interval: float = 30.0
    time_scale: float = 0.02
    # Extra `ic-operator run` flags, after the sandbox's own (so they win): any setting
    # of the operator can be tried locally, e.g. a shorter --autoscaling-resync-interval.
    operator_flags: tuple[str, ...] = ()


def write_env(path: Path, exports: dict[str, str]) -> None:
    lines = [f"export {name}={shlex.quote(value)}" for name, value in exports.items()]
    path.write_text("\n".join(lines) + "\n")


class Sandbox(StartStop):
    def __init__(self, options: Options) -> None:
        self.options = options
        self.directory = options.directory.resolve()
        self.components: list[Component] = []
        self.binaries: Binaries | None = None
        self.control_plane: ControlPlane | None = None
        self.emulator: SandboxEmulator | None = None
        self.operator: SandboxOperator | None = None
        self.kubectl: Kubectl | None = None
        self.kubeconfig = self.directory / "kubeconfig"
        self.env_file = self.directory / "env"

    def _run(self, component: Component) -> None:
        self.components.append(component)  # first, so a half-started part is stopped too
        component.start()

    def start(self) -> Sandbox:
        """Bring everything up and write DIR/env; on any failure stop what started."""
        options = self.options
        if options.time_scale <= 0 or options.resync_interval <= 0:
            raise SandboxError("--time-scale and --resync-interval must be positive")
        endpoint_url = ""
        if not options.emulator and options.operator:
            # Without our emulator the operator would talk to whatever boto3 finds, which
            # may be real AWS; insist on an explicit endpoint instead.
            endpoint_url = os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER", "")
            if not endpoint_url:
                raise SandboxError(
                    "--no-emulator with the operator needs AWS_ENDPOINT_URL_SAGEMAKER "
                    "(an emulator you run yourself); add --no-operator otherwise"
                )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.env_file.unlink(missing_ok=True)
        try:
            self.binaries = ensure_binaries(build=options.build)
            self.control_plane = ControlPlane(self.directory / "controlplane", self.binaries)
            self._run(self.control_plane)
            # A stable path for the user, whatever the control plane's own layout.
            self.kubeconfig.write_bytes(self.control_plane.kubeconfig.read_bytes())
            self.kubeconfig.chmod(0o600)
            self.kubectl = Kubectl(
                find_kubectl(), self.kubeconfig, self.directory / "kube-cache", error=SandboxError
            )
            self._run(CrdInstall(self.kubectl))
            if options.emulator:
                self.emulator = SandboxEmulator(self.directory, time_scale=options.time_scale)
                self._run(self.emulator)
                self._run(Seed(self.emulator))
                endpoint_url = self.emulator.url
            if options.operator:
                self.operator = SandboxOperator(
                    self.directory,
                    self.kubeconfig,
                    lambda: endpoint_url,
                    self._operator_credentials,
                    resync_interval=options.resync_interval,
                    time_scale=options.time_scale,
                    extra_flags=options.operator_flags,
                )
                self._run(self.operator)
            write_env(self.env_file, self.env())
        except BaseException:
            self.stop()
            raise
        return self

    def _operator_credentials(self) -> AwsCredentials:
        """The operator's own session of the role ic-operator (our emulator), else dummy ones."""
        return self.emulator.operator_credentials() if self.emulator else ANY_CREDENTIALS

    def env(self) -> dict[str, str]:
        exports = {"KUBECONFIG": str(self.kubeconfig)}
        for component in self.components:
            if not isinstance(component, ControlPlane):
                exports.update(component.exports())
        if self.emulator is None and os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER"):
            # An emulator of the user's own: its identity is unknown, dummy credentials
            # (it must run in the "any credentials" mode, docs/sandbox.md).
            exports.update(aws_env(os.environ["AWS_ENDPOINT_URL_SAGEMAKER"], ANY_CREDENTIALS))
        return exports

    def processes(self) -> list[ManagedProcess]:
        """Every long-running child, for the banner and for tests that check cleanup."""
        found: list[ManagedProcess] = []
        if self.control_plane is not None:
            found.extend(self.control_plane.processes)
        if self.emulator is not None and self.emulator.process is not None:
            found.append(self.emulator.process)
        if self.operator is not None and self.operator.process is not None:
            found.append(self.operator.process)
        return found

    def failed(self) -> str | None:
        for component in self.components:
            if (reason := component.failed()) is not None:
                return reason
        return None

    def stop(self) -> None:
        """Reverse order: the operator first (it talks to both), the API server last."""
        self.env_file.unlink(missing_ok=True)
        while self.components:
            self.components.pop().stop()

    def banner(self) -> str:
        assert self.control_plane is not None and self.binaries is not None
        lines = [
            f"  Kubernetes {self.binaries.kubernetes_version} at {self.control_plane.server}",
        ]
        if self.emulator is not None and self.emulator.process is not None:
            lines.append(
                f"  SageMaker emulator at {self.emulator.url} "
                f"(time scale {self.options.time_scale}, log {self.emulator.process.log_path})"
            )
        if self.operator is not None and self.operator.process is not None:
            lines.append(
                f"  operator: resync every {self.options.resync_interval:g}s, "
                f"metrics {self.operator.metrics_url}, log {self.operator.process.log_path}"
            )
        pids = ", ".join(f"{p.name} {p.pid}" for p in self.processes())
        lines.append(f"  processes: {pids}")
        lines.append(f"  source {self.env_file}")
        return "\n".join(lines)
