"""`ic-operator run` as a child process: the one launcher of the sandbox, the tests and the bench.

Each caller used to start the operator its own way and wait for /healthz its own way;
the three drifted (which port flags, what an early exit reports). One run here is
one process started exactly as a user starts it, on ports no outgoing connection
can take first (ports.py), and ready once its /healthz answers 200. What differs by
caller stays with the caller: the flags, the environment, the log file and the
exception a failure raises.
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

from ic_sandbox.polling import poll
from ic_sandbox.ports import free_port
from ic_sandbox.processes import ManagedProcess


class OperatorFailed(RuntimeError):
    """The operator exited, or did not become healthy in time."""


class OperatorRun:
    """One `ic-operator run` process; start() returns once /healthz answers 200."""

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
        self.health_port = free_port()
        self.metrics_port = free_port()
        self.timeout = timeout
        self.error = error
        # runner: how python runs the CLI module, `-m` or a script that takes its name
        # (the benchmark's tracemalloc wrapper).
        argv = [
            sys.executable, *runner, "ic_operator.cli", "run",
            "--metrics-port", str(self.metrics_port),
            "--health-port", str(self.health_port),
            *flags,
        ]  # fmt: skip
        self.process = ManagedProcess("operator", argv, log_path, env=env)

    @property
    def pid(self) -> int:
        assert self.process.pid is not None, "the operator was not started"
        return self.process.pid

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self) -> None:
        self.process.start()
        poll(
            self._healthy,
            timeout=self.timeout,
            what="the operator's /healthz",
            error=self.error,
        )

    def _healthy(self) -> bool:
        if (exited := self.exited()) is not None:
            raise self.error(exited)
        try:
            url = f"http://127.0.0.1:{self.health_port}/healthz"
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def exited(self) -> str | None:
        """None while running (or not started), else how it exited with its log's tail."""
        code = self.process.exit_code()
        if code is None:
            return None
        return f"operator exited with {code}:\n{self.process.log_tail()}"

    def samples(self) -> Iterator[tuple[str, dict[str, str], float]]:
        """Every sample on /metrics as (name, labels, value)."""
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            text = response.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                yield sample.name, sample.labels, sample.value

    def kill(self) -> None:
        """SIGKILL: no cleanup, no status write, exactly like a crashed pod."""
        os.kill(self.pid, signal.SIGKILL)
        self.process.stop()

    def stop(self) -> None:
        self.process.stop()
