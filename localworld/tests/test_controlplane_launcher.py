"""The launcher itself: a real, secured control plane that leaves nothing behind."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from ic_sandbox.cluster.binaries import Binaries, BinariesMissing, ensure_binaries
from ic_sandbox.cluster.controlplane import ControlPlane, ControlPlaneError
from ic_sandbox.processes import pid_alive, processes_mentioning
from tests.fixtures.controlplane import EXISTING_CLUSTER_ENV, Cluster, Kubectl
from tests.fixtures.emulator import wait_for

pytestmark = pytest.mark.controlplane


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    wait_for(condition, timeout=timeout, interval=0.05, what=what)


@pytest.fixture(scope="module")
def binaries() -> Binaries:
    if os.environ.get(EXISTING_CLUSTER_ENV):
        pytest.skip(f"launcher tests start their own control plane; {EXISTING_CLUSTER_ENV} is set")
    try:
        return ensure_binaries(build=False)
    except BinariesMissing as exc:
        pytest.fail(str(exc), pytrace=False)


def test_namespace_and_configmap_round_trip(kubectl: Kubectl, namespace: str) -> None:
    kubectl("-n", namespace, "create", "configmap", "greeting", "--from-literal=hello=world")
    got = json.loads(kubectl("-n", namespace, "get", "configmap", "greeting", "-o", "json").stdout)
    assert got["data"] == {"hello": "world"}
    assert got["metadata"]["namespace"] == namespace


def test_admin_is_cluster_admin(kubectl: Kubectl) -> None:
    assert kubectl("auth", "can-i", "*", "*").stdout.strip() == "yes"


def test_rbac_denies_an_unprivileged_service_account_until_granted(
    kubectl: Kubectl, namespace: str, control_plane: Cluster, tmp_path: Path
) -> None:
    kubectl("-n", namespace, "create", "serviceaccount", "nobody")
    kubectl("-n", namespace, "create", "configmap", "secret-ish", "--from-literal=k=v")
    token = kubectl("-n", namespace, "create", "token", "nobody").stdout.strip()

    # A kubeconfig with only the token: the admin client certificate would win otherwise.
    admin = yaml.safe_load(control_plane.kubeconfig.read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster = next(c for c in admin["clusters"] if c["name"] == context["context"]["cluster"])
    token_config = tmp_path / "token-kubeconfig"
    token_config.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [cluster],
                "users": [{"name": "nobody", "user": {"token": token}}],
                "contexts": [
                    {"name": "nobody", "context": {"cluster": cluster["name"], "user": "nobody"}}
                ],
                "current-context": "nobody",
            }
        )
    )
    as_nobody = ("--kubeconfig", str(token_config), "-n", namespace)

    denied = kubectl(*as_nobody, "get", "configmap", "secret-ish", check=False)
    assert denied.returncode != 0
    assert (
        f'User "system:serviceaccount:{namespace}:nobody" cannot get resource "configmaps"'
        in denied.stderr
    ), denied.stderr

    kubectl("-n", namespace, "create", "role", "read-cm", "--verb=get", "--resource=configmaps")
    kubectl(
        "-n",
        namespace,
        "create",
        "rolebinding",
        "nobody-reads",
        "--role=read-cm",
        f"--serviceaccount={namespace}:nobody",
    )
    # RBAC caches refresh on watch events; poll the decision instead of sleeping.
    _wait_for(
        lambda: kubectl(*as_nobody, "get", "configmap", "secret-ish", check=False).returncode == 0,
        "the RoleBinding to take effect",
    )
    still_denied = kubectl(*as_nobody, "delete", "configmap", "secret-ish", check=False)
    assert "cannot delete resource" in still_denied.stderr, still_denied.stderr


def test_stop_leaves_no_processes(binaries: Binaries, tmp_path: Path) -> None:
    workdir = tmp_path / "cp"
    with ControlPlane(workdir, binaries) as plane:
        pids = [p.pid for p in plane.processes if p.pid is not None]
        assert len(pids) == 2
        assert all(pid_alive(pid) for pid in pids)
        assert sorted(processes_mentioning(str(workdir))) == sorted(pids)
    assert not any(pid_alive(pid) for pid in pids)
    assert processes_mentioning(str(workdir)) == []


_CHILD = """
import sys
from pathlib import Path
from ic_sandbox.cluster.binaries import ensure_binaries
from ic_sandbox.cluster.controlplane import ControlPlane, ControlPlaneError
plane = ControlPlane(Path(sys.argv[1]), ensure_binaries(build=False)).start()
print(" ".join(str(p.pid) for p in plane.processes), flush=True)
sys.stdin.read()
"""


def test_killed_parent_leaves_no_orphans(binaries: Binaries, tmp_path: Path) -> None:
    """Even SIGKILL of the owning Python (no atexit, no finally) takes the servers down."""
    workdir = tmp_path / "cp"
    parent = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(workdir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2, line
        assert all(pid_alive(pid) for pid in pids)
        parent.kill()
        parent.wait(10)
        _wait_for(lambda: not any(pid_alive(pid) for pid in pids), "etcd and kube-apiserver to die")
        assert processes_mentioning(str(workdir)) == []
    finally:
        parent.kill()
        parent.wait(10)


def _bare_sandbox(directory: Path) -> subprocess.Popen[str]:
    """`ic-sandbox up` with the control plane alone (test_sandbox.py has the rest), up once
    DIR/env is written; the caller kills it if it is still running at the end."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ic_sandbox.cli", "up", "--dir", str(directory),
         "--no-build", "--no-emulator", "--no-operator"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    _wait_for(lambda: (directory / "env").exists() or proc.poll() is not None, "DIR/env", 120)
    assert proc.poll() is None, proc.communicate()
    return proc


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def test_sandbox_command_writes_env_and_stops_on_sigint(
    binaries: Binaries, tmp_path: Path, kubectl: Kubectl
) -> None:
    directory = tmp_path / "sandbox"
    proc = _bare_sandbox(directory)
    try:
        env_file = directory / "env"
        assert env_file.read_text() == f"export KUBECONFIG={directory / 'kubeconfig'}\n"
        default = kubectl(
            "--kubeconfig",
            str(directory / "kubeconfig"),
            "get",
            "namespace",
            "default",
            "-o",
            "name",
        )
        assert default.stdout.strip() == "namespace/default"
        servers = str(directory / "controlplane")  # the sandbox's own argv names only --dir
        assert len(processes_mentioning(servers)) == 2

        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "sandbox up in" in out
        assert not env_file.exists()
        assert processes_mentioning(servers) == []
    finally:
        _kill(proc)


def test_failed_start_reports_the_log_and_leaves_nothing(
    binaries: Binaries, tmp_path: Path
) -> None:
    """An apiserver that cannot start: the error carries its log, and etcd is stopped too."""
    workdir = tmp_path / "cp"
    broken = dataclasses.replace(binaries, kube_apiserver=tmp_path / "kube-apiserver")
    broken.kube_apiserver.write_text("#!/bin/sh\necho 'flag not defined: --x' >&2\nexit 3\n")
    broken.kube_apiserver.chmod(0o755)
    plane = ControlPlane(workdir, broken)
    with pytest.raises(ControlPlaneError, match=r"(?s)exited with 3 during start-up.*not defined"):
        plane.start()
    assert plane.processes == []
    assert processes_mentioning(str(workdir)) == []


def test_sandbox_command_exits_when_a_server_dies(binaries: Binaries, tmp_path: Path) -> None:
    directory = tmp_path / "sandbox"
    proc = _bare_sandbox(directory)
    try:
        etcd_data = str(directory / "controlplane" / "etcd-data")
        [etcd] = processes_mentioning(etcd_data)
        os.kill(etcd, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1
        assert "sandbox: etcd exited with -9" in err
        assert processes_mentioning(str(directory / "controlplane")) == []
    finally:
        _kill(proc)
