"""`ic-sandbox up` runs the whole world: control plane, CRD, emulator, operator.

Used the way a developer uses it: start it, `source DIR/env`, kubectl apply an
example, read SageMaker through boto3 with the exported variables, Ctrl-C.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from ic_sandbox.cluster.binaries import find_kubectl
from ic_sandbox.harness.emulator_admin import EmulatorAdmin
from ic_sandbox.processes import ManagedProcess
from ic_sandbox.sandbox.seed import ENDPOINTS
from sandbox_launch import REPO, Launched, clean_env, read_env
from tests.fixtures.emulator import wait_for

pytestmark = [pytest.mark.controlplane, pytest.mark.slow]

START_TIMEOUT = 120.0


def kubectl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(find_kubectl()), *args],
        env={**clean_env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )


def sagemaker(env: dict[str, str]) -> Any:
    """boto3 configured only from DIR/env, as after `source DIR/env`."""
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    return session.client("sagemaker", endpoint_url=env["AWS_ENDPOINT_URL_SAGEMAKER"])


def resource(env: dict[str, str], name: str) -> dict[str, Any]:
    out = kubectl(env, "get", "smic", name, "-n", "ml-serving", "-o", "json")
    assert out.returncode == 0, out.stderr
    obj: dict[str, Any] = json.loads(out.stdout)
    return obj


def ready(env: dict[str, str], name: str) -> bool:
    conditions = (resource(env, name).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def wait_ready(env: dict[str, str], name: str) -> None:
    wait_for(lambda: ready(env, name), timeout=60, interval=0.2, what=f"{name} Ready=True")


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Any]:
    launched: list[Launched] = []

    def start(*flags: str) -> tuple[Launched, dict[str, str]]:
        directory = tmp_path / "sandbox"
        sandbox = Launched(
            tmp_path, "up", "--dir", str(directory), "--no-build",
            "--resync-interval", "2", *flags,
        )  # fmt: skip
        launched.append(sandbox)
        sandbox.wait_output("Ctrl-C to stop.", START_TIMEOUT)
        return sandbox, read_env(directory / "env")

    yield start
    for sandbox in launched:
        sandbox.stop()


def test_sandbox_runs_the_operator_and_leaves_nothing_behind(launch: Any, tmp_path: Path) -> None:
    sandbox, env = launch()
    assert env["KUBECONFIG"] == str(tmp_path / "sandbox" / "kubeconfig")
    assert env["AWS_ENDPOINT_URL_SAGEMAKER"].startswith("http://127.0.0.1:")
    # A key the emulator issued (it verifies signatures), to the user, not the operator.
    assert env["AWS_ACCESS_KEY_ID"].startswith("AKIA")
    children = sandbox.children()
    assert [c.name for c in children] == ["etcd", "kube-apiserver", "emulator", "operator"]

    sm = sagemaker(env)
    endpoints = {e["EndpointName"]: e["EndpointStatus"] for e in sm.list_endpoints()["Endpoints"]}
    assert endpoints == {e.name: "InService" for e in ENDPOINTS}

    applied = kubectl(env, "apply", "-f", "examples/basic.yaml")
    assert applied.returncode == 0, applied.stderr
    wait_ready(env, "llama3-8b")
    described = sm.describe_inference_component(InferenceComponentName="llama3-8b")
    assert described["InferenceComponentStatus"] == "InService"
    assert described["RuntimeConfig"]["CurrentCopyCount"] == 2
    # The call log tells the operator (a session of the role ic-operator) from the user.
    admin = EmulatorAdmin(env["AWS_ENDPOINT_URL_SAGEMAKER"])
    (create,) = admin.calls("CreateInferenceComponent")
    assert create["principal"]["arn"].endswith(":assumed-role/ic-operator/ic-operator")
    assert admin.calls("CreateEndpoint")[0]["principal"]["arn"].endswith(":user/ic-sandbox-admin")
    assert "listening on" in (tmp_path / "sandbox" / "emulator.log").read_text()
    assert "starting: namespaces=*" in (tmp_path / "sandbox" / "operator.log").read_text()

    sandbox.interrupt()
    assert sandbox.wait_exit(60) == 0
    assert [c for c in children if c.alive()] == []
    assert not (tmp_path / "sandbox" / "env").exists()


def test_no_operator_leaves_the_component_untouched(launch: Any, tmp_path: Path) -> None:
    sandbox, env = launch("--no-operator")
    children = sandbox.children()
    assert [c.name for c in children] == ["etcd", "kube-apiserver", "emulator"]
    assert kubectl(env, "apply", "-f", "examples/basic.yaml").returncode == 0

    # Nobody reconciles: over a window longer than the sandbox's operator needs to reach
    # Ready (about 4 s), the object gets no status and no finalizer, and SageMaker no call.
    # The window is counted in looks *and* seconds: on a loaded machine a look takes longer,
    # so the deadline only bounds how long the test may run, never what it proves.
    untouched = 0
    started = time.monotonic()

    def still_untouched() -> bool:
        nonlocal untouched
        obj = resource(env, "llama3-8b")
        assert "status" not in obj and "finalizers" not in obj["metadata"], obj
        assert sagemaker(env).list_inference_components()["InferenceComponents"] == []
        untouched += 1
        return untouched >= 10 and time.monotonic() - started >= 8

    wait_for(still_untouched, timeout=180, interval=0.3, what="8 s of looks at an untouched object")

    # The same sandbox with an operator run by hand (as from an IDE) converges it: the
    # object was reconcilable all along, it only lacked an operator.
    operator = ManagedProcess(
        "operator",
        [sys.executable, "-m", "ic_operator.cli", "run", "--metrics-port", "0",
         "--health-port", "0", "--poll-min", "0.25", "--poll-max", "1"],
        tmp_path / "own-operator.log",
        env={**clean_env(), **env},
    )  # fmt: skip
    operator.start()
    try:
        wait_ready(env, "llama3-8b")
    finally:
        operator.stop()
    sandbox.interrupt()
    assert sandbox.wait_exit(60) == 0
    assert [c for c in children if c.alive()] == []
