"""The shared fixtures other suites use: `emulator` (time scale 0.01) and `sagemaker`."""

from __future__ import annotations

from typing import Any

from tests.emulator.helpers import create_ic
from tests.fixtures.emulator import RunningEmulator, ic_endpoint


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
    emulator: RunningEmulator, sagemaker: Any
) -> None:
    assert sagemaker.list_inference_components()["InferenceComponents"] == []
    assert sagemaker.list_endpoints()["Endpoints"] == []
    # the previous test left a fault and an alarm behind; the fixture's reset cleared them
    assert emulator.admin.faults()["latency_ms"] == 0.0
    assert emulator.admin.alarms() == {}
