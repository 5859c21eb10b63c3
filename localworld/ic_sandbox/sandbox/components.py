"""The sandbox's parts beyond the control plane: CRD, emulator, seed endpoints, operator.

Each has the sandbox's component shape (start, stop, failed, exports) around the
harness's part that the tests and the bench start too (ic_sandbox.harness): the
emulator and the operator are child processes (own process group, die with the
sandbox), started exactly as a user would start them, with their logs in DIR. The CRD
and the seed are one-shot steps that do their work in start().
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from ic_sandbox.cluster.kubectl import Kubectl
from ic_sandbox.harness.crds import install_crds
from ic_sandbox.harness.emulator_process import EmulatorProcess, aws_env
from ic_sandbox.harness.identity import AwsCredentials
from ic_sandbox.harness.operator_process import OperatorProcess, operator_env
from ic_sandbox.processes import ManagedProcess
from ic_sandbox.sandbox.seed import seed_endpoints

EXAMPLES_NAMESPACE = "ml-serving"


class SandboxError(RuntimeError):
    """A sandbox part did not come up; the message says which and why."""


class OneShotStep:
    """A step that does all its work in start(): nothing runs on to stop, watch or export."""

    def stop(self) -> None:
        pass

    def failed(self) -> str | None:
        return None

    def exports(self) -> dict[str, str]:
        return {}


class CrdInstall(OneShotStep):
    """Applies the CRD (server-side, like an upgrade) and the examples' namespace."""

    def __init__(self, kubectl: Kubectl, *, timeout: float = 60.0) -> None:
        self.kubectl = kubectl
        self.timeout = timeout

    def start(self) -> CrdInstall:
        install_crds(self.kubectl, timeout=self.timeout, error=SandboxError)
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": EXAMPLES_NAMESPACE},
        }
        self.kubectl("apply", "-f", "-", input=json.dumps(namespace))
        return self


class SandboxEmulator(EmulatorProcess):
    """`ic-sandbox emulator` on a port the kernel picks, logging to DIR/emulator.log; a
    failure, its admin API's included, is a SandboxError."""

    def __init__(self, directory: Path, *, time_scale: float) -> None:
        super().__init__(
            directory / "emulator.log",
            time_scale=time_scale,
            error=SandboxError,
            admin_error=SandboxError,
        )

    def exports(self) -> dict[str, str]:
        """The user's shell signs as the harness's admin user, not as the operator."""
        return aws_env(self.url, self.credentials)


class Seed(OneShotStep):
    """Creates, in the emulator, the endpoints that examples/ refer to."""

    def __init__(self, emulator: EmulatorProcess, *, timeout: float = 60.0) -> None:
        self.emulator = emulator
        self.timeout = timeout

    def start(self) -> Seed:
        try:
            seed_endpoints(self.emulator.url, self.emulator.credentials, timeout=self.timeout)
        except (RuntimeError, BotoCoreError, ClientError) as exc:
            raise SandboxError(f"seeding the emulator's endpoints failed: {exc}") from exc
        return self


def poll_bounds(time_scale: float) -> tuple[float, float]:
    """The operator's poll bounds (5 s and 60 s) on the emulator's clock, with floors.

    At the default time scale a rollout takes seconds; polling every 5 s would make
    the operator look slow when it is only being patient.
    """
    return min(5.0, max(0.25, 5.0 * time_scale)), min(60.0, max(1.0, 60.0 * time_scale))


class SandboxOperator:
    """`ic-operator run`, cluster-wide, against the sandbox's API server and emulator.

    Its settings come from flags only: IC_OPERATOR_ variables of the caller's shell are
    not passed on (the cache location excepted), so the sandbox runs the same operator
    whatever the shell that started it. ``extra_flags`` (`--operator-flag`) come after the
    sandbox's own, so a user's setting wins.
    """

    def __init__(
        self,
        directory: Path,
        kubeconfig: Path,
        endpoint_url: Callable[[], str],
        credentials: Callable[[], AwsCredentials],
        *,
        resync_interval: float,
        time_scale: float,
        extra_flags: Sequence[str] = (),
        timeout: float = 60.0,
    ) -> None:
        self.directory = directory
        self.extra_flags = list(extra_flags)
        self.kubeconfig = kubeconfig
        self.endpoint_url = endpoint_url
        self.credentials = credentials
        self.resync_interval = resync_interval
        self.time_scale = time_scale
        self.timeout = timeout
        self.run: OperatorProcess | None = None

    @property
    def process(self) -> ManagedProcess | None:
        return self.run.process if self.run is not None else None

    @property
    def metrics_url(self) -> str:
        assert self.run is not None, "the operator was not started"
        return self.run.metrics_url

    def flags(self) -> list[str]:
        """`ic-operator run`'s flags: the sandbox's, then the user's."""
        poll_min, poll_max = poll_bounds(self.time_scale)
        return [
            "--resync-interval", str(self.resync_interval),
            "--poll-min", str(poll_min), "--poll-max", str(poll_max),
            *self.extra_flags,
        ]  # fmt: skip

    def start(self) -> SandboxOperator:
        flags = self.flags()
        base = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("IC_OPERATOR_") or name == "IC_OPERATOR_CACHE"
        }
        env = operator_env(self.kubeconfig, self.endpoint_url(), base, self.credentials())
        self.run = OperatorProcess(
            self.directory / "operator.log", env, flags, timeout=self.timeout, error=SandboxError
        )
        self.run.start()
        return self

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()

    def failed(self) -> str | None:
        return self.run.failed() if self.run is not None else None

    def exports(self) -> dict[str, str]:
        return {}
