"""The sandbox's parts beyond the control plane: CRD, emulator, seed endpoints, operator.

Each has the sandbox's component shape (start, stop, failed, exports). The emulator
and the operator are child processes (ManagedProcess: own process group, die with
the sandbox), started exactly as a user would start them, with their logs in DIR.
The CRD and the seed are one-shot steps that do their work in start().
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from ic_operator import API_GROUP, PLURAL
from ic_sandbox.binaries import repo_root
from ic_sandbox.emulator_admin import EmulatorAdmin
from ic_sandbox.kubectl import Kubectl
from ic_sandbox.operator_process import OperatorRun
from ic_sandbox.polling import poll
from ic_sandbox.processes import ManagedProcess
from ic_sandbox.seed import seed_endpoints

CRD_NAME = f"{PLURAL}.{API_GROUP}"
EXAMPLES_NAMESPACE = "ml-serving"
REGION = "us-east-1"
_LISTENING = re.compile(r"listening on (http://\S+)")


class SandboxError(RuntimeError):
    """A sandbox part did not come up; the message says which and why."""


def aws_env(endpoint_url: str) -> dict[str, str]:
    """What boto3 and the AWS CLI need to talk to the emulator (dummy credentials).

    The emulator also serves Application Auto Scaling and CloudWatch, so their endpoints
    point at it too and nothing the operator or a user runs here can reach real AWS.
    """
    return {
        "AWS_ENDPOINT_URL_SAGEMAKER": endpoint_url,
        "AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING": endpoint_url,
        "AWS_ENDPOINT_URL_CLOUDWATCH": endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def crd_manifest() -> str:
    """crds/ from the checkout (what users apply); generated from the models without one.

    `make crd-check` keeps the two identical, so either is the same CRD.
    """
    files = sorted((repo_root() / "crds").glob("*.yaml"))
    if files:
        return "\n---\n".join(path.read_text() for path in files)
    from ic_operator.crd.schema import render  # noqa: PLC0415 - only without a checkout

    return render()


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
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=crd_manifest())
        # Not `kubectl wait`: it fails when it reads the CRD before any condition is written.
        what = f"CRD {CRD_NAME} Established"
        poll(
            lambda: crd_established(self.kubectl),
            timeout=self.timeout,
            what=what,
            error=SandboxError,
        )
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": EXAMPLES_NAMESPACE},
        }
        self.kubectl("apply", "-f", "-", input=json.dumps(namespace))
        return self


def crd_established(kubectl: Kubectl, name: str = CRD_NAME) -> bool:
    """Whether the API server serves the CRD yet. Read as JSON: a jsonpath filter on the
    conditions, like `kubectl wait`, fails (exit 1) while the CRD has none, which is how
    a freshly applied CRD starts."""
    out = kubectl("get", "crd", name, "-o", "json", check=False)
    if out.returncode != 0:
        return False
    conditions = (json.loads(out.stdout).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def _child_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(extra)
    return env


class EmulatorProcess:
    """`ic-sandbox emulator` on a port the kernel picks, read back from its first line."""

    def __init__(self, directory: Path, *, time_scale: float, timeout: float = 30.0) -> None:
        self.time_scale = time_scale
        self.timeout = timeout
        self.url = ""
        argv = [
            sys.executable, "-m", "ic_sandbox.cli", "emulator",
            "--port", "0", "--time-scale", str(time_scale), "--region", REGION,
        ]  # fmt: skip
        # Unbuffered, so the `listening on` line reaches the log file at once.
        env = _child_env({"PYTHONUNBUFFERED": "1"})
        self.process = ManagedProcess("emulator", argv, directory / "emulator.log", env=env)

    def start(self) -> EmulatorProcess:
        self.process.start()

        def listening() -> bool:
            if (code := self.process.exit_code()) is not None:
                raise SandboxError(f"emulator exited with {code}:\n{self.process.log_tail()}")
            match = _LISTENING.search(self.process.log_tail(5))
            if match:
                self.url = match.group(1)
            return bool(self.url)

        what = "the emulator's `listening on` line"
        poll(listening, timeout=self.timeout, what=what, error=SandboxError)
        return self

    def stop(self) -> None:
        self.process.stop()

    def failed(self) -> str | None:
        code = self.process.exit_code()
        if code is None:
            return None
        return f"emulator exited with {code}:\n{self.process.log_tail()}"

    def exports(self) -> dict[str, str]:
        return aws_env(self.url)

    @property
    def admin(self) -> EmulatorAdmin:
        """The emulator's admin API (call log, alarms, load); a failed request is a SandboxError."""
        return EmulatorAdmin(self.url, error=SandboxError)


class Seed(OneShotStep):
    """Creates, in the emulator, the endpoints that examples/ refer to."""

    def __init__(self, emulator: EmulatorProcess, *, timeout: float = 60.0) -> None:
        self.emulator = emulator
        self.timeout = timeout

    def start(self) -> Seed:
        try:
            seed_endpoints(self.emulator.url, timeout=self.timeout)
        except (RuntimeError, BotoCoreError, ClientError) as exc:
            raise SandboxError(f"seeding the emulator's endpoints failed: {exc}") from exc
        return self


def poll_bounds(time_scale: float) -> tuple[float, float]:
    """The operator's poll bounds (5 s and 60 s) on the emulator's clock, with floors.

    At the default time scale a rollout takes seconds; polling every 5 s would make
    the operator look slow when it is only being patient.
    """
    return min(5.0, max(0.25, 5.0 * time_scale)), min(60.0, max(1.0, 60.0 * time_scale))


class OperatorProcess:
    """`ic-operator run`, cluster-wide, against the sandbox's API server and emulator."""

    def __init__(
        self,
        directory: Path,
        kubeconfig: Path,
        endpoint_url: Callable[[], str],
        *,
        resync_interval: float,
        time_scale: float,
        timeout: float = 60.0,
    ) -> None:
        self.directory = directory
        self.kubeconfig = kubeconfig
        self.endpoint_url = endpoint_url
        self.resync_interval = resync_interval
        self.time_scale = time_scale
        self.timeout = timeout
        self.run: OperatorRun | None = None

    @property
    def process(self) -> ManagedProcess | None:
        return self.run.process if self.run is not None else None

    @property
    def metrics_url(self) -> str:
        assert self.run is not None, "the operator was not started"
        return self.run.metrics_url

    def start(self) -> OperatorProcess:
        poll_min, poll_max = poll_bounds(self.time_scale)
        flags = [
            "--resync-interval", str(self.resync_interval),
            "--poll-min", str(poll_min), "--poll-max", str(poll_max),
        ]  # fmt: skip
        env = _child_env({"KUBECONFIG": str(self.kubeconfig), **aws_env(self.endpoint_url())})
        for name in list(env):  # the sandbox's operator takes its settings from flags only
            if name.startswith("IC_OPERATOR_") and name != "IC_OPERATOR_CACHE":
                del env[name]
        self.run = OperatorRun(
            self.directory / "operator.log", env, flags, timeout=self.timeout, error=SandboxError
        )
        self.run.start()
        return self

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()

    def failed(self) -> str | None:
        return self.run.exited() if self.run is not None else None

    def exports(self) -> dict[str, str]:
        return {}
