"""`ic-sandbox emulator` as a process, and the time scale stretching every duration."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ic_sandbox.harness.emulator_process import aws_client
from ic_sandbox.harness.identity import ANY_CREDENTIALS, AwsCredentials, EmulatorIdentity
from tests.emulator.helpers import create_ic, spec, wait_status
from tests.fixtures.emulator import Admin, ic_endpoint


@contextmanager
def emulator_process(*extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ic_sandbox.cli",
            "emulator",
            "--port",
            "0",
            "--region",
            "eu-west-1",
            "--account-id",
            "111122223333",
            "--time-scale",
            "0.004",
            *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:"), first
        yield proc, first.removeprefix("listening on ")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    with emulator_process("--verify-signatures") as running:
        yield running


def signed(url: str) -> Any:
    """A SageMaker client signing with a key the emulator at ``url`` issued."""
    identity = EmulatorIdentity.establish(Admin(url), url, "eu-west-1")
    return _client(url, identity.admin)


def _client(url: str, credentials: AwsCredentials) -> Any:
    return aws_client(url, credentials=credentials, region_name="eu-west-1")


def test_cli_verify_signatures_refuses_keys_it_did_not_issue() -> None:
    with emulator_process("--verify-signatures") as (_, url):
        assert Admin(url).request("GET", "identity")["verify"] is True
        with pytest.raises(ClientError) as caught:
            _client(url, ANY_CREDENTIALS).list_endpoints()
        assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_cli_process_serves_and_stops_on_sigterm(process: tuple[Any, str]) -> None:
    proc, url = process
    client = signed(url)
    ic_endpoint(client, "ep")
    arn = create_ic(client, "ic")["InferenceComponentArn"]
    assert arn == "arn:aws:sagemaker:eu-west-1:111122223333:inference-component/ic"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def _create_seconds(client: Any) -> float:
    ic_endpoint(client, "ep")
    started = time.monotonic()
    client.create_inference_component(
        InferenceComponentName="timed",
        EndpointName="ep",
        VariantName="AllTraffic",
        Specification=spec(),
        RuntimeConfig={"CopyCount": 1},
    )
    wait_status(client, "timed", "InService")
    return time.monotonic() - started


def test_time_scale_stretches_durations(sm: Any, process: tuple[Any, str]) -> None:
    # component creation is 120 service seconds: 0.12 s at 0.001, 0.48 s at 0.004
    fast = _create_seconds(sm)
    slow = _create_seconds(signed(process[1]))
    assert 0.12 <= fast < 0.48 <= slow


def test_cli_rejects_non_positive_scale() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ic_sandbox.cli", "emulator", "--time-scale", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 2
    assert "--time-scale must be positive" in out.stderr
