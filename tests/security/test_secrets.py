"""A secret in a container's environment never leaves the spec.

The operator sends the environment to SageMaker and nowhere else: not to its logs,
not to Kubernetes events, not to the resource's status, not to /metrics. That must
hold when everything works and when something rejects the spec, because error
messages are where values leak: SageMaker's constraint messages echo the offending
value, and a validation error can quote its input.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import urllib.request
from typing import Any

import pytest

from ic_operator.aws.client import SageMakerClient
from ic_operator.aws.errors import SageMakerError
from ic_operator.config import Settings
from ic_operator.reconcile.passes import Reconciler
from ic_operator.reconcile.types import Trigger
from tests.fixtures.emulator import RunningEmulator, ic_endpoint
from tests.fixtures.operator import IMAGE, OperatorTestbed


def secret_values() -> dict[str, str]:
    """Values that look like what people really put in environments (fresh each run)."""
    return {
        "AWS_SECRET_ACCESS_KEY": "AKIA" + secrets.token_hex(8).upper(),
        "DB_PASSWORD": "hunter2-" + secrets.token_urlsafe(12),
        "HF_TOKEN": "hf_" + secrets.token_hex(16),
    }


def leaks(text: str, values: dict[str, str]) -> list[str]:
    return [name for name, value in values.items() if value in text]


def everything_visible(world: OperatorTestbed, names: list[str]) -> dict[str, str]:
    """What a user, a log shipper or a monitoring system can read about the resources
    (the spec itself aside: the values are there because the user wrote them)."""
    parts = [world.operator.logs()]
    out = world.kubectl("get", "events", "-n", world.namespace, "-o", "json")
    parts.append(out.stdout)
    for name in names:
        parts.append(json.dumps((world.get(name) or {}).get("status")))
    # The printer columns of `kubectl get -o wide` (what dashboards show of the object).
    parts.append(world.kubectl("get", "smic", "-n", world.namespace, "-o", "wide").stdout)
    with urllib.request.urlopen(
        f"http://127.0.0.1:{world.operator.metrics_port}/metrics", timeout=5
    ) as resp:
        parts.append(resp.read().decode())
    return dict(zip(["logs", "events", *names, "columns", "metrics"], parts, strict=True))


@pytest.mark.e2e
@pytest.mark.controlplane
def test_secret_environment_never_reaches_logs_events_or_status(world: OperatorTestbed) -> None:
    values = secret_values()
    env = {"LOG_LEVEL": "info", **values}

    def with_env(name: str, copies: int = 1) -> dict[str, Any]:
        manifest = world.manifest(name, copies=copies)
        manifest["spec"]["specification"]["container"]["environment"] = env
        return manifest

    # Converges normally: the values reach SageMaker, which is where they belong.
    world.apply(with_env("ok"))
    # SageMaker rejects it: a model that does not exist.
    rejected = with_env("rejected")
    rejected["spec"]["specification"]["modelName"] = "no-such-model"
    world.apply(rejected)
    # SageMaker rejects it later: capacity (two 16-vCPU instances, 40 one-core copies).
    world.apply(with_env("greedy", copies=40))

    world.wait_ready("ok", timeout=60)
    world.wait_condition("rejected", "Degraded", "True")
    world.wait_condition("greedy", "Degraded", "True", reason="InsufficientCapacity")
    # An update of the running one that SageMaker also refuses, then a delete.
    world.patch("ok", {"spec": {"runtimeConfig": {"copyCount": 50}}})
    world.wait_condition("ok", "Degraded", "True", generation=2, timeout=30)
    world.kubectl("delete", "smic", "ok", "-n", world.namespace, "--wait=true", timeout=60)

    sent = [
        c
        for c in world.emulator.admin.calls("CreateInferenceComponent")
        if c["request"]["InferenceComponentName"] == "ok"
    ]
    assert sent[0]["request"]["Specification"]["Container"]["Environment"] == env
    visible = everything_visible(world, ["ok", "rejected", "greedy"])
    assert "no-such-model" in visible["rejected"]  # the rejection itself is reported...
    assert "Insufficient capacity" in visible["events"]
    leaked = {where: found for where, text in visible.items() if (found := leaks(text, values))}
    assert leaked == {}  # ...without the values


# ---------------------------------------------------------------------------- error paths


def test_sagemaker_validation_echo_is_redacted(emulator: RunningEmulator, sagemaker: Any) -> None:
    """SageMaker's constraint message quotes the whole environment map; the gateway strips it.

    The operator's models reject such a request before it is sent, so this drives the
    gateway (real boto3, real HTTP, the emulator) with it directly.
    """
    values = secret_values()
    ic_endpoint(sagemaker, "ep", instance_type="ml.m5.4xlarge", count=1)
    request = {
        "InferenceComponentName": "leaky",
        "EndpointName": "ep",
        "VariantName": "AllTraffic",
        "Specification": {
            "Container": {"Image": IMAGE, "Environment": {**values, "TOO_LONG": "x" * 1025}},
            "ComputeResourceRequirements": {
                "NumberOfCpuCoresRequired": 1,
                "MinMemoryRequiredInMb": 1024,
            },
        },
        "RuntimeConfig": {"CopyCount": 1},
    }
    # Precondition: SageMaker (the emulator) really does echo the values.
    with pytest.raises(sagemaker.exceptions.ClientError) as raw:
        sagemaker.create_inference_component(**request)
    assert leaks(str(raw.value), values), "the emulator no longer echoes: test proves nothing"

    async def through_gateway() -> SageMakerError:
        client = SageMakerClient(
            default_region="us-east-1",
            client_factory=lambda region: emulator.client(),
        )
        with pytest.raises(SageMakerError) as caught:
            await client.call("CreateInferenceComponent", request)
        return caught.value

    err = asyncio.run(through_gateway())
    assert "environment" in err.message and "1024" in err.message  # still says what is wrong
    assert leaks(str(err), values) == []
    assert leaks(repr(err), values) == []


def test_invalid_spec_message_never_quotes_environment_values(
    emulator: RunningEmulator, sagemaker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The API server's schema rejects these before the operator sees them; the operator
    must not depend on that (a CRD installed without its schema, an older CRD version)."""
    values = secret_values()
    long_secret = "hunter2-" + secrets.token_hex(600)  # over 1024 characters
    values["LONG"] = long_secret
    environment: dict[str, Any] = {
        **{k: v for k, v in values.items() if k != "LONG"},
        "LONG": long_secret,
        "NOT-A-NAME": values["DB_PASSWORD"],
        "NUMBER": 7,
    }
    environment.update({f"PAD_{i}": values["HF_TOKEN"] for i in range(16)})  # > 16 entries
    body = {
        "metadata": {"name": "bad", "namespace": "team-a", "uid": "u-1", "generation": 1},
        "spec": {
            "endpointName": "ep",
            "variantName": "AllTraffic",
            "specification": {
                "container": {"image": IMAGE, "environment": environment},
                "computeResourceRequirements": {"numberOfCpuCoresRequired": 1},
            },
            "runtimeConfig": {"copyCount": 1},
        },
    }
    client = SageMakerClient(
        default_region="us-east-1", client_factory=lambda region: emulator.client()
    )
    reconciler = Reconciler(client, Settings(poll_min=0.2, poll_max=1))
    emulator.admin.clear_calls()
    with caplog.at_level(logging.DEBUG):
        result = asyncio.run(reconciler.reconcile(body, trigger=Trigger.CHANGE))
    assert result.status is not None
    status = result.status.to_k8s()
    degraded = next(c for c in status["conditions"] if c["type"] == "Degraded")
    assert degraded["reason"] == "InvalidSpec"
    assert "environment" in degraded["message"]
    visible = json.dumps(status) + "".join(e.message for e in result.events) + caplog.text
    assert leaks(visible, values) == []
    assert emulator.admin.calls() == [], "an invalid spec reached SageMaker"
