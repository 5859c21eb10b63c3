"""Two operators under the chart's peering setup: one works, the other stands by.

This is what `replicaCount: 2` deploys: two `ic-operator run --peering NAME`
processes with the chart's ServiceAccount token and the chart's KopfPeering
object. Exactly one may reconcile at a time; when it dies, the other must take
over. (kopf pauses *every* operator when two peers share a priority, so the
operator must give each process its own priority.)
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.controlplane import Cluster, Kubectl
from tests.fixtures.emulator import RunningEmulator, ic_endpoint, wait_for
from tests.fixtures.operator import OperatorProcess, World

from .helm import Helm
from .test_operator_rbac import FORBIDDEN_MARKERS, installed_chart, service_account_kubeconfig

pytestmark = [pytest.mark.controlplane, pytest.mark.e2e, pytest.mark.slow]

PEERING = "ic-operator-peering"


def _paused(operator: OperatorProcess) -> bool:
    return "Pausing operations in favour of" in operator.logs()


def test_one_active_one_standby_and_failover(
    *,
    helm: Helm,
    kubectl: Kubectl,
    namespace: str,
    crds_installed: None,
    emulator: RunningEmulator,
    sagemaker: Any,
    tmp_path: Path,
) -> None:
    extra = ("--set", "replicaCount=2", "--set", f"peering.name={PEERING}")
    with installed_chart(helm, kubectl, namespace, *extra) as sa:
        kubectl("get", "kopfpeerings.kopf.dev", PEERING, "-n", namespace)
        kubeconfig = service_account_kubeconfig(kubectl, namespace, sa, tmp_path / "sa.kubeconfig")
        cluster = Cluster(kubeconfig=kubeconfig, control_plane=None)
        endpoint = f"ep-{uuid.uuid4().hex[:8]}"
        ic_endpoint(sagemaker, endpoint, instance_type="ml.m5.4xlarge", count=2)
        first = OperatorProcess(cluster, emulator.url, namespace, tmp_path / "first")
        second = OperatorProcess(cluster, emulator.url, namespace, tmp_path / "second")
        for operator in (first, second):
            operator.log_dir.mkdir()
        try:
            first.start("--peering", PEERING)
            second.start("--peering", PEERING)
            wait_for(
                lambda: _paused(first) or _paused(second),
                timeout=30,
                interval=0.2,
                what="one operator pauses in favour of the other",
            )
            standby, active = (first, second) if _paused(first) else (second, first)
            assert not _paused(active), "both operators paused: nobody reconciles"

            world = World(kubectl, emulator, namespace, endpoint, active, sagemaker)
            world.apply(world.manifest("peered", copies=1))
            world.wait_ready("peered", timeout=90)
            creates = world.calls("CreateInferenceComponent", component="peered")
            assert len(creates) == 1

            # The active operator dies like a crashed pod; the standby takes over.
            active.kill()
            wait_for(
                lambda: "Resuming operations after the pause" in standby.logs(),
                timeout=120,
                interval=0.5,
                what="the standby resumes after the active peer's record expires",
            )
            world.patch("peered", {"spec": {"runtimeConfig": {"copyCount": 2}}})
            world.wait_ready("peered", timeout=90)
            assert world.describe("peered")["RuntimeConfig"]["DesiredCopyCount"] == 2
        finally:
            first.stop()
            second.stop()
    for operator in (first, second):
        for marker in FORBIDDEN_MARKERS:
            assert marker not in operator.logs(), operator.logs()[-4000:]
