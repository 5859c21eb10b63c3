"""The shared fixtures other suites use: `emulator` (time scale 0.01) and `sagemaker`."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import create_ic
from tests.fixtures.emulator import ROLE_ARN, RunningEmulator, ic_endpoint


def test_shared_fixture_end_to_end(emulator: RunningEmulator, sagemaker: Any) -> None:
    assert emulator.admin.health()["time_scale"] == 0.01
    assert emulator.admin.calls() == []
    ic_endpoint(sagemaker, "ep")
    d = create_ic(sagemaker, "ic")
    assert d["InferenceComponentStatus"] == "InService"
    assert [e["status"] for e in emulator.admin.history("ic")] == ["Creating", "InService"]
    emulator.admin.set_alarm("a", "ALARM")
    assert emulator.admin.set_faults(latency_ms=1)["latency_ms"] == 1
    operations = {c["operation"] for c in emulator.admin.calls()}
    assert {"CreateEndpointConfig", "CreateEndpoint", "CreateInferenceComponent"} <= operations
    emulator.admin.clear_calls()
    assert emulator.admin.calls() == []


def test_sagemaker_fixture_starts_from_an_empty_world(
    emulator: RunningEmulator, request: pytest.FixtureRequest
) -> None:
    emulator.admin.set_alarm("left-behind", "ALARM")
    emulator.admin.set_faults(latency_ms=1)
    emulator.client().create_model(ModelName="m", ExecutionRoleArn=ROLE_ARN)
    sagemaker = request.getfixturevalue("sagemaker")  # resets the emulator
    assert emulator.admin.faults()["latency_ms"] == 0.0
    assert emulator.admin.alarms() == {}
    assert emulator.admin.health()["calls"] == 0
    assert sagemaker.list_inference_components()["InferenceComponents"] == []
    with pytest.raises(ClientError):
        sagemaker.describe_model(ModelName="m")
