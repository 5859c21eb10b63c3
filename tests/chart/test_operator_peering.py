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

from ic_sandbox.harness.operator_process import OperatorProcess
from tests.fixtures.controlplane import Cluster, Kubectl
from tests.fixtures.emulator import RunningEmulator, ic_endpoint, wait_for
from tests.fixtures.operator import OperatorTestbed, namespace_operator, permission_denials

from .helm import Helm
from .test_operator_rbac import installed_chart, service_account_kubeconfig

pytestmark = [pytest.mark.controlplane, pytest.mark.e2e, pytest.mark.slow]

PEERING = "ic-operator-peering"


def passes(operator: OperatorProcess) -> float:
    """Reconcile passes this process ran: the one sign of working that no log wording moves."""
    return operator.metric("ic_operator_reconciles_total")


@pytest.mark.parametrize("higher_starts_first", [True, False], ids=["higher-first", "lower-first"])
def test_one_active_one_standby_and_failover(
    higher_starts_first: bool,
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
        first = namespace_operator(cluster, emulator, namespace, tmp_path / "first")
        second = namespace_operator(cluster, emulator, namespace, tmp_path / "second")
        # Pinned priorities make the expectation exact for both start orders.
        high, low = (first, second) if higher_starts_first else (second, first)
        high.env["IC_OPERATOR_PEERING_PRIORITY"] = "200"
        low.env["IC_OPERATOR_PEERING_PRIORITY"] = "100"
        try:
            first.start("--peering", PEERING)
            second.start("--peering", PEERING)
            # kopf re-announces each peer every lifetime - (5..10) s (60 s lifetime): if
            # the two start-up announcements race, the pause follows at the next
            # keepalive, so the deadline covers one keepalive period (seen in CI: 30 s
            # was not enough once in five runs).
            # kopf starts every operator paused and logs "Pausing operations" only when it
            # flips from running to paused, so a lower-priority operator that starts second
            # never says it: pausing is judged by behaviour (who runs handlers), not logs.
            standby, active = low, high
            world = OperatorTestbed(kubectl, emulator, namespace, endpoint, active, sagemaker)
            world.apply(world.manifest("peered", copies=1))
            world.wait_ready("peered", timeout=90)
            creates = world.calls("CreateInferenceComponent", component="peered")
            assert len(creates) == 1
            assert passes(active) > 0
            assert passes(standby) == 0, "the standby reconciled too: both were active"

            # The active operator dies like a crashed pod; the standby takes over.
            resumed_before = standby.logs().count("Resuming operations after the pause")
            active.kill()
            wait_for(
                lambda: (
                    standby.logs().count("Resuming operations after the pause") > resumed_before
                ),
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
        assert permission_denials(operator.logs()) == [], operator.logs()[-4000:]
