"""A role the operator can no longer assume, mid-run: what users meet when IRSA's refresh fails.

The operator runs as on EKS with IRSA: `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`, the
token a service-account token of the real API server with audience `sts.amazonaws.com`, which
the emulator's STS verifies against that API server's OIDC discovery document and JWKS; the
role trusts the documented IRSA policy (docs/security.md). Sessions last SESSION_SECONDS,
inside botocore's mandatory refresh window (10 min), so the SDK fetches a new session before
every call and a refused fetch fails the call (outside that window botocore keeps the old
session and tries again): the first call after the trust policy changes or the token file is
replaced meets the refusal that, on EKS, the refresh some minutes later would meet, without a
test waiting for a real session to age. Each fetch is one AssumeRoleWithWebIdentity in the
emulator's call log, which is how the test counts the operator's attempts.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest

from ic_sandbox.harness.identity import ANY_CREDENTIALS
from tests.fixtures.controlplane import Cluster, Kubectl
from tests.fixtures.emulator import RunningEmulator, wait_for
from tests.fixtures.operator import OperatorTestbed, operator_world
from tests.fixtures.trust_policies import trust_policy

pytestmark = [pytest.mark.e2e, pytest.mark.controlplane]

SERVICE_ACCOUNT = "ic-operator"
ROLE = "ic-operator-irsa"
STS_AUDIENCE = "sts.amazonaws.com"
FETCH = "AssumeRoleWithWebIdentity"
SESSION_SECONDS = 300  # below botocore's mandatory refresh window: see the module's text
AWS_DEFAULT_SESSION_SECONDS = 3600  # what the shared emulator goes back to
RETRY = "sagemaker.ic-operator.io/retry"
NO_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclass
class Irsa:
    """One namespace's IRSA set-up (the role, its OIDC provider, the projected token) and the
    knobs that break it; ``world`` is its operator once started."""

    kubectl: Kubectl
    emulator: RunningEmulator
    namespace: str
    oidc_provider: str  # the issuer without https://, as trust policies name it
    token_file: Path
    world: OperatorTestbed | None = None

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.emulator.account_id}:role/{ROLE}"

    @property
    def session_arn(self) -> str:
        return f"arn:aws:sts::{self.emulator.account_id}:assumed-role/{ROLE}/{self.namespace}"

    def project_token(self, audience: str = STS_AUDIENCE) -> None:
        """A fresh token of the operator's ServiceAccount in the token file, as the kubelet
        projects it (written whole, then renamed: the kubelet's swap is atomic too)."""
        out = self.kubectl(
            "create", "token", SERVICE_ACCOUNT, "-n", self.namespace,
            "--audience", audience, "--duration", "1h",
        )  # fmt: skip
        staged = self.token_file.with_suffix(".new")
        staged.write_text(out.stdout.strip())
        staged.replace(self.token_file)

    def trust(self, service_account: str = SERVICE_ACCOUNT) -> None:
        """The documented IRSA trust policy, for ``service_account`` of the namespace."""
        policy = trust_policy(
            "irsa",
            account_id=self.emulator.account_id,
            oidc_provider=self.oidc_provider,
            namespace=self.namespace,
            service_account=service_account,
        )
        self.emulator.admin.request("PUT", f"roles/{ROLE}", {"trust_policy": policy})

    def fetches(self, *, refused: bool | None = None) -> list[dict[str, Any]]:
        """The operator's credential fetches, oldest first (nothing else here uses IRSA);
        only the refused (or only the granted) ones with ``refused``."""
        calls = self.emulator.admin.calls(FETCH)
        return [c for c in calls if refused is None or (c["error"] is not None) == refused]

    def as_eks_webhook_sets_it(self, env: dict[str, str]) -> None:
        """The operator's variables: IRSA's instead of a key."""
        for name in NO_CREDENTIALS:
            env.pop(name, None)
        env.update(
            AWS_ROLE_ARN=self.role_arn,
            AWS_WEB_IDENTITY_TOKEN_FILE=str(self.token_file),
            AWS_ROLE_SESSION_NAME=self.namespace,
        )


@pytest.fixture
def irsa(
    request: pytest.FixtureRequest,
    control_plane: Cluster,
    kubectl: Kubectl,
    namespace: str,
    crds_installed: None,
    emulator: RunningEmulator,
    sagemaker: Any,
    tmp_path: Path,
) -> Iterator[Irsa]:
    kubectl("create", "serviceaccount", SERVICE_ACCOUNT, "-n", namespace)
    # The emulator learns the API server's issuer as the account's OIDC provider (IRSA's
    # `eksctl utils associate-iam-oidc-provider`): discovery and JWKS read from the API server.
    reader = kubectl("create", "token", SERVICE_ACCOUNT, "-n", namespace).stdout.strip()
    issuer = str(jwt.decode(reader, options={"verify_signature": False})["iss"])
    config = json.loads(kubectl("config", "view", "--raw", "--minify", "-o", "json").stdout)
    cluster = config["clusters"][0]["cluster"]
    emulator.admin.request(
        "PUT",
        "oidc-providers",
        {
            "issuer": issuer,
            "discovery_url": cluster["server"],
            "ca_pem": base64.b64decode(cluster["certificate-authority-data"]).decode(),
            "bearer_token": reader,
        },
    )
    found = Irsa(kubectl, emulator, namespace, issuer.removeprefix("https://"), tmp_path / "token")
    found.trust()
    found.project_token()
    emulator.admin.request("PUT", "session-duration", {"seconds": SESSION_SECONDS})
    try:
        for world in operator_world(
            request, control_plane, kubectl, namespace, emulator, sagemaker, tmp_path,
            credentials=ANY_CREDENTIALS, environment=found.as_eks_webhook_sets_it,
        ):  # fmt: skip
            found.world = world
            yield found
    finally:
        emulator.admin.request("PUT", "session-duration", {"seconds": AWS_DEFAULT_SESSION_SECONDS})


def degraded(world: OperatorTestbed, name: str) -> str:
    obj = world.wait_condition(name, "Degraded", "True", reason="CredentialsRejected")
    return next(c["message"] for c in obj["status"]["conditions"] if c["type"] == "Degraded")


def recovered(world: OperatorTestbed, name: str, copies: int, *, timeout: float) -> None:
    """Ready with ``copies`` in SageMaker, and Degraded cleared."""

    def probe() -> bool:
        ready, bad = world.condition(name, "Ready"), world.condition(name, "Degraded")
        return (
            ready is not None
            and ready["status"] == "True"
            and (bad is None or bad["status"] != "True")
            and world.describe(name)["RuntimeConfig"]["DesiredCopyCount"] == copies
        )

    wait_for(probe, timeout=timeout, interval=0.5, what=f"{name} recovered")


def refused_and_held(irsa: Irsa, code: str) -> tuple[str, float]:
    """The component's report of a refused refresh, with the retry held back and nothing
    deleted; the Degraded message and when it was seen (time.monotonic)."""
    world = irsa.world
    assert world is not None
    world.patch("llm", {"spec": {"runtimeConfig": {"copyCount": 2}}})
    message = degraded(world, "llm")
    seen = time.monotonic()
    assert message.startswith(f"{irsa.session_arn} could not get credentials for sagemaker:")
    assert (
        f"the credential provider's sts:{FETCH} on role {irsa.role_arn} was refused: {code}: "
    ) in message
    assert "retries with backoff (60 s" in message
    # The timer keeps coming back but stays away from AWS (and STS) while backing off.
    refused = len(irsa.fetches())
    world.wait_timer_passes(3, outcome="NotDue")
    assert len(irsa.fetches()) == refused, "no backoff"
    assert world.calls("DeleteInferenceComponent", "llm") == []
    component = world.describe("llm")
    assert component["InferenceComponentStatus"] == "InService"
    assert component["RuntimeConfig"]["DesiredCopyCount"] == 1
    said = [line for line in world.operator.logs().splitlines() if "could not get cred" in line]
    assert len(said) == 1, "said once, not on every pass"
    assert irsa.role_arn in said[0]
    return message, seen


def test_a_trust_policy_that_stops_trusting_the_operator_mid_run(irsa: Irsa) -> None:
    world = irsa.world
    assert world is not None
    world.apply(world.manifest("llm", copies=1))
    world.wait_settled("llm")
    (create,) = world.calls("CreateInferenceComponent", "llm")
    assert create["principal"]["arn"] == irsa.session_arn
    assert irsa.fetches(refused=True) == []
    assert len(irsa.fetches(refused=False)) >= 2  # the session was refreshed before calls

    irsa.trust(service_account="someone-else")  # a trust policy edited the wrong way
    _, refused_at = refused_and_held(irsa, "AccessDenied")

    # Restored: the backoff's own retry gets through (no annotation), after 60 s +-20 %.
    irsa.trust()
    recovered(world, "llm", copies=2, timeout=120)
    assert time.monotonic() - refused_at >= 0.8 * 60 - 5, "retried before its backoff"
    assert len(irsa.fetches(refused=True)) <= 2, "slow retry, not a loop"
    assert world.operator.logs().count("AWS accepts the operator's credentials again") == 1


def test_a_token_of_the_wrong_audience_mid_run(irsa: Irsa) -> None:
    world = irsa.world
    assert world is not None
    world.apply(world.manifest("llm", copies=1))
    world.wait_settled("llm")

    irsa.project_token(audience="https://kubernetes.default.svc")  # not STS's audience
    message, _ = refused_and_held(irsa, "InvalidIdentityToken")
    assert "Incorrect token audience" in message

    irsa.project_token()
    world.patch("llm", {"metadata": {"annotations": {RETRY: "token-fixed"}}})
    recovered(world, "llm", copies=2, timeout=60)
    assert world.operator.logs().count("AWS accepts the operator's credentials again") == 1
