"""EKS Pod Identity: the agent's credentials endpoint, through botocore's own container
credential provider, with signatures verified.

The cluster's issuer is an RS256 key pair whose discovery document and JWKS a small HTTP
server serves, registered through the admin API as a user of the emulator would; with the
`controlplane` marker, a real pod-bound token from the real API server.
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.emulator.identity_helpers import (
    ADVISORY_REFRESH_SECONDS,
    assert_refreshed_without_burst,
    sdk_environment,
    sessions_during_steady_calls,
    verification,
)
from tests.fixtures.controlplane import Kubectl
from tests.fixtures.emulator import ACCOUNT_ID, REGION, RunningEmulator
from tests.fixtures.trust_policies import trust_policy

ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/PODIDENTITYEXAMPLE"
CLUSTER = "ic-test"
CLUSTER_ARN = f"arn:aws:eks:{REGION}:{ACCOUNT_ID}:cluster/{CLUSTER}"
NAMESPACE, ACCOUNT = "ic-system", "ic-sagemaker-ic-operator"
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/pod-identity"
POD = {"name": "ic-operator-7d9f-abcde", "uid": "5a0d1c4e-0000-4000-8000-000000000001"}


class Issuer:
    """An EKS cluster's service-account issuer: an RS256 key, its discovery document and
    JWKS served over HTTP for the emulator to fetch."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        documents: dict[str, Any] = {"/keys": {"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]}}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(documents[self.path]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        documents["/.well-known/openid-configuration"] = {
            "issuer": ISSUER,
            "jwks_uri": f"{self.url}/keys",
        }
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, *, pod: dict[str, str] | None = POD, **claims: Any) -> str:
        """A projected token as the kubelet mounts it for a pod of the operator."""
        now = int(time.time())
        bound: dict[str, Any] = {
            "namespace": NAMESPACE,
            "serviceaccount": {"name": ACCOUNT, "uid": "sa-uid"},
            **({"pod": pod} if pod else {}),
        }
        body = {
            "iss": ISSUER,
            "sub": f"system:serviceaccount:{NAMESPACE}:{ACCOUNT}",
            "aud": ["pods.eks.amazonaws.com"],
            "iat": now,
            "exp": now + 600,
            "kubernetes.io": bound,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    found = Issuer()
    yield found
    found.server.shutdown()


def pod_trust(namespace: str = NAMESPACE) -> dict[str, Any]:
    return trust_policy(
        "pod-identity", cluster_arn=CLUSTER_ARN, namespace=namespace, service_account=ACCOUNT
    )


@pytest.fixture
def agent(fast_emulator: RunningEmulator, issuer: Issuer) -> Iterator[RunningEmulator]:
    """Verification on; the cluster registered (answering on the emulator's own address, as
    a test on the host calls it), the association and the documented role in place."""
    admin = fast_emulator.admin
    admin.reset()
    with verification(fast_emulator):
        admin.request(
            "PUT",
            "pod-identity",
            {
                "cluster_name": CLUSTER,
                "issuer": ISSUER,
                "discovery_url": issuer.url,
                "target_hosts": ["127.0.0.1"],
            },
        )
        admin.request(
            "PUT",
            "pod-identity-associations",
            {"namespace": NAMESPACE, "service_account": ACCOUNT, "role_arn": ROLE},
        )
        admin.request("PUT", "roles/pod-identity", {"trust_policy": pod_trust()})
        try:
            yield fast_emulator
        finally:
            admin.request("PUT", "session-duration", {"seconds": 3600})


def fetch(emulator: RunningEmulator, token: str, host: str | None = None) -> tuple[int, str]:
    """GET /v1/credentials as the SDK sends it: the token as `Authorization`."""
    request = urllib.request.Request(f"{emulator.url}/v1/credentials")
    request.add_header("Authorization", token)
    if host is not None:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def container_session(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, token: str
) -> boto3.Session:
    """A session whose only credential source is the container provider, configured with
    the variables the EKS Pod Identity webhook sets."""
    token_file = tmp_path / "eks-pod-identity-token"
    token_file.write_text(token)
    sdk_environment(monkeypatch, tmp_path, emulator.url)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{emulator.url}/v1/credentials")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token_file))
    return boto3.Session(region_name=REGION)


def assumed_arns(emulator: RunningEmulator) -> list[str]:
    return [
        c["assumed"]["arn"]
        for c in emulator.admin.calls("AssumeRoleForPodIdentity")
        if c["error"] is None
    ]


def test_botocores_container_provider_gets_and_uses_pod_credentials(
    agent: RunningEmulator, issuer: Issuer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    session = container_session(agent, monkeypatch, tmp_path, issuer.token())
    credentials = session.get_credentials()
    assert credentials.method == "container-role"
    session.client("sagemaker").list_endpoints()
    (arn,) = assumed_arns(agent)
    assert arn.startswith(f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/pod-identity/eks-{CLUSTER}-")
    # The signed call is the assumed role's: verification accepted the session it issued.
    (listing,) = agent.admin.calls("ListEndpoints")
    assert listing["error"] is None and listing["principal"]["arn"] == arn
    # The session carries the six tags EKS adds, the pod's among them.
    issued = agent.thread.emulator.world.identities.credentials[credentials.access_key]
    assert issued.tags == {
        "eks-cluster-arn": CLUSTER_ARN,
        "eks-cluster-name": CLUSTER,
        "kubernetes-namespace": NAMESPACE,
        "kubernetes-service-account": ACCOUNT,
        "kubernetes-pod-name": POD["name"],
        "kubernetes-pod-uid": POD["uid"],
    }
    # Nothing secret in the call log: neither the token nor the secret key.
    logged = json.dumps(agent.admin.calls("AssumeRoleForPodIdentity"))
    assert issuer.token()[:40] not in logged and credentials.secret_key not in logged


def test_the_answer_is_the_agents(agent: RunningEmulator, issuer: Issuer) -> None:
    agent.admin.request("PUT", "session-duration", {"seconds": 1200})
    status, text = fetch(agent, issuer.token())
    assert status == 200, text
    answer = json.loads(text)
    assert sorted(answer) == ["AccessKeyId", "AccountId", "Expiration", "SecretAccessKey", "Token"]
    assert answer["AccessKeyId"].startswith("ASIA") and answer["AccountId"] == ACCOUNT_ID
    expires = datetime.datetime.fromisoformat(answer["Expiration"].replace("Z", "+00:00"))
    assert abs(expires.timestamp() - (time.time() + 1200)) < 30


@pytest.mark.parametrize(
    ("token_claims", "host", "status", "starts"),
    [
        ({}, "169.254.170.2", 403, "Access Denied. Called agent through invalid address"),
        ({"exp": int(time.time()) - 60}, None, 400, "(ExpiredTokenException)"),
        ({"aud": ["sts.amazonaws.com"]}, None, 400, "(InvalidTokenException)"),
        ({"pod": None}, None, 400, "(InvalidTokenException): The token is not bound to a pod"),
        (
            {
                "kubernetes.io": {
                    "namespace": "other",
                    "serviceaccount": {"name": ACCOUNT},
                    "pod": POD,
                }
            },
            None,
            404,
            "(ResourceNotFoundException): No Pod Identity Association",
        ),
    ],
    ids=["address", "expired", "audience", "unbound", "no-association"],
)
def test_what_the_agent_refuses(
    agent: RunningEmulator,
    issuer: Issuer,
    token_claims: dict[str, Any],
    host: str | None,
    status: int,
    starts: str,
) -> None:
    claims = dict(token_claims)
    token = issuer.token(pod=claims.pop("pod", POD), **claims)
    got = fetch(agent, token, host)
    assert got[0] == status and got[1].startswith(starts), got
    (record,) = agent.admin.calls("AssumeRoleForPodIdentity")
    assert record["error"] and record["assumed"] is None


def test_an_empty_token_is_refused_before_eks_auth(agent: RunningEmulator) -> None:
    assert fetch(agent, "") == (400, "Service account token cannot be empty\n")


def test_the_trust_policy_decides(agent: RunningEmulator, issuer: Issuer) -> None:
    """The documented policy for another namespace denies; one without sts:TagSession
    denies TagSession, unless the association disables session tags."""
    admin = agent.admin
    admin.request("PUT", "roles/pod-identity", {"trust_policy": pod_trust("elsewhere")})
    status, text = fetch(agent, issuer.token())
    assert (status, text.split(":")[0]) == (400, "(AccessDeniedException)")
    assert "sts:AssumeRole on resource: " + ROLE in text

    no_tags = pod_trust()
    (statement,) = no_tags["Statement"]
    statement["Action"] = "sts:AssumeRole"
    del statement["Condition"]
    admin.request("PUT", "roles/pod-identity", {"trust_policy": no_tags})
    status, text = fetch(agent, issuer.token())
    assert status == 400 and "sts:TagSession" in text
    admin.request(
        "PUT",
        "pod-identity-associations",
        {
            "namespace": NAMESPACE,
            "service_account": ACCOUNT,
            "role_arn": ROLE,
            "disable_session_tags": True,
        },
    )
    status, text = fetch(agent, issuer.token())
    assert status == 200, text
    issued = agent.thread.emulator.world.identities.credentials[json.loads(text)["AccessKeyId"]]
    assert issued.tags == {}


def test_a_trust_policy_naming_the_account_does_not_trust_the_service(
    agent: RunningEmulator, issuer: Issuer
) -> None:
    account_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    agent.admin.request("PUT", "roles/pod-identity", {"trust_policy": account_trust})
    status, text = fetch(agent, issuer.token())
    assert status == 400 and text.startswith("(AccessDeniedException)")


@pytest.mark.controlplane
def test_a_real_pod_bound_token(agent: RunningEmulator, kubectl: Kubectl, namespace: str) -> None:
    """The local API server's issuer, discovery and JWKS; a token bound to a real Pod
    object (`kubectl create token --bound-object-kind Pod`), as the kubelet projects one."""
    raw = json.loads(kubectl("config", "view", "--raw", "-o", "json").stdout)
    cluster = raw["clusters"][0]["cluster"]
    kubectl("create", "serviceaccount", ACCOUNT, "-n", namespace)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "operator", "namespace": namespace},
        "spec": {
            "serviceAccountName": ACCOUNT,
            "containers": [{"name": "c", "image": "registry.invalid/none"}],
        },
    }
    kubectl("apply", "-f", "-", input=json.dumps(pod))
    uid = kubectl("get", "pod", "operator", "-n", namespace, "-o", "jsonpath={.metadata.uid}")
    reader = kubectl("create", "token", ACCOUNT, "-n", namespace).stdout.strip()
    issuer = jwt.decode(reader, options={"verify_signature": False})["iss"]
    agent.admin.request(
        "PUT",
        "pod-identity",
        {
            "cluster_name": CLUSTER,
            "issuer": issuer,
            "discovery_url": cluster["server"],
            "ca_pem": base64.b64decode(cluster["certificate-authority-data"]).decode(),
            "bearer_token": reader,
            "target_hosts": ["127.0.0.1"],
        },
    )
    agent.admin.request(
        "PUT",
        "pod-identity-associations",
        {"namespace": namespace, "service_account": ACCOUNT, "role_arn": ROLE},
    )
    agent.admin.request("PUT", "roles/pod-identity", {"trust_policy": pod_trust(namespace)})
    token = kubectl(
        "create", "token", ACCOUNT, "-n", namespace,
        "--audience", "pods.eks.amazonaws.com",
        "--bound-object-kind", "Pod", "--bound-object-name", "operator",
        f"--bound-object-uid={uid.stdout.strip()}",
    ).stdout.strip()  # fmt: skip
    status, text = fetch(agent, token)
    assert status == 200, text
    issued = agent.thread.emulator.world.identities.credentials[json.loads(text)["AccessKeyId"]]
    assert issued.tags["kubernetes-pod-uid"] == uid.stdout.strip()
    assert issued.tags["kubernetes-namespace"] == namespace
    # The API server's own audience is not the agent's.
    assert fetch(agent, reader)[0] == 400


def test_credentials_are_refreshed_before_expiry_without_a_failed_call(
    agent: RunningEmulator, issuer: Issuer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Sessions of botocore's advisory window plus 2 s: the SDK fetches new credentials
    about every 2 s, once each time, while every call keeps succeeding."""
    agent.admin.request("PUT", "session-duration", {"seconds": ADVISORY_REFRESH_SECONDS + 2})
    session = container_session(agent, monkeypatch, tmp_path, issuer.token())
    sessions = sessions_during_steady_calls(agent, session.client("sagemaker"), seconds=6)
    fetches = agent.admin.calls("AssumeRoleForPodIdentity")
    assert_refreshed_without_burst(fetches, sessions, lifetime=2)


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("session-duration", {"seconds": 0}, "positive number"),
        ("session-duration", {"seconds": True}, "positive number"),
        ("pod-identity", {"issuer": ISSUER}, '"cluster_name"'),
        ("pod-identity", {"cluster_name": CLUSTER, "issuer": "http://x"}, "https URL"),
        (
            "pod-identity",
            {"cluster_name": CLUSTER, "issuer": ISSUER, "target_hosts": "169.254.170.23"},
            "target_hosts must be a list",
        ),
        ("pod-identity-associations", {"namespace": NAMESPACE}, '"role_arn"'),
    ],
    ids=["zero", "bool", "no-cluster", "http-issuer", "hosts", "association"],
)
def test_admin_refuses_bad_bodies(
    fast_emulator: RunningEmulator, path: str, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        fast_emulator.admin.request("PUT", path, body)
    assert caught.value.code == 400
    assert message in json.loads(caught.value.read())["error"]
