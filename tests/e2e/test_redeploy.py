"""Retry and redeploy end to end: the retry annotation on a component in sync sends no
UpdateInferenceComponent; the redeploy annotation sends exactly one, with the resource's
DeploymentConfig, and the same value after an operator restart sends none."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.operator import OperatorTestbed

pytestmark = [pytest.mark.e2e, pytest.mark.controlplane]

ROLLING = {
    "rollingUpdatePolicy": {
        "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
        "waitIntervalInSeconds": 60,
    },
}
ROLLING_WIRE = {
    "RollingUpdatePolicy": {
        "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 60,
    },
}


def _updates(world: OperatorTestbed, name: str) -> list[dict[str, Any]]:
    return [c["request"] for c in world.calls("UpdateInferenceComponent", name) if not c["error"]]


def _annotate(world: OperatorTestbed, name: str, key: str, value: str) -> None:
    world.patch(name, {"metadata": {"annotations": {f"sagemaker.ic-operator.io/{key}": value}}})


def test_retry_on_a_component_in_sync_sends_no_update(world: OperatorTestbed) -> None:
    world.apply(world.manifest("chat", deployment=ROLLING))
    world.wait_settled("chat")
    _annotate(world, "chat", "retry", "1")
    world.wait_timer_passes(2)
    assert _updates(world, "chat") == []
    assert world.condition("chat", "Ready")["status"] == "True"  # type: ignore[index]


def test_redeploy_sends_one_update_with_the_deployment_config_once(world: OperatorTestbed) -> None:
    world.apply(world.manifest("chat", deployment=ROLLING))
    world.wait_settled("chat")
    _annotate(world, "chat", "redeploy", "2027-01-15T09:00:00Z")
    world.wait_condition("chat", "Progressing", "True", reason="Updating", timeout=60)
    world.wait_settled("chat", timeout=90)
    sent = _updates(world, "chat")
    assert len(sent) == 1
    assert sent[0]["DeploymentConfig"] == ROLLING_WIRE
    obj = world.get("chat")
    assert obj is not None
    assert obj["status"]["lastDeployment"]["outcome"] == "Succeeded"
    assert obj["status"]["lastDeployment"]["redeployToken"] == "2027-01-15T09:00:00Z"
    assert [e["reason"] for e in world.events("chat")].count("Updating") == 1

    # A restarted operator reads the value as served: nothing is sent again.
    world.operator.kill()
    world.operator.start()
    world.wait_timer_passes(2)
    _annotate(world, "chat", "retry", "after-restart")  # an edit: the pass re-reads
    world.wait_timer_passes(1)
    assert len(_updates(world, "chat")) == 1
