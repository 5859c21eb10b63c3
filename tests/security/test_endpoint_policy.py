"""The endpoint allow-list: one team cannot deploy onto (or take over) another team's endpoint.

The operator runs with `--endpoint-policy FILE` (namespace -> endpoint-name globs).
A resource that targets an endpoint outside its namespace's list is reported
Degraded/NotPermitted, and SageMaker never hears of it: no call names the component
or the endpoint, not even a Describe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.emulator import ic_endpoint, wait_for
from tests.fixtures.faults import mentions, write_attempts
from tests.fixtures.operator import IMAGE, OperatorTestbed

pytestmark = [pytest.mark.e2e, pytest.mark.controlplane]

OTHER_TEAM = "team-b-gpu"


def touching(
    world: OperatorTestbed, writes: list[dict[str, Any]], name: str
) -> list[dict[str, Any]]:
    """Writes naming ``name`` that could change it.

    The operator learns absence from its own endpoint's listing (no Describe per
    component), so a name taken on another endpoint first meets SageMaker as a
    CreateInferenceComponent on the resource's own endpoint, which SageMaker refuses
    (names are unique per account and Region); the operator then reads it and blocks.
    That refused Create cannot touch the other team's component; anything else can.
    """

    def refused_create_here(call: dict[str, Any]) -> bool:
        return (
            call["operation"] == "CreateInferenceComponent"
            and call["error"] is not None
            and call["request"].get("EndpointName") == world.endpoint
        )

    return [c for c in mentions(writes, name) if not refused_create_here(c)]


def with_policy(world: OperatorTestbed, tmp_path: Path, patterns: list[str]) -> None:
    policy = tmp_path / "endpoint-policy.yaml"
    policy.write_text(yaml.safe_dump({world.namespace: patterns, "other-team": [OTHER_TEAM]}))
    world.operator.stop()
    world.operator.start("--endpoint-policy", str(policy))


def timer_passes(world: OperatorTestbed) -> float:
    return world.operator.metric("ic_operator_reconciles_total", trigger="timer")


def test_forbidden_endpoint_gets_not_permitted_and_no_sagemaker_call(
    world: OperatorTestbed, tmp_path: Path
) -> None:
    ic_endpoint(world.sagemaker, OTHER_TEAM, instance_type="ml.m5.4xlarge", count=1)
    # Allowed: this team's endpoint by glob ("ep-*" matches the world's endpoint).
    with_policy(world, tmp_path, ["ep-*", "shared-*"])
    world.emulator.admin.clear_calls()

    forbidden = world.manifest("intruder", copies=1)
    forbidden["spec"]["endpointName"] = OTHER_TEAM
    world.apply(forbidden)
    world.apply(world.manifest("allowed", copies=1))

    obj = world.wait_condition("intruder", "Degraded", "True", reason="NotPermitted")
    message = next(c["message"] for c in obj["status"]["conditions"] if c["type"] == "Degraded")
    assert world.namespace in message and OTHER_TEAM in message
    ready = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "NotPermitted")
    world.wait_ready("allowed", timeout=60)
    warnings = [e for e in world.events("intruder") if e["type"] == "Warning"]
    assert [e["reason"] for e in warnings] == ["NotPermitted"]

    # Several timer passes later, still nothing about it reached SageMaker.
    start = timer_passes(world)
    wait_for(lambda: timer_passes(world) >= start + 4, timeout=30, interval=0.2,
             what="four more timer passes")  # fmt: skip
    calls = world.emulator.admin.calls()
    assert mentions(calls, "intruder") == []
    assert mentions(calls, OTHER_TEAM) == []
    assert world.calls("CreateInferenceComponent", "allowed")


def test_deleting_a_not_permitted_resource_makes_no_sagemaker_call(
    world: OperatorTestbed, tmp_path: Path
) -> None:
    with_policy(world, tmp_path, ["ep-*"])
    forbidden = world.manifest("intruder", copies=1)
    forbidden["spec"]["endpointName"] = OTHER_TEAM
    world.apply(forbidden)
    world.wait_condition("intruder", "Degraded", "True", reason="NotPermitted")
    world.emulator.admin.clear_calls()
    world.kubectl("delete", "smic", "intruder", "-n", world.namespace, "--wait=true", timeout=60)
    calls = world.emulator.admin.calls()
    assert mentions(calls, "intruder") == [], calls
    assert mentions(calls, OTHER_TEAM) == [], calls


def test_adoption_cannot_take_over_a_component_on_a_forbidden_endpoint(
    world: OperatorTestbed, tmp_path: Path
) -> None:
    """Team B runs `b-model` on its endpoint. Team A, allowed only on its own endpoint,
    names that component in a resource that claims A's endpoint and asks to adopt.
    The component is on an endpoint A may not target, so the operator must not touch it
    (and must not delete it when A deletes the resource)."""
    ic_endpoint(world.sagemaker, OTHER_TEAM, instance_type="ml.m5.4xlarge", count=1)
    spec: dict[str, Any] = {
        "Container": {"Image": IMAGE, "Environment": {"LOG_LEVEL": "info"}},
        "ComputeResourceRequirements": {
            "NumberOfCpuCoresRequired": 1,
            "MinMemoryRequiredInMb": 1024,
        },
    }
    world.sagemaker.create_inference_component(
        InferenceComponentName="b-model",
        EndpointName=OTHER_TEAM,
        VariantName="AllTraffic",
        Specification=spec,
        RuntimeConfig={"CopyCount": 1},
    )
    wait_for(
        lambda: world.describe("b-model")["InferenceComponentStatus"] == "InService",
        timeout=30,
        what="team B's component InService",
    )
    with_policy(world, tmp_path, ["ep-*"])
    world.emulator.admin.clear_calls()

    hijack = world.manifest("hijack", copies=3, image=IMAGE.replace("0.29.0", "evil"))
    hijack["spec"]["inferenceComponentName"] = "b-model"
    hijack["spec"]["adoptionPolicy"] = "IfExists"
    world.apply(hijack)
    # Settled one way or the other (Degraded, or Ready after a takeover).
    obj = wait_for(
        lambda: (o := world.get("hijack") or {}).get("status", {}).get("observedGeneration") and o,
        timeout=30,
        interval=0.2,
        what="hijack observed",
    )
    start = timer_passes(world)
    wait_for(lambda: timer_passes(world) >= start + 3, timeout=30, interval=0.2,
             what="three more timer passes")  # fmt: skip
    writes = write_attempts(world.emulator.admin.calls())
    taken = [(c["operation"], c["request"]) for c in touching(world, writes, "b-model")]
    assert taken == [], json.dumps(taken, default=str)[:3000]
    obj = world.get("hijack") or {}
    degraded = next(c for c in obj["status"]["conditions"] if c["type"] == "Degraded")
    assert degraded["status"] == "True" and OTHER_TEAM in degraded["message"], degraded

    world.kubectl("delete", "smic", "hijack", "-n", world.namespace, "--wait=true", timeout=60)
    writes = write_attempts(world.emulator.admin.calls())
    assert touching(world, writes, "b-model") == []
    described = world.describe("b-model")
    assert described["EndpointName"] == OTHER_TEAM
    assert described["RuntimeConfig"]["DesiredCopyCount"] == 1
    assert described["Specification"]["Container"]["DeployedImage"]["SpecifiedImage"] == IMAGE
