"""`ic-operator run` as a child process: the one launcher of the sandbox, the tests and the bench.

Each caller used to start the operator its own way and wait for /healthz its own way;
the three drifted (which port flags, what an early exit reports, which environment
reached the child). One start here is one process started exactly as a user starts
it, on ports no outgoing connection can take first (listen_ports.py), and ready once
its /healthz answers 200. What differs by caller stays with the caller: the flags, the
base environment, the log file and the exception a failure raises.
"""

from __future__ import annotations

import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ic_sandbox.harness.emulator_process import aws_env, without_aws
from ic_sandbox.harness.identity import AwsCredentials
from ic_sandbox.listen_ports import free_port
from ic_sandbox.polling import poll
from ic_sandbox.processes import ManagedProcess, first_exit, numbered_log


class OperatorFailed(RuntimeError):
    """The operator exited, or did not become healthy in time."""


def operator_env(
    kubeconfig: Path,
    emulator_url: str,
    base: Mapping[str, str],
    credentials: AwsCredentials,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What the operator runs with: ``base`` stripped of every AWS_ variable (so no
    credential, profile or endpoint of the caller's can reach real AWS), the API server's
    kubeconfig, the emulator's endpoints and the operator's own ``credentials`` (a session
    of the role ic-operator, harness/identity.py), then ``extra`` (a caller's deliberate
    settings)."""
    return {
        **without_aws(base),
        "KUBECONFIG": str(kubeconfig),
        **aws_env(emulator_url, credentials),
        **(extra or {}),
    }


class OperatorProcess:
    """`ic-operator run` that can be started, killed and started again.

    Every start is a new process on new ports (a port the last one held may be taken by
    now) with its own log file: the first `log_path`, then `<stem>-2<suffix>` and on, so a
    restart's log never overwrites the crash it follows. `env` stays a mutable dict
    until a start, for a caller that sets one variable per process (a peering priority).
    """

    def __init__(
        self,
        log_path: Path,
        env: Mapping[str, str],
        flags: Sequence[str] = (),
        *,
        runner: Sequence[str] = ("-m",),
        timeout: float = 60.0,
        error: Callable[[str], BaseException] = OperatorFailed,
    ) -> None:
        self.first_log = log_path
        self.env = dict(env)
        self.flags = tuple(flags)
        # runner: how python runs the CLI module, `-m` or a script that takes its name
        # (the benchmark's tracemalloc wrapper and its naive baseline).
        self.runner = tuple(runner)
        self.timeout = timeout
        self.error = error
        self.log_paths: list[Path] = []
        self.process: ManagedProcess | None = None
        self.health_port = 0
        self.metrics_port = 0

    @property
    def pid(self) -> int:
        assert self.process is not None and self.process.pid is not None, "not started"
        return self.process.pid

    @property
    def metrics_url(self) -> str:
        assert self.metrics_port, "the operator was not started"
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self, *extra_flags: str) -> OperatorProcess:
        """A new process with the constructor's flags and ``extra_flags``; returns once
        /healthz answers 200, raises ``error`` when the process exits or the deadline passes."""
        self.health_port = free_port()
        self.metrics_port = free_port()
        log = numbered_log(self.first_log, len(self.log_paths) + 1)
        self.log_paths.append(log)
        argv = [
            sys.executable, *self.runner, "ic_operator.cli", "run",
            "--metrics-port", str(self.metrics_port),
            "--health-port", str(self.health_port),
            *self.flags, *extra_flags,
        ]  # fmt: skip
        self.process = ManagedProcess("operator", argv, log, env=self.env)
        self.process.start()
        poll(self._healthy, timeout=self.timeout, what="the operator's /healthz", error=self.error)
        return self

    def _healthy(self) -> bool:
        if (exited := self.failed()) is not None:
            raise self.error(exited)
        try:
            url = f"http://127.0.0.1:{self.health_port}/healthz"
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def failed(self) -> str | None:
        """None while running (or not started), else how it exited with its log's tail."""
        return first_exit([self.process] if self.process is not None else [])

    def samples(self) -> Iterator[tuple[str, dict[str, str], float]]:
        """Every sample on /metrics as (name, labels, value)."""
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            text = response.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                yield sample.name, sample.labels, sample.value

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a Prometheus sample over the series whose labels include ``labels``."""
        return sum(
            value
            for sample, sample_labels, value in self.samples()
            if sample == name and labels.items() <= sample_labels.items()
        )

    def logs(self) -> str:
        """Every start's log, oldest first."""
        return "\n".join(p.read_text(errors="replace") for p in self.log_paths if p.exists())

    def kill(self) -> None:
        """SIGKILL: no cleanup, no status write, exactly like a crashed pod."""
        os.kill(self.pid, signal.SIGKILL)
        self.stop()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
