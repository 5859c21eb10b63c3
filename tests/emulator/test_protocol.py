"""AWS JSON 1.1 on the wire, checked with raw HTTP where boto3 would hide the details."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from tests.emulator.identity_helpers import sign
from tests.fixtures.emulator import Admin, RunningEmulator


def post(
    emulator: RunningEmulator, target: str | None, body: bytes
) -> tuple[int, dict[str, str], Any]:
    """A raw request, signed by the test's credentials (the emulator verifies signatures)."""
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    url = emulator.url + "/"
    headers = sign(emulator, "sagemaker", url, body, headers)
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def test_a_raw_request_and_headers(fast_emulator: RunningEmulator, admin: Admin) -> None:
    status, headers, body = post(
        fast_emulator, "SageMaker.ListInferenceComponents", b'{"MaxResults": 3}'
    )
    assert status == 200
    assert body == {"InferenceComponents": []}
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-RequestId"]


def test_empty_body_is_an_empty_request(fast_emulator: RunningEmulator, admin: Admin) -> None:
    status, _, body = post(fast_emulator, "SageMaker.ListInferenceComponents", b"")
    assert (status, body) == (200, {"InferenceComponents": []})


def test_error_body_shape(fast_emulator: RunningEmulator, admin: Admin) -> None:
    status, headers, body = post(
        fast_emulator,
        "SageMaker.DescribeInferenceComponent",
        b'{"InferenceComponentName": "nope"}',
    )
    assert status == 400
    assert set(body) == {"__type", "message"}
    assert body["__type"] == "ValidationException"
    assert headers["x-amzn-RequestId"]


def test_unknown_operation_and_target(fast_emulator: RunningEmulator, admin: Admin) -> None:
    for target in ("SageMaker.CreateTrainingJob", "Other.ListThings", None):
        status, _, body = post(fast_emulator, target, b"{}")
        assert status == 400
        assert body["__type"] == "UnknownOperationException"
    assert [c["error"] for c in admin.calls()] == ["UnknownOperationException"] * 3


def test_malformed_json_and_wrong_types(fast_emulator: RunningEmulator, admin: Admin) -> None:
    status, _, body = post(fast_emulator, "SageMaker.ListInferenceComponents", b"{nope")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, _, body = post(fast_emulator, "SageMaker.ListInferenceComponents", b"[1]")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, _, body = post(
        fast_emulator, "SageMaker.ListInferenceComponents", b'{"MaxResults": "ten"}'
    )
    assert (status, body["__type"]) == (400, "SerializationException")
    assert "maxResults" in body["message"]


def test_boto3_parses_request_id_and_timestamps(sm: Any) -> None:
    out = sm.list_inference_components()
    assert out["ResponseMetadata"]["RequestId"]
    assert out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
