"""SigV4 verification: what a real client surfaces for each refusal, per service protocol."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.emulator.identity_helpers import any_credentials, issue, signed_client, verification
from tests.fixtures.emulator import ACCOUNT_ID, RunningEmulator

# (service, a harmless read, the error codes it surfaces: unknown key, bad signature, expired)
SERVICES: list[tuple[str, str, dict[str, Any], tuple[str, str, str]]] = [
    (
        "sagemaker",
        "list_endpoints",
        {},
        ("UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"),
    ),
    (
        "application-autoscaling",
        "describe_scalable_targets",
        {"ServiceNamespace": "sagemaker"},
        ("UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"),
    ),
    (
        "cloudwatch",
        "describe_alarms",
        {},
        ("InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken"),
    ),
]
IDS = [s[0] for s in SERVICES]


@pytest.fixture
def verified(fast_emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    fast_emulator.admin.reset()
    with verification(fast_emulator):
        yield fast_emulator


def _refusal(client: Any, operation: str, params: dict[str, Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        getattr(client, operation)(**params)
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


@pytest.mark.parametrize(("service", "operation", "params", "codes"), SERVICES, ids=IDS)
def test_an_issued_key_is_accepted_and_the_call_log_names_the_principal(
    verified: RunningEmulator, service: str, operation: str, params: dict[str, Any], codes: Any
) -> None:
    alice = issue(verified, user="alice")
    getattr(signed_client(verified, service, alice), operation)(**params)
    principal = verified.admin.calls()[-1]["principal"]
    assert principal == {
        "account": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/alice",
        "user_id": alice["UserId"],
    }


@pytest.mark.parametrize(("service", "operation", "params", "codes"), SERVICES, ids=IDS)
def test_an_unknown_key_is_refused(
    verified: RunningEmulator, service: str, operation: str, params: dict[str, Any], codes: Any
) -> None:
    stranger = {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "x" * 40}
    code, status, _ = _refusal(signed_client(verified, service, stranger), operation, params)
    assert (code, status) == (codes[0], 403)
    assert verified.admin.calls()[-1]["error"] == "UnrecognizedClientException"


@pytest.mark.parametrize(("service", "operation", "params", "codes"), SERVICES, ids=IDS)
def test_a_wrong_secret_is_a_bad_signature(
    verified: RunningEmulator, service: str, operation: str, params: dict[str, Any], codes: Any
) -> None:
    alice = {**issue(verified, user="alice"), "SecretAccessKey": "not-the-secret"}
    code, status, message = _refusal(signed_client(verified, service, alice), operation, params)
    assert (code, status) == (codes[1], 403)
    assert message.startswith("The request signature we calculated does not match")


@pytest.mark.parametrize(("service", "operation", "params", "codes"), SERVICES, ids=IDS)
def test_an_expired_session_is_refused(
    verified: RunningEmulator, service: str, operation: str, params: dict[str, Any], codes: Any
) -> None:
    session = issue(verified, role="operator", duration_seconds=0.001)
    code, status, _ = _refusal(signed_client(verified, service, session), operation, params)
    assert (code, status) == (codes[2], 403)


@pytest.mark.parametrize(("service", "operation", "params", "codes"), SERVICES, ids=IDS)
def test_a_session_token_that_is_not_its_own_is_unrecognized(
    verified: RunningEmulator, service: str, operation: str, params: dict[str, Any], codes: Any
) -> None:
    session = {**issue(verified, role="operator"), "SessionToken": "forged"}
    code, _, _ = _refusal(signed_client(verified, service, session), operation, params)
    assert code == codes[0]


def test_a_valid_session_is_accepted_as_the_assumed_role(verified: RunningEmulator) -> None:
    session = issue(verified, role="operator", session_name="pod")
    signed_client(verified, "sagemaker", session).list_endpoints()
    assert verified.admin.calls()[-1]["principal"]["arn"] == (
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/operator/pod"
    )


@pytest.mark.parametrize(("service", "operation", "params", "codes"), SERVICES, ids=IDS)
def test_a_clock_skewed_beyond_five_minutes_is_refused(
    verified: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    operation: str,
    params: dict[str, Any],
    codes: Any,
) -> None:
    client = signed_client(verified, service, issue(verified, user="alice"))
    late = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=6)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: late)
    code, status, message = _refusal(client, operation, params)
    assert (code, status) == (codes[1], 403)
    assert message.startswith("Signature expired: ")
    assert message.endswith(" - 5 min.)")


def test_a_request_signed_for_another_region_is_refused(verified: RunningEmulator) -> None:
    alice = issue(verified, user="alice")
    client = signed_client(verified, "sagemaker", alice, region_name="eu-west-1")
    code, _, message = _refusal(client, "list_endpoints", {})
    assert code == "InvalidSignatureException"
    assert "eu-west-1" in message


def test_an_unsigned_request_is_refused(verified: RunningEmulator) -> None:
    client = signed_client(
        verified,
        "sagemaker",
        {"AccessKeyId": "a", "SecretAccessKey": "b"},
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )
    code, status, _ = _refusal(client, "list_endpoints", {})
    assert (code, status) == ("MissingAuthenticationTokenException", 403)


def test_a_revoked_key_is_unknown(verified: RunningEmulator) -> None:
    alice = issue(verified, user="alice")
    verified.admin.request("DELETE", f"access-keys/{alice['AccessKeyId']}")
    code, _, _ = _refusal(signed_client(verified, "sagemaker", alice), "list_endpoints", {})
    assert code == "UnrecognizedClientException"


def test_with_verification_off_any_credentials_do(fast_emulator: RunningEmulator) -> None:
    stranger = {"AccessKeyId": "test", "SecretAccessKey": "test"}
    with any_credentials(fast_emulator):
        assert fast_emulator.admin.request("GET", "identity")["verify"] is False
        signed_client(fast_emulator, "sagemaker", stranger).list_endpoints()
    assert fast_emulator.admin.calls()[-1]["principal"]["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert fast_emulator.admin.request("GET", "identity")["verify"] is True
