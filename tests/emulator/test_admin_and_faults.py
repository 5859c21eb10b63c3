"""The admin API: call recording, alarms, faults (seeded), reset and health."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.emulator.helpers import create_ic, error_of, spec, wait_status
from tests.fixtures.emulator import ACCOUNT_ID, REGION, Admin, RunningEmulator, ic_endpoint


def test_calls_are_recorded_oldest_first_with_errors(sm: Any, admin: Admin) -> None:
    before = time.time()
    with pytest.raises(ClientError):
        sm.describe_inference_component(InferenceComponentName="absent")
    sm.list_inference_components(MaxResults=5)
    calls = admin.calls()
    assert [c["operation"] for c in calls] == [
        "DescribeInferenceComponent",
        "ListInferenceComponents",
    ]
    assert calls[0] == {
        "service": "SageMaker",
        "operation": "DescribeInferenceComponent",
        "request": {"InferenceComponentName": "absent"},
        "error": "ValidationException",
        "lost": None,
        "stale": False,
        # The test's client signs as the harness's admin user (verification is on).
        "principal": {
            "account": ACCOUNT_ID,
            "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/ic-sandbox-admin",
            "user_id": calls[0]["principal"]["user_id"],
        },
        # The world that served it: the caller's account, the signature's region.
        "account": ACCOUNT_ID,
        "region": REGION,
        "at": calls[0]["at"],
    }
    assert calls[1]["error"] is None
    assert calls[1]["request"] == {"MaxResults": 5}
    assert before <= calls[0]["at"] <= calls[1]["at"] <= time.time()
    admin.clear_calls()
    assert admin.calls() == []


def test_validation_failures_are_recorded(sm: Any, admin: Admin) -> None:
    with pytest.raises(ClientError):
        sm.describe_inference_component(InferenceComponentName="bad_name")
    assert admin.calls()[-1]["error"] == "ValidationException"


def test_throttling_is_seeded_and_targeted(fast_emulator: RunningEmulator, admin: Admin) -> None:
    client = fast_emulator.client(
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    settings = {"throttle_rate": 0.5, "seed": 7, "operations": ["ListInferenceComponents"]}
    assert admin.set_faults(**settings)["throttle_rate"] == 0.5

    def outcomes() -> list[str]:
        out = []
        for _ in range(20):
            try:
                client.list_inference_components()
                out.append("ok")
            except ClientError as exc:
                code, message, status = error_of_exc(exc)
                assert (code, message, status) == ("ThrottlingException", "Rate exceeded", 400)
                out.append("throttled")
        return out

    first = outcomes()
    assert 0 < first.count("throttled") < 20
    admin.set_faults(**settings)
    assert outcomes() == first
    # other operations are untouched
    for _ in range(20):
        with pytest.raises(ClientError) as exc:
            client.describe_inference_component(InferenceComponentName="x")
        assert error_of(exc)[0] == "ValidationException"
    throttled = [c for c in admin.calls() if c["error"] == "ThrottlingException"]
    assert len(throttled) == 2 * first.count("throttled")


def error_of_exc(exc: ClientError) -> tuple[str, str, int]:
    r = exc.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize(
    ("code", "status"), [("InternalFailure", 500), ("ServiceUnavailable", 503)]
)
def test_server_errors(
    fast_emulator: RunningEmulator, admin: Admin, code: str, status: int
) -> None:
    client = fast_emulator.client(
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    admin.set_faults(server_error_rate=1.0, server_error_code=code)
    with pytest.raises(ClientError) as exc:
        client.list_inference_components()
    assert error_of(exc)[0] == code
    assert error_of(exc)[2] == status


def test_botocore_retries_through_intermittent_faults(
    fast_emulator: RunningEmulator, admin: Admin
) -> None:
    client = fast_emulator.client(
        config=Config(retries={"total_max_attempts": 10, "mode": "standard"})
    )
    admin.set_faults(throttle_rate=0.3, server_error_rate=0.3, seed=1)
    for _ in range(3):
        client.list_inference_components()
    errors = {c["error"] for c in admin.calls()}
    assert None in errors
    assert errors & {"ThrottlingException", "InternalFailure", "ServiceUnavailable"}


def test_added_latency(fast_emulator: RunningEmulator, admin: Admin, sm: Any) -> None:
    admin.set_faults(latency_ms=200)
    started = time.monotonic()
    sm.list_inference_components()
    assert time.monotonic() - started >= 0.2


def test_failing_image_only_affects_listed_images(sm: Any, admin: Admin) -> None:
    ic_endpoint(sm, "ep")
    admin.set_faults(failing_images=["repo/broken:1"])
    create_ic(sm, "good")
    create_ic(sm, "bad", specification=spec("repo/broken:1"), wait=False)
    assert "FailureReason" in wait_status(sm, "bad", "Failed")


def _admin_raw(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{url}/_emulator/{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_admin_rejects_bad_input(fast_emulator: RunningEmulator, admin: Admin) -> None:
    url = fast_emulator.url
    assert _admin_raw(url, "PUT", "faults", {"throttle_rte": 1})[0] == 400
    assert _admin_raw(url, "PUT", "faults", {"throttle_rate": 2})[0] == 400
    assert _admin_raw(url, "PUT", "faults", {"server_error_code": "Nope"})[0] == 400
    assert _admin_raw(url, "PUT", "alarms/x", {"state": "RED"})[0] == 400
    assert _admin_raw(url, "GET", "components/none/history")[0] == 404
    assert _admin_raw(url, "PUT", "alarms/x", {"state": "ALARM"}) == (
        200,
        {"name": "x", "state": "ALARM"},
    )
    assert _admin_raw(url, "GET", "alarms") == (200, {"x": "ALARM"})
    assert _admin_raw(url, "GET", "faults")[1]["throttle_rate"] == 0.0


def test_reset_and_health(sm: Any, admin: Admin, fast_emulator: RunningEmulator) -> None:
    ic_endpoint(sm, "ep")
    create_ic(sm, "ic", wait=False)
    admin.set_alarm("a", "ALARM")
    admin.set_faults(latency_ms=1)
    health = admin.health()
    assert health["status"] == "ok"
    assert health["components"] == 1
    assert health["time_scale"] == 0.001
    admin.reset()
    health = admin.health()
    assert (health["components"], health["endpoints"], health["calls"]) == (0, 0, 0)
    assert _admin_raw(fast_emulator.url, "GET", "alarms")[1] == {}
    assert sm.list_inference_components()["InferenceComponents"] == []
