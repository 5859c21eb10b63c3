"""The real operator, authenticated as the chart's ServiceAccount, does its job.

`kubectl auth can-i` proves the grants match the contract; this proves the
contract is enough: the chart is applied to the real control plane, a token is
issued for its ServiceAccount (TokenRequest), and `ic-operator run` uses only
that token to take an InferenceComponent through create -> Ready -> delete
against the emulator. Any RBAC gap shows up as a Forbidden in the operator's
log or as a resource that never becomes Ready or never loses its finalizer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.controlplane import Cluster, Kubectl
from tests.fixtures.emulator import RunningEmulator, ic_endpoint, wait_for
from tests.fixtures.operator import (
    KIND_PLURAL,
    OperatorTestbed,
    namespace_operator,
    permission_denials,
)

from .helm import CHART, Helm

pytestmark = [pytest.mark.controlplane, pytest.mark.e2e]


def service_account_kubeconfig(kubectl: Kubectl, namespace: str, sa: str, path: Path) -> Path:
    """A kubeconfig for the admin's cluster entry with the ServiceAccount's bearer token."""
    token = kubectl("create", "token", sa, "-n", namespace, "--duration=1h").stdout.strip()
    admin = json.loads(kubectl("config", "view", "--raw", "--minify", "-o", "json").stdout)
    cluster = admin["clusters"][0]
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [cluster],
                "users": [{"name": sa, "user": {"token": token}}],
                "contexts": [
                    {
                        "name": sa,
                        "context": {"cluster": cluster["name"], "user": sa, "namespace": namespace},
                    }
                ],
                "current-context": sa,
            }
        )
    )
    path.chmod(0o600)
    return path


@contextmanager
def installed_chart(helm: Helm, kubectl: Kubectl, namespace: str, *extra: str) -> Iterator[str]:
    """The chart rendered for `namespace` (namespaced scope) and applied; yields the SA name.

    The kopf peering CRDs come from the chart's crds/, as `helm install` would apply them.
    """
    release = f"rbac-{uuid.uuid4().hex[:6]}"
    kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=chart-tests",
            "-f", str(CHART / "crds" / "kopf.dev_peerings.yaml"))  # fmt: skip
    kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/kopfpeerings.kopf.dev")
    args = helm.template_args(None, *extra, release=release, namespace=namespace)
    manifest = helm.run(*args).stdout
    kubectl("apply", "--server-side", "--field-manager=helm", "-f", "-", input=manifest)
    try:
        yield f"{release}-sagemaker-ic-operator"
    finally:
        kubectl(
            "delete", "clusterrole,clusterrolebinding",
            "-l", f"app.kubernetes.io/instance={release}", "--ignore-not-found", "--wait=false",
            check=False,
        )  # fmt: skip


@pytest.fixture
def chart_release(
    helm: Helm, kubectl: Kubectl, namespace: str, crds_installed: None
) -> Iterator[str]:
    """The chart with default values, installed for `namespace`; yields the SA name."""
    with installed_chart(helm, kubectl, namespace) as sa:
        yield sa


def test_operator_converges_with_only_the_charts_rbac(
    *,
    chart_release: str,
    kubectl: Kubectl,
    namespace: str,
    emulator: RunningEmulator,
    sagemaker: Any,
    tmp_path: Path,
) -> None:
    sa = chart_release
    kubeconfig = service_account_kubeconfig(kubectl, namespace, sa, tmp_path / "sa.kubeconfig")
    endpoint = f"ep-{uuid.uuid4().hex[:8]}"
    ic_endpoint(sagemaker, endpoint, instance_type="ml.m5.4xlarge", count=2)
    operator = namespace_operator(
        Cluster(kubeconfig=kubeconfig, control_plane=None), emulator, namespace, tmp_path
    )
    operator.start()
    try:
        world = OperatorTestbed(kubectl, emulator, namespace, endpoint, operator, sagemaker)
        world.apply(world.manifest("rbac-check", copies=1))
        ready = world.wait_ready("rbac-check", timeout=90)
        assert "sagemaker.ic-operator.io/finalizer" in ready["metadata"]["finalizers"]
        assert world.describe("rbac-check")["InferenceComponentStatus"] == "InService"
        assert world.events("rbac-check"), "the operator could not post events"

        kubectl(
            "delete",
            KIND_PLURAL,
            "rbac-check",
            "-n",
            namespace,
            "--wait=false",
        )
        wait_for(
            lambda: world.get("rbac-check") is None,
            timeout=90,
            interval=0.2,
            what="rbac-check deleted (finalizer removed by the operator)",
        )
    finally:
        operator.stop()
    logs = operator.logs()
    assert permission_denials(logs) == [], logs[-4000:]


def test_the_token_cannot_reach_other_namespaces(
    chart_release: str, kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    """The same token used directly: denied outside the watched namespace."""
    sa = chart_release
    kubeconfig = service_account_kubeconfig(kubectl, namespace, sa, tmp_path / "sa.kubeconfig")
    as_sa = [f"--kubeconfig={kubeconfig}"]
    own = kubectl(*as_sa, "get", KIND_PLURAL, "-n", namespace)
    assert own.returncode == 0
    other = kubectl(
        *as_sa, "get", KIND_PLURAL, "-n", "default",
        check=False,
    )  # fmt: skip
    assert other.returncode != 0 and "forbidden" in other.stderr.lower()
    secrets = kubectl(*as_sa, "get", "secrets", "-n", namespace, check=False)
    assert secrets.returncode != 0 and "forbidden" in secrets.stderr.lower()
