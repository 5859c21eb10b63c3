"""The chart's pod signing in to AWS as on EKS: IRSA and EKS Pod Identity, on a real node.

The emulator verifies every signature (it knows only credentials it issued), so the
operator's calls succeed only with the session its pod obtained: (a) IRSA, the projected
token of audience `sts.amazonaws.com` exchanged at the emulator's STS
(AssumeRoleWithWebIdentity, verified against the real API server's JWKS); (b) Pod Identity,
the projected token of audience `pods.eks.amazonaws.com` sent to the agent's address
169.254.170.23, which the node's network routes to the emulator's credentials endpoint. The
pod spec carries exactly what the EKS webhook would add (eks_webhook.py); the roles' trust
policies are the ones docs/security.md gives users (tests/fixtures/trust_policies.py).

Sessions last botocore's advisory refresh window plus REFRESH_SECONDS, so the operator's SDK
fetches new credentials every REFRESH_SECONDS while it works (docs/node.md explains why):
the emulator's log shows each fetch, and every call before, between and after succeeded.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest

from ic_sandbox.emulator import EmulatorThread
from ic_sandbox.harness.identity import EmulatorIdentity
from ic_sandbox.sandbox import seed
from tests.chart.helm import CHART, Helm, install_helm
from tests.fixtures.emulator import Admin, wait_for
from tests.fixtures.trust_policies import trust_policy
from tests.node import eks_webhook
from tests.node.chart_release import TIME_SCALE, errors, example
from tests.node.conftest import RunningNode, import_operator_image
from tests.node.test_chart import RELEASE, RELEASE_NAMESPACE, WATCHED, HelmRelease

pytestmark = [pytest.mark.node, pytest.mark.slow]

SERVICE_ACCOUNT = f"{RELEASE}-sagemaker-ic-operator"
CLUSTER = "ic-node"
AGENT_ADDRESS, AGENT_PORT = "169.254.170.23", 80
ADVISORY_REFRESH_SECONDS = 15 * 60  # botocore's advisory window (credentials.py)
REFRESH_SECONDS = 20
FETCHES = {"irsa": "AssumeRoleWithWebIdentity", "pod-identity": "AssumeRoleForPodIdentity"}
AUTH_ERRORS = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
}


class World:
    """The node, the emulator on its gateway (verifying signatures), the issuer of the
    node's control plane registered for IRSA and Pod Identity, and the agent's address
    routed to the emulator."""

    def __init__(self, node: RunningNode, emulator_url: str, image: tuple[str, str]) -> None:
        self.node, self.url, self.admin = node, emulator_url, Admin(emulator_url)
        self.image = image  # (repository, tag) in the node's containerd
        health = self.admin.health()
        self.account, self.region = health["account_id"], health["region"]
        # Verification on, and the test's own admin user (who seeds; the pod is not it).
        self.identity = EmulatorIdentity.establish(self.admin, emulator_url, self.region)
        seed.seed_endpoints(emulator_url, self.identity.admin)
        raw = json.loads(node.kubectl("config", "view", "--raw", "-o", "json").stdout)
        cluster = raw["clusters"][0]["cluster"]
        node.kubectl("create", "serviceaccount", "issuer-reader", "-n", "default")
        reader = node.kubectl("create", "token", "issuer-reader", "-n", "default").stdout.strip()
        self.issuer = jwt.decode(reader, options={"verify_signature": False})["iss"]
        issuer = {
            "issuer": self.issuer,
            "discovery_url": cluster["server"],
            "ca_pem": base64.b64decode(cluster["certificate-authority-data"]).decode(),
            "bearer_token": reader,
        }
        self.admin.request("PUT", "oidc-providers", issuer)
        self.admin.request("PUT", "pod-identity", {"cluster_name": CLUSTER, **issuer})
        self.admin.request(
            "PUT", "session-duration", {"seconds": ADVISORY_REFRESH_SECONDS + REFRESH_SECONDS}
        )
        port = urlsplit(emulator_url).port
        assert port is not None
        node.network.forward(AGENT_ADDRESS, AGENT_PORT, node.network.gateway, port)
        # Both releases watch the examples' namespace; test_chart.py, earlier in the same
        # session, leaves it behind (its uninstall keeps the components): apply, not create.
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": WATCHED}}
        node.kubectl("apply", "-f", "-", input=json.dumps(namespace))

    def role_arn(self, mode: str) -> str:
        return f"arn:aws:iam::{self.account}:role/ic-operator-{mode}"

    def grant(self, mode: str) -> None:
        """The role of `mode` with the documented trust policy (and, for Pod Identity, the
        association of the chart's ServiceAccount)."""
        placeholders = {"namespace": RELEASE_NAMESPACE, "service_account": SERVICE_ACCOUNT}
        if mode == "irsa":
            oidc = self.issuer.removeprefix("https://")
            policy = trust_policy(
                "irsa", account_id=self.account, oidc_provider=oidc, **placeholders
            )
        else:
            arn = f"arn:aws:eks:{self.region}:{self.account}:cluster/{CLUSTER}"
            policy = trust_policy("pod-identity", cluster_arn=arn, **placeholders)
            self.admin.request(
                "PUT",
                "pod-identity-associations",
                {
                    "namespace": RELEASE_NAMESPACE,
                    "service_account": SERVICE_ACCOUNT,
                    "role_arn": self.role_arn(mode),
                },
            )
        self.admin.request("PUT", f"roles/ic-operator-{mode}", {"trust_policy": policy})


@pytest.fixture(scope="module")
def world(running_node: RunningNode) -> Iterator[World]:
    image = import_operator_image(running_node)
    with EmulatorThread(host=running_node.network.gateway, time_scale=TIME_SCALE) as emulator:
        yield World(running_node, emulator.url, image)


@pytest.fixture(scope="module", params=["irsa", "pod-identity"])
def release(request: pytest.FixtureRequest, world: World) -> Iterator[tuple[str, HelmRelease]]:
    """The chart installed with the mode's webhook additions and no other credential."""
    mode: str = request.param
    world.grant(mode)
    mutation = (
        eks_webhook.irsa(world.role_arn(mode), world.region)
        if mode == "irsa"
        else eks_webhook.pod_identity(world.region)
    )
    # The emulator for every AWS service the pod calls, STS included (a test's setting,
    # not the webhook's).
    values = mutation.helm_values([{"name": "AWS_ENDPOINT_URL", "value": world.url}])
    repository, tag = world.image
    found = HelmRelease(
        world.node, world.admin, world.url, RELEASE, RELEASE_NAMESPACE, WATCHED,
        world.identity.admin, Helm(install_helm()),
    )  # fmt: skip
    world.admin.clear_calls()
    found.helm_run(
        "install", RELEASE, str(CHART), "--create-namespace",
        f"--set=image.repository={repository}", f"--set=image.tag={tag}",
        "--set=image.pullPolicy=Never", f"--set=region={world.region}",
        f"--set=watchNamespaces={{{WATCHED}}}", "--set=resyncIntervalSeconds=5",
        *([f"--set=serviceAccount.roleArn={world.role_arn(mode)}"] if mode == "irsa" else []),
        f"--set-json=extraEnv={json.dumps(values['extraEnv'])}",
        f"--set-json=extraVolumes={json.dumps(values['extraVolumes'])}",
        f"--set-json=extraVolumeMounts={json.dumps(values['extraVolumeMounts'])}",
        "--wait", "--timeout=3m",
    )  # fmt: skip
    try:
        yield mode, found
    finally:
        found.helm_run("uninstall", RELEASE, "--wait", "--timeout=2m")
        wait_for(lambda: not found.pods(), timeout=60, interval=0.5, what="operator pods gone")


def _operator_calls(release: HelmRelease) -> list[dict[str, Any]]:
    """The pod's AWS calls (SageMaker), oldest first."""
    return [c for c in release.admin.calls() if c["service"] == "SageMaker"]


def test_pod_has_only_the_webhooks_credentials(release: tuple[str, HelmRelease]) -> None:
    mode, found = release
    assert found.admin.request("GET", "identity")["verify"] is True  # nothing else would do
    pod = found.ready_pod()
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & set(env)
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    if mode == "irsa":
        assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == f"{eks_webhook.IRSA_TOKEN_DIR}/token"
        assert eks_webhook.IRSA_TOKEN_DIR in mounts
    else:
        assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == "http://169.254.170.23/v1/credentials"
        assert eks_webhook.POD_IDENTITY_TOKEN_DIR in mounts


def test_reconciles_an_example_to_ready_as_the_assumed_role(
    release: tuple[str, HelmRelease],
) -> None:
    mode, found = release
    manifest = example("basic")
    name = f"llama3-8b-{mode}"
    manifest["metadata"]["name"] = name
    found.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    found.wait_ready(name, timeout=180)
    (create,) = found.calls("CreateInferenceComponent", name)
    role = f"assumed-role/ic-operator-{mode}/"
    assert role in create["principal"]["arn"], create["principal"]
    if mode == "pod-identity":  # EKS Auth's session name: eks-CLUSTER-POD-UUID (64 at most)
        session = create["principal"]["arn"].rpartition("/")[2]
        assert session.startswith(f"eks-{CLUSTER}-{found.ready_pod()['metadata']['name']}-")
    calls = _operator_calls(found)
    assert calls and all(role in (c["principal"] or {}).get("arn", "") for c in calls), calls
    assert not [c for c in calls if c["error"] in AUTH_ERRORS]
    fetches = found.admin.calls(FETCHES[mode])
    assert fetches and all(c["error"] is None for c in fetches), fetches
    assert errors(found.logs(found.ready_pod()["metadata"]["name"])) == []


def test_credentials_are_refreshed_with_no_failed_call_and_no_burst(
    release: tuple[str, HelmRelease],
) -> None:
    mode, found = release
    first = len(found.admin.calls(FETCHES[mode]))
    wait_for(
        lambda: len(found.admin.calls(FETCHES[mode])) >= first + 2,
        timeout=4 * REFRESH_SECONDS + 30,
        interval=1,
        what="two credential refreshes",
    )
    fetches = found.admin.calls(FETCHES[mode])
    assert all(c["error"] is None for c in fetches), fetches
    # No burst: the operator's one SageMaker client fetches once per session, when it is
    # within botocore's advisory window, never sooner (slack for the call that notices).
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(fetches)]
    assert all(gap >= REFRESH_SECONDS - 2 for gap in gaps), gaps
    calls = _operator_calls(found)
    assert not [c for c in calls if c["error"] in AUTH_ERRORS], calls
    # Calls went on across the refreshes, each signed by a session the pod fetched.
    last = fetches[-1]["at"]
    wait_for(
        lambda: [c for c in _operator_calls(found) if c["at"] > last],
        timeout=30,
        interval=0.5,
        what="a call with the refreshed credentials",
    )
    if mode == "pod-identity":
        issued = [c["assumed"]["arn"] for c in fetches]
        used = [c["principal"]["arn"] for c in _operator_calls(found)]
        # Each session used in one run, in the order fetched: no flapping between sessions.
        runs = [arn for arn, _ in itertools.groupby(used)]
        assert runs == [arn for arn in issued if arn in runs], (runs, issued)
