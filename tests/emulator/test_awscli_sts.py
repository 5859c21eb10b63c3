"""The AWS CLI against the emulator's STS, with signatures verified: who am I, assume a role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulator.identity_helpers import issue, verification
from tests.emulator.test_awscli import AWS, Cli
from tests.emulator.test_web_identity import EKS_HOST, ROLE, SUB, EksIssuer, irsa_trust
from tests.fixtures.emulator import ACCOUNT_ID, RunningEmulator

pytestmark = pytest.mark.skipif(
    not AWS.exists(), reason=f"AWS CLI not installed at {AWS}: run `make awscli`"
)


@pytest.fixture
def cli(fast_emulator: RunningEmulator, tmp_path: Path) -> Iterator[Cli]:
    fast_emulator.admin.reset()
    with verification(fast_emulator):
        alice = issue(fast_emulator, user="alice")
        signed = Cli(fast_emulator.url, tmp_path, fast_emulator.credentials)
        signed.env["AWS_ACCESS_KEY_ID"] = alice["AccessKeyId"]
        signed.env["AWS_SECRET_ACCESS_KEY"] = alice["SecretAccessKey"]
        yield signed


def test_get_caller_identity(cli: Cli) -> None:
    identity = cli.service("sts", "get-caller-identity")
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/alice"
    assert identity["Account"] == ACCOUNT_ID


def test_assume_role_and_use_the_session(cli: Cli, fast_emulator: RunningEmulator) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/alice"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "cli-test"}},
            }
        ],
    }
    fast_emulator.admin.request("PUT", "roles/operator", {"trust_policy": json.dumps(trust)})
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/operator"
    denied = cli.fails_in("sts", "assume-role", "--role-arn", role, "--role-session-name", "cli")
    assert "An error occurred (AccessDenied) when calling the AssumeRole operation" in denied
    answer = cli.service(
        "sts",
        "assume-role",
        "--role-arn",
        role,
        "--role-session-name",
        "cli",
        "--external-id",
        "cli-test",
        "--duration-seconds",
        "900",
    )
    credentials = answer["Credentials"]
    assert set(credentials) == {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    cli.env["AWS_ACCESS_KEY_ID"] = credentials["AccessKeyId"]
    cli.env["AWS_SECRET_ACCESS_KEY"] = credentials["SecretAccessKey"]
    cli.env["AWS_SESSION_TOKEN"] = credentials["SessionToken"]
    session = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/operator/cli"
    assert cli.service("sts", "get-caller-identity")["Arn"] == session
    assert cli("list-endpoints") == {"Endpoints": []}


def test_a_wrong_secret_is_refused(cli: Cli) -> None:
    cli.env["AWS_SECRET_ACCESS_KEY"] = "wrong"
    refused = cli.fails_in("sts", "get-caller-identity")
    assert "An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity" in refused
    refused = cli.fails_in("sagemaker", "list-endpoints")
    assert "An error occurred (InvalidSignatureException)" in refused


def test_assume_role_with_web_identity(cli: Cli, fast_emulator: RunningEmulator) -> None:
    eks = EksIssuer(fast_emulator)
    fast_emulator.admin.request(
        "PUT", "roles/irsa", {"trust_policy": irsa_trust(eks.arn, EKS_HOST)}
    )
    answer = cli.service(
        "sts",
        "assume-role-with-web-identity",
        "--role-arn",
        ROLE,
        "--role-session-name",
        "pod",
        "--web-identity-token",
        eks.token(),
    )
    assert answer["SubjectFromWebIdentityToken"] == SUB
    expired = eks.token(exp=1)
    refused = cli.fails_in(
        "sts",
        "assume-role-with-web-identity",
        "--role-arn",
        ROLE,
        "--role-session-name",
        "pod",
        "--web-identity-token",
        expired,
    )
    assert "An error occurred (ExpiredTokenException)" in refused
