"""`ic-sandbox emulator` as a child process, and what a client needs to reach it.

The sandbox, the fault tests (which kill it and start it again where the operator
expects it) and the benchmark (which must not share a core's GIL with the emulator) run
the emulator as its own process; the fast tests run it in a thread (EmulatorThread)
and need only the client half: `aws_env` for a child and `aws_client` for boto3, both
with credentials the emulator issued (identity.py) and every endpoint pointed at it, so
that nothing run here can reach real AWS.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3

from ic_sandbox.harness.emulator_admin import EmulatorAdmin
from ic_sandbox.harness.identity import ANY_CREDENTIALS, AwsCredentials, EmulatorIdentity
from ic_sandbox.polling import poll
from ic_sandbox.processes import ManagedProcess, first_exit, numbered_log

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
# An execution role for endpoint configs: the emulator checks its form, not IAM.
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/sagemaker-execution"
_LISTENING = re.compile(r"listening on (http://\S+)")


class EmulatorFailed(RuntimeError):
    """The emulator exited, or did not print where it listens in time."""


def aws_env(endpoint_url: str, credentials: AwsCredentials) -> dict[str, str]:
    """What boto3 and the AWS CLI need to talk to the emulator as ``credentials``.

    The emulator also serves Application Auto Scaling, CloudWatch and STS, so their
    endpoints point at it too and nothing the operator or a user runs here can reach
    real AWS.
    """
    return {
        "AWS_ENDPOINT_URL_SAGEMAKER": endpoint_url,
        "AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING": endpoint_url,
        "AWS_ENDPOINT_URL_CLOUDWATCH": endpoint_url,
        "AWS_ENDPOINT_URL_STS": endpoint_url,
        **credentials.env(),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def without_aws(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without AWS_ variables: a profile or session token of the caller's must not
    mix with the emulator's credentials."""
    return {name: value for name, value in env.items() if not name.startswith("AWS_")}


def aws_client(
    url: str, service: str = "sagemaker", *, credentials: AwsCredentials, **kwargs: Any
) -> Any:
    """A boto3 client of any emulated service (sagemaker, application-autoscaling,
    cloudwatch, sts) for the emulator at ``url``, signing as ``credentials``; never real AWS."""
    settings = {"region_name": REGION, **credentials.client_kwargs(), **kwargs}
    return boto3.client(service, endpoint_url=url, **settings)


class EmulatorProcess:
    """`ic-sandbox emulator` in its own process; start() returns once it listens.

    ``port=0`` lets the emulator bind a port the kernel picks and reads the URL back from
    its first line; a fixed port (listen_ports.free_port) keeps the URL across kill() and
    start(), as a SageMaker that restarts keeps its endpoint. Every start logs to a new
    file: the first `log_path`, then `<stem>-2<suffix>` and on.

    With ``verify_signatures`` (the default) the emulator refuses any credential it did not
    issue; the first start issues the harness's (`identity`), a restart restores them.
    """

    def __init__(
        self,
        log_path: Path,
        *,
        time_scale: float,
        port: int = 0,
        timeout: float = 30.0,
        error: Callable[[str], BaseException] = EmulatorFailed,
        admin_timeout: float = 30.0,
        admin_error: Callable[[str], BaseException] | None = None,
        verify_signatures: bool = True,
    ) -> None:
        self.first_log = log_path
        self.verify_signatures = verify_signatures
        self.identity: EmulatorIdentity | None = None
        self.time_scale = time_scale
        self.port = port
        self.url = f"http://127.0.0.1:{port}" if port else ""
        self.timeout = timeout
        self.error = error
        self.admin_timeout = admin_timeout
        self.admin_error = admin_error
        self.starts = 0
        self.process: ManagedProcess | None = None

    def start(self) -> EmulatorProcess:
        self.starts += 1
        log = numbered_log(self.first_log, self.starts)
        argv = [
            sys.executable, "-m", "ic_sandbox.cli", "emulator",
            "--port", str(self.port), "--time-scale", str(self.time_scale),
            "--region", REGION, "--account-id", ACCOUNT_ID,
            *(["--verify-signatures"] if self.verify_signatures else []),
        ]  # fmt: skip
        # Unbuffered, so the `listening on` line reaches the log file at once.
        env = {**without_aws(os.environ), "PYTHONUNBUFFERED": "1"}
        process = self.process = ManagedProcess("emulator", argv, log, env=env)
        process.start()

        def listening() -> str | None:
            if (exited := self.failed()) is not None:
                raise self.error(exited)
            match = _LISTENING.search(process.log_tail(5))
            return match.group(1) if match else None

        what = "the emulator's `listening on` line"
        self.url = poll(listening, timeout=self.timeout, interval=0.05, what=what, error=self.error)
        if self.verify_signatures:
            if self.identity is None:
                self.identity = EmulatorIdentity.establish(self.admin, self.url, REGION)
            else:
                self.identity.restore()
        return self

    @property
    def credentials(self) -> AwsCredentials:
        """The harness's own credentials (the admin user); dummy ones without verification."""
        return self.identity.admin if self.identity is not None else ANY_CREDENTIALS

    def operator_credentials(self) -> AwsCredentials:
        """A new session of the role `ic-operator` for an operator to run as."""
        return self.identity.operator() if self.identity is not None else ANY_CREDENTIALS

    def failed(self) -> str | None:
        """None while running (or not started), else how it exited with its log's tail."""
        return first_exit([self.process] if self.process is not None else [])

    @property
    def admin(self) -> EmulatorAdmin:
        """The emulator's admin API (call log, faults, alarms, load)."""
        return EmulatorAdmin(self.url, timeout=self.admin_timeout, error=self.admin_error)

    def client(self, service: str = "sagemaker", **kwargs: Any) -> Any:
        return aws_client(self.url, service, credentials=self.credentials, **kwargs)

    def kill(self) -> None:
        """SIGKILL: SageMaker's state (components, endpoints, the call log) is gone."""
        assert self.process is not None and self.process.pid is not None, "not started"
        os.kill(self.process.pid, signal.SIGKILL)
        self.stop()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
