"""STS over the query protocol as boto3 sends it: GetCallerIdentity and AssumeRole."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulator.identity_helpers import (
    any_credentials,
    issue,
    refused,
    signed_client,
    verification,
)
from tests.fixtures.emulator import ACCOUNT_ID, RunningEmulator

ALICE = f"arn:aws:iam::{ACCOUNT_ID}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/operator"


@pytest.fixture
def verified(fast_emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    fast_emulator.admin.reset()
    with verification(fast_emulator):
        yield fast_emulator


def put_role(emulator: RunningEmulator, *statements: dict[str, Any], longest: int = 3600) -> None:
    emulator.admin.request(
        "PUT",
        "roles/operator",
        {
            "trust_policy": {"Version": "2012-10-17", "Statement": list(statements)},
            "max_session_duration": longest,
        },
    )


def allow(principal: str = ALICE, action: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, **extra}


def sts_as(emulator: RunningEmulator, user: str = "alice") -> Any:
    return signed_client(emulator, "sts", issue(emulator, user=user))


def assume(sts: Any, **params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = sts.assume_role(RoleArn=ROLE, RoleSessionName="s1", **params)
    return answer


def test_get_caller_identity_names_the_signer(verified: RunningEmulator) -> None:
    alice = issue(verified, user="alice")
    identity = signed_client(verified, "sts", alice).get_caller_identity()
    assert (identity["Account"], identity["Arn"], identity["UserId"]) == (
        ACCOUNT_ID,
        ALICE,
        alice["UserId"],
    )
    assert verified.admin.calls()[-1]["operation"] == "GetCallerIdentity"


def test_without_verification_the_caller_is_the_account_root(
    fast_emulator: RunningEmulator,
) -> None:
    anyone = signed_client(fast_emulator, "sts", {"AccessKeyId": "test", "SecretAccessKey": "x"})
    with any_credentials(fast_emulator):
        assert anyone.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"


@pytest.mark.parametrize(
    ("credentials", "code"),
    [
        ({"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "x"}, "InvalidClientTokenId"),
        ({"SecretAccessKey": "wrong"}, "SignatureDoesNotMatch"),
    ],
    ids=["unknown-key", "wrong-secret"],
)
def test_sts_refusals_use_the_query_vocabulary(
    verified: RunningEmulator, credentials: dict[str, str], code: str
) -> None:
    client = signed_client(verified, "sts", {**issue(verified, user="alice"), **credentials})
    assert refused(client.get_caller_identity)[:2] == (code, 403)


def test_an_expired_session_is_expired_token_at_sts(verified: RunningEmulator) -> None:
    session = issue(verified, role="operator", duration_seconds=0.001)
    client = signed_client(verified, "sts", session)
    assert refused(client.get_caller_identity)[:2] == ("ExpiredToken", 403)


@pytest.mark.parametrize(("minutes", "accepted"), [(10, True), (16, False)])
def test_sts_allows_fifteen_minutes_of_skew(
    verified: RunningEmulator, monkeypatch: pytest.MonkeyPatch, minutes: int, accepted: bool
) -> None:
    client = sts_as(verified)
    late = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=minutes)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: late)
    if accepted:
        client.get_caller_identity()
        return
    code, _, message = refused(client.get_caller_identity)
    assert code == "SignatureDoesNotMatch"
    assert message.startswith("Signature expired: ")
    assert message.endswith(" - 15 min.)")


def test_assume_role_issues_credentials_the_services_accept(verified: RunningEmulator) -> None:
    put_role(verified, allow())
    before = datetime.datetime.now(datetime.UTC)
    answer = assume(sts_as(verified), DurationSeconds=900)
    credentials = answer["Credentials"]
    session_arn = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/operator/s1"
    assert answer["AssumedRoleUser"]["Arn"] == session_arn
    assert answer["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert credentials["AccessKeyId"].startswith("ASIA")
    lifetime = credentials["Expiration"] - before
    assert datetime.timedelta(seconds=895) < lifetime < datetime.timedelta(seconds=905)
    session = signed_client(verified, "sts", credentials)
    assert session.get_caller_identity()["Arn"] == session_arn
    signed_client(verified, "sagemaker", credentials).list_endpoints()
    assert verified.admin.calls()[-1]["principal"]["arn"] == session_arn


def test_a_principal_the_trust_policy_does_not_name_is_denied(verified: RunningEmulator) -> None:
    put_role(verified, allow())
    code, status, message = refused(assume, sts_as(verified, "bob"))
    assert (code, status) == ("AccessDenied", 403)
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT_ID}:user/bob is not authorized to perform: "
        f"sts:AssumeRole on resource: {ROLE}"
    )


def test_an_unknown_role_is_denied(verified: RunningEmulator) -> None:
    assert refused(assume, sts_as(verified))[0] == "AccessDenied"


def test_trusting_the_account_root_trusts_its_principals(verified: RunningEmulator) -> None:
    put_role(verified, allow(f"arn:aws:iam::{ACCOUNT_ID}:root"))
    assume(sts_as(verified, "bob"))
    put_role(verified, allow("210987654321"))
    assert refused(assume, sts_as(verified, "bob"))[0] == "AccessDenied"


def test_an_explicit_deny_wins(verified: RunningEmulator) -> None:
    put_role(verified, allow("*"), {**allow(), "Effect": "Deny"})
    assert refused(assume, sts_as(verified))[0] == "AccessDenied"
    assume(sts_as(verified, "bob"))


@pytest.mark.parametrize(
    ("external_id", "accepted"), [(None, False), ("wrong", False), ("s3cr3t", True)]
)
def test_the_external_id_condition(
    verified: RunningEmulator, external_id: str | None, accepted: bool
) -> None:
    put_role(verified, allow(Condition={"StringEquals": {"sts:ExternalId": "s3cr3t"}}))
    params = {} if external_id is None else {"ExternalId": external_id}
    sts = sts_as(verified)
    if accepted:
        assume(sts, **params)
    else:
        assert refused(assume, sts, **params)[0] == "AccessDenied"


def test_duration_is_bounded_by_the_roles_max_session_duration(verified: RunningEmulator) -> None:
    put_role(verified, allow(), longest=7200)
    sts = sts_as(verified)
    assume(sts, DurationSeconds=7200)
    code, status, message = refused(assume, sts, DurationSeconds=7201)
    assert (code, status) == ("ValidationError", 400)
    assert message == (
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    )


def test_role_chaining_is_limited_to_an_hour(verified: RunningEmulator) -> None:
    put_role(verified, allow(), allow(ROLE), longest=43200)
    first = assume(sts_as(verified))["Credentials"]
    chained = signed_client(verified, "sts", first)
    assume(chained, DurationSeconds=3600)
    code, _, message = refused(assume, chained, DurationSeconds=3601)
    assert code == "ValidationError"
    assert "role chaining" in message


def test_the_duration_ceiling_is_the_models(verified: RunningEmulator) -> None:
    put_role(verified, allow())
    code, _, message = refused(
        sts_as(verified).assume_role, RoleArn=ROLE, RoleSessionName="s1", DurationSeconds=3600 * 13
    )
    assert code == "ValidationError"
    assert "durationSeconds" in message


def test_session_tags_need_tag_session(verified: RunningEmulator) -> None:
    tags = [{"Key": "team", "Value": "ml"}]
    put_role(verified, allow())
    code, _, message = refused(assume, sts_as(verified), Tags=tags)
    assert code == "AccessDenied"
    assert "sts:TagSession" in message
    put_role(
        verified,
        allow(
            action=["sts:AssumeRole", "sts:TagSession"],
            Condition={"StringEquals": {"aws:RequestTag/team": "ml"}},
        ),
    )
    assume(sts_as(verified), Tags=tags)
    other = [{"Key": "team", "Value": "web"}]
    assert refused(assume, sts_as(verified), Tags=other)[0] == "AccessDenied"
