"""Retry and redeploy are two requests: a retry on a component in sync sends nothing;
a redeploy sends the spec once per new value, with its deploymentConfig, and a restart
does not send it again."""

from __future__ import annotations

import pytest

from ic_operator.names import REDEPLOY_ANNOTATION, RETRY_ANNOTATION
from ic_operator.reconcile.types import Trigger
from tests.reconciler.harness import Rig, run

pytestmark = pytest.mark.filterwarnings("error")


async def _created(w: Rig) -> None:
    await w.step(Trigger.START)
    w.sm.settle("llm")
    await w.until(w.settled)
    w.sm.calls.clear()


def test_retry_on_a_component_in_sync_sends_no_update() -> None:
    async def scenario() -> None:
        w = Rig()
        await _created(w)
        w.kube.edit(annotations={RETRY_ANNOTATION: "1"})
        await w.step(Trigger.CHANGE)
        await w.step(Trigger.TIMER)
        assert w.sm.accepted("UpdateInferenceComponent") == []
        assert "DescribeInferenceComponent" in w.sm.ops()  # a retry re-reads
        assert w.ready()

    run(scenario)


def test_redeploy_goes_out_once_with_the_deployment_config_and_survives_a_restart() -> None:
    async def scenario() -> None:
        w = Rig()
        await _created(w)
        w.kube.edit(annotations={REDEPLOY_ANNOTATION: "2027-01-15T09:00:00Z"})
        await w.step(Trigger.CHANGE)
        updates = w.sm.accepted("UpdateInferenceComponent")
        assert len(updates) == 1
        assert updates[0].request["DeploymentConfig"]["RollingUpdatePolicy"]
        assert w.kube.condition("Progressing") == ("True", "Updating")
        w.sm.settle("llm")
        await w.until(w.settled)
        assert w.status["lastDeployment"]["outcome"] == "Succeeded"
        assert w.status["lastDeployment"]["redeployToken"] == "2027-01-15T09:00:00Z"
        assert w.kube.reasons().count("Deployed") == 2  # the create and the redeploy
        w.restart()
        await w.step(Trigger.START)
        for _ in range(3):
            await w.step(Trigger.TIMER)
        assert len(w.sm.accepted("UpdateInferenceComponent")) == 1

    run(scenario)
