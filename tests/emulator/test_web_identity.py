"""AssumeRoleWithWebIdentity through boto3: tokens signed as EKS signs them (RS256, a
provider registered in-process), and a real service-account token from the real API server
(ES256, its discovery document and JWKS fetched over HTTPS)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from ic_sandbox.emulator.web_identity import OidcProvider
from tests.emulator.identity_helpers import (
    ADVISORY_REFRESH_SECONDS,
    assert_refreshed_without_burst,
    sdk_environment,
    sessions_during_steady_calls,
    signed_client,
    verification,
)
from tests.fixtures.controlplane import Kubectl
from tests.fixtures.emulator import ACCOUNT_ID, REGION, RunningEmulator

ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/irsa"
EKS_ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
EKS_HOST = EKS_ISSUER.removeprefix("https://")
SUB = "system:serviceaccount:ic-system:ic-operator"


def irsa_trust(provider_arn: str, host: str, sub: str = SUB) -> dict[str, Any]:
    """The trust policy EKS's IRSA documentation gives, for one service account."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{host}:sub": sub, f"{host}:aud": "sts.amazonaws.com"}
                },
            }
        ],
    }


def anonymous_sts(emulator: RunningEmulator) -> Any:
    """What botocore's web-identity provider uses: an unsigned STS client."""
    return boto3.client(
        "sts",
        endpoint_url=emulator.url,
        region_name=REGION,
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )


def refusal(sts: Any, token: str) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        sts.assume_role_with_web_identity(
            RoleArn=ROLE, RoleSessionName="pod", WebIdentityToken=token
        )
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


@pytest.fixture
def verified(fast_emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    fast_emulator.admin.reset()
    with verification(fast_emulator):
        yield fast_emulator


class EksIssuer:
    """An RS256 key pair standing for an EKS cluster's OIDC issuer."""

    def __init__(self, emulator: RunningEmulator) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        keys = jwt.PyJWKSet.from_dict({"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]})
        identities = emulator.thread.emulator.world.identities
        self.arn = identities.provider_arn(ACCOUNT_ID, EKS_ISSUER)
        identities.providers[self.arn] = OidcProvider(
            EKS_ISSUER, self.arn, ["sts.amazonaws.com"], keys
        )

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": EKS_ISSUER,
            "sub": SUB,
            "aud": ["sts.amazonaws.com"],
            "iat": now,
            "exp": now + 600,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def eks(verified: RunningEmulator) -> EksIssuer:
    issuer = EksIssuer(verified)
    verified.admin.request("PUT", "roles/irsa", {"trust_policy": irsa_trust(issuer.arn, EKS_HOST)})
    return issuer


def test_a_valid_token_gets_session_credentials(verified: RunningEmulator, eks: EksIssuer) -> None:
    answer = anonymous_sts(verified).assume_role_with_web_identity(
        RoleArn=ROLE, RoleSessionName="pod", WebIdentityToken=eks.token(), DurationSeconds=900
    )
    assert answer["SubjectFromWebIdentityToken"] == SUB
    assert answer["Audience"] == "sts.amazonaws.com"
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/irsa/pod"
    session = signed_client(verified, "sts", answer["Credentials"])
    assert session.get_caller_identity()["Arn"] == answer["AssumedRoleUser"]["Arn"]


@pytest.mark.parametrize(
    ("claims", "code", "status", "message"),
    [
        ({"exp": int(time.time()) - 60}, "ExpiredTokenException", 400, "Token expired"),
        ({"aud": ["sts.example.com"]}, "InvalidIdentityToken", 400, "Incorrect token audience"),
        (
            {"sub": "system:serviceaccount:default:other"},
            "AccessDenied",
            403,
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ),
        (
            {"iss": "https://elsewhere.example"},
            "InvalidIdentityToken",
            400,
            "No OpenIDConnect provider found in your account for https://elsewhere.example",
        ),
    ],
    ids=["expired", "audience", "subject", "issuer"],
)
def test_what_sts_refuses(
    verified: RunningEmulator,
    eks: EksIssuer,
    claims: dict[str, Any],
    code: str,
    status: int,
    message: str,
) -> None:
    refused = refusal(anonymous_sts(verified), eks.token(**claims))
    assert refused[:2] == (code, status)
    assert refused[2].startswith(message)


def test_a_token_signed_by_another_key_is_invalid(
    verified: RunningEmulator, eks: EksIssuer
) -> None:
    impostor = EksIssuer.__new__(EksIssuer)
    impostor.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    code, _, _ = refusal(anonymous_sts(verified), impostor.token())
    assert code == "InvalidIdentityToken"


@pytest.mark.controlplane
def test_a_real_service_account_token(
    verified: RunningEmulator, kubectl: Kubectl, namespace: str
) -> None:
    """The local API server's own issuer, discovery and JWKS, and `kubectl create token`."""
    raw = json.loads(kubectl("config", "view", "--raw", "-o", "json").stdout)
    cluster = raw["clusters"][0]["cluster"]
    ca_pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
    kubectl("create", "serviceaccount", "ic-operator", "-n", namespace)
    # Only service accounts may read the discovery endpoints by default: the emulator
    # fetches them with a token of the API server's own audience.
    reader = kubectl("create", "token", "ic-operator", "-n", namespace).stdout.strip()
    issuer = jwt.decode(reader, options={"verify_signature": False})["iss"]
    provider = verified.admin.request(
        "PUT",
        "oidc-providers",
        {
            "issuer": issuer,
            "discovery_url": cluster["server"],
            "ca_pem": ca_pem,
            "bearer_token": reader,
        },
    )
    host = issuer.removeprefix("https://")
    sub = f"system:serviceaccount:{namespace}:ic-operator"
    verified.admin.request(
        "PUT", "roles/irsa", {"trust_policy": irsa_trust(provider["Arn"], host, sub)}
    )
    token = kubectl(
        "create", "token", "ic-operator", "-n", namespace, "--audience", "sts.amazonaws.com"
    ).stdout.strip()
    answer = anonymous_sts(verified).assume_role_with_web_identity(
        RoleArn=ROLE, RoleSessionName="pod", WebIdentityToken=token
    )
    assert answer["SubjectFromWebIdentityToken"] == sub
    signed_client(verified, "sagemaker", answer["Credentials"]).list_endpoints()
    code, _, _ = refusal(anonymous_sts(verified), reader)  # the API server's audience
    assert code == "InvalidIdentityToken"


def test_botocores_own_irsa_provider_gets_and_uses_credentials(
    verified: RunningEmulator,
    eks: EksIssuer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    """What a pod's SDK does with the variables the EKS pod identity webhook sets."""
    token_file = tmp_path / "token"
    token_file.write_text(eks.token())
    sdk_environment(monkeypatch, tmp_path, verified.url)
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "pod")
    session = boto3.Session(region_name=REGION)
    assert session.get_credentials().method == "assume-role-with-web-identity"
    sagemaker = session.client("sagemaker")
    sagemaker.list_endpoints()
    assert verified.admin.calls()[-1]["principal"]["arn"] == (
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/irsa/pod"
    )


def test_irsa_credentials_are_refreshed_before_expiry_without_a_failed_call(
    verified: RunningEmulator,
    eks: EksIssuer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    """botocore's web-identity provider asks STS (no DurationSeconds) again once the
    session is within its advisory window: with sessions 2 s longer than it, every 2 s."""
    token_file = tmp_path / "token"
    token_file.write_text(eks.token())
    sdk_environment(monkeypatch, tmp_path, verified.url)
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    admin = verified.admin
    admin.request("PUT", "session-duration", {"seconds": ADVISORY_REFRESH_SECONDS + 2})
    try:
        client = boto3.Session(region_name=REGION).client("sagemaker")
        sessions = sessions_during_steady_calls(verified, client, seconds=6)
    finally:
        admin.request("PUT", "session-duration", {"seconds": 3600})
    assert_refreshed_without_burst(admin.calls("AssumeRoleWithWebIdentity"), sessions, lifetime=2)
