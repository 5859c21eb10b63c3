"""One operator for many teams (docs/accounts.md), end to end: the real API server, the
real operator process and the emulator with signatures verified, one account per team.

Two namespaces mapped by two AccountMappings (one by name, one by label) to roles in two
accounts and two regions reconcile independently, each component created by its team's
role (the operator's session of it named for the cluster and namespace, with session tags
and the ExternalId the trust policy requires). An unmapped namespace and overlapping
mappings are refused with no AWS call; the escapes (another spec.region, refused at
apply; the component's own labels and annotations; a Namespace label edit, reported on
both mappings' status.held) never move a component."""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ic_operator import API_GROUP, API_VERSION, KIND
from ic_operator.aws.assume import CLUSTER_TAG, KIND_TAG, NAMESPACE_TAG
from ic_sandbox.demo.teams import trust_policy
from ic_sandbox.harness.emulator_process import ACCOUNT_ID, REGION, aws_client
from ic_sandbox.harness.identity import AwsCredentials
from ic_sandbox.harness.operator_process import OperatorProcess, operator_env
from tests.emulator.identity_helpers import ADVISORY_REFRESH_SECONDS
from tests.fixtures.controlplane import Cluster, Kubectl
from tests.fixtures.emulator import RunningEmulator, ic_endpoint, wait_for
from tests.fixtures.operator import IMAGE, KIND_PLURAL, OPERATOR_FLAGS

pytestmark = pytest.mark.e2e

CLUSTER = "e2e"
OTHER_REGION = "eu-west-1"


@dataclass(frozen=True)
class Team:
    name: str
    account: str
    region: str
    namespace: str
    external_id: str

    @property
    def role(self) -> str:
        return f"arn:aws:iam::{self.account}:role/ic-operator-{self.name}"


def _team_client(emulator: RunningEmulator, team: Team) -> Any:
    """The test's own session of the team role (the admin API issues it), in its region:
    to seed the team's endpoint and to see what the team's account holds."""
    issued = emulator.admin.request(
        "POST",
        "access-keys",
        {
            "role": f"ic-operator-{team.name}",
            "session_name": "e2e-admin",
            "account_id": team.account,
        },
    )
    return aws_client(
        emulator.url, credentials=AwsCredentials.issued(issued), region_name=team.region
    )


@dataclass
class Teams:
    kubectl: Kubectl
    emulator: RunningEmulator
    a: Team
    b: Team
    unmapped: str
    operator: OperatorProcess
    clients: dict[str, Any]

    def apply(self, namespace: str, name: str, **spec_over: Any) -> None:
        spec: dict[str, Any] = {
            "endpointName": f"ep-{namespace}",
            "variantName": "AllTraffic",
            "specification": {
                "container": {"image": IMAGE},
                "computeResourceRequirements": {
                    "numberOfCpuCoresRequired": 1,
                    "minMemoryRequiredInMb": 1024,
                },
            },
            "runtimeConfig": {"copyCount": 1},
        }
        spec.update(spec_over)
        manifest = {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": KIND,
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))

    def get(self, namespace: str, name: str) -> dict[str, Any]:
        out = self.kubectl("-n", namespace, "get", KIND_PLURAL, name, "-o", "json").stdout
        obj: dict[str, Any] = json.loads(out)
        return obj

    def condition(self, namespace: str, name: str, ctype: str) -> dict[str, Any]:
        conditions = (self.get(namespace, name).get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == ctype), {})

    def wait_reason(self, namespace: str, name: str, ctype: str, status: str, reason: str) -> None:
        wait_for(
            lambda: (
                (c := self.condition(namespace, name, ctype)).get("status") == status
                and c.get("reason") == reason
            ),
            timeout=60,
            what=f"{namespace}/{name} {ctype}={status} {reason}",
        )

    def mapping_status(self, name: str) -> dict[str, Any]:
        got = self.kubectl("get", "accountmapping", name, "-o", "json").stdout
        status: dict[str, Any] = json.loads(got).get("status") or {}
        return status

    def creates(self) -> list[dict[str, Any]]:
        return self.emulator.admin.calls("CreateInferenceComponent")


@pytest.fixture
def teams(
    control_plane: Cluster,
    kubectl: Kubectl,
    emulator: RunningEmulator,
    sagemaker: Any,
    crds_installed: None,
    tmp_path: Path,
) -> Iterator[Teams]:
    suffix = uuid.uuid4().hex[:6]
    a = Team("a", "111111111111", REGION, f"team-a-{suffix}", "ext-a")
    b = Team("b", "222222222222", OTHER_REGION, f"team-b-{suffix}", "ext-b")
    unmapped = f"nobody-{suffix}"
    admin = emulator.admin
    admin.request("PUT", "regions", {"regions": [OTHER_REGION]})
    for team in (a, b):
        admin.request(
            "PUT",
            f"roles/ic-operator-{team.name}",
            {"account_id": team.account, "trust_policy": trust_policy(team.external_id, CLUSTER)},
        )
    clients = {team.name: _team_client(emulator, team) for team in (a, b)}
    for team in (a, b):
        ic_endpoint(clients[team.name], f"ep-{team.namespace}", instance_type="ml.m5.4xlarge")
    kubectl("create", "namespace", a.namespace)
    kubectl("create", "namespace", b.namespace)
    kubectl("label", "namespace", b.namespace, f"team-{suffix}=b")
    kubectl("create", "namespace", unmapped)
    mappings: list[dict[str, Any]] = [
        {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": "AccountMapping",
            "metadata": {"name": f"a-{suffix}"},
            "spec": {
                "roleArn": a.role,
                "externalId": a.external_id,
                "defaultRegion": a.region,
                "namespaceSelector": {"names": [a.namespace]},
            },
        },
        {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": "AccountMapping",
            "metadata": {"name": f"b-{suffix}"},
            "spec": {
                "roleArn": b.role,
                "externalId": b.external_id,
                "defaultRegion": b.region,
                "namespaceSelector": {"matchLabels": {f"team-{suffix}": "b"}},
            },
        },
    ]
    kubectl("apply", "-f", "-", input=yaml.safe_dump_all(mappings))
    admin.clear_calls()
    operator = OperatorProcess(
        tmp_path / "operator.log",
        operator_env(
            control_plane.kubeconfig,
            emulator.url,
            os.environ,
            emulator.operator_credentials(f"accounts-{suffix}"),
        ),
        (
            "--namespace",
            a.namespace,
            "--namespace",
            b.namespace,
            "--namespace",
            unmapped,
            "--unmapped-namespaces",
            "Refuse",
            "--cluster-name",
            CLUSTER,
            *OPERATOR_FLAGS,
        ),
        timeout=60,  # the shared 2-core machine under load
        error=AssertionError,
    )
    try:
        operator.start()
        yield Teams(kubectl, emulator, a, b, unmapped, operator, clients)
    finally:
        operator.stop()  # also a process that never answered /healthz
        for m in mappings:
            kubectl("delete", "accountmapping", m["metadata"]["name"], "--wait=false", check=False)
        for ns in (a.namespace, b.namespace, unmapped):
            kubectl("delete", "namespace", ns, "--wait=false", check=False)
        admin.request("PUT", "regions", {"regions": []})


def _listed(client: Any) -> list[str]:
    return sorted(
        c["InferenceComponentName"]
        for c in client.list_inference_components()["InferenceComponents"]
    )


def test_two_teams_reconcile_in_their_own_accounts_and_regions(teams: Teams) -> None:
    a, b = teams.a, teams.b
    teams.apply(a.namespace, "llm-a")
    teams.apply(b.namespace, "llm-b")
    for team, name in ((a, "llm-a"), (b, "llm-b")):
        teams.wait_reason(team.namespace, name, "Ready", "True", "InSync")
        account = teams.get(team.namespace, name)["status"]["account"]
        assert account["accountId"] == team.account and account["region"] == team.region
    assert _listed(teams.clients["a"]) == ["llm-a"]
    assert _listed(teams.clients["b"]) == ["llm-b"]
    by_name = {c["request"]["InferenceComponentName"]: c for c in teams.creates()}
    for team, name in ((a, "llm-a"), (b, "llm-b")):
        call = by_name[name]
        assert (call["account"], call["region"]) == (team.account, team.region)
        assert call["principal"]["arn"] == (
            f"arn:aws:sts::{team.account}:assumed-role/ic-operator-{team.name}/"
            f"{CLUSTER}.{team.namespace}"
        )
    sessions = [
        c for c in teams.emulator.admin.calls("AssumeRole") if c["request"]["RoleArn"] == a.role
    ]
    assert sessions and all(c["error"] is None for c in sessions)
    request = sessions[0]["request"]
    assert request["ExternalId"] == a.external_id
    tags = {t["Key"]: t["Value"] for t in request["Tags"]}
    assert tags == {CLUSTER_TAG: CLUSTER, NAMESPACE_TAG: a.namespace, KIND_TAG: KIND}
    # The operator's own account saw no create.
    assert all(c["account"] != ACCOUNT_ID for c in teams.creates())


def test_unmapped_namespace_and_overlap_are_refused_without_a_call(teams: Teams) -> None:
    teams.apply(teams.unmapped, "stray")
    teams.wait_reason(teams.unmapped, "stray", "Degraded", "True", "NoAccount")
    assert teams.creates() == []
    # team a's namespace also selected by team b's label: served by neither.
    a = teams.a
    suffix = a.namespace.rsplit("-", 1)[1]
    teams.kubectl("label", "namespace", a.namespace, f"team-{suffix}=b")
    teams.apply(a.namespace, "llm-a")
    teams.wait_reason(a.namespace, "llm-a", "Degraded", "True", "AccountConflict")
    assert teams.creates() == []

    def conflicts() -> list[dict[str, Any]] | None:
        got = teams.kubectl("get", "accountmapping", f"a-{suffix}", "-o", "json").stdout
        return (json.loads(got).get("status") or {}).get("conflicts") or None

    listed = wait_for(conflicts, timeout=30, what="the mapping's status lists the conflict")
    assert listed == [{"namespace": a.namespace, "mappings": [f"a-{suffix}", f"b-{suffix}"]}]
    # The label goes: team a's account gets it.
    teams.kubectl("label", "namespace", a.namespace, f"team-{suffix}-")
    teams.wait_reason(a.namespace, "llm-a", "Ready", "True", "InSync")
    assert [c["account"] for c in teams.creates()] == [a.account]


def test_escapes_never_move_a_component(teams: Teams) -> None:
    b = teams.b
    suffix = b.namespace.rsplit("-", 1)[1]
    teams.apply(b.namespace, "llm-b", region=b.region)
    teams.wait_reason(b.namespace, "llm-b", "Ready", "True", "InSync")
    # The component's own labels and annotations name another account: nothing moves.
    teams.kubectl(
        "-n", b.namespace, "annotate", KIND_PLURAL, "llm-b",
        f"services.k8s.aws/owner-account-id={teams.a.account}",
        f"services.k8s.aws/region={REGION}",
    )  # fmt: skip
    teams.kubectl("-n", b.namespace, "label", KIND_PLURAL, "llm-b", f"team-{suffix}=a")
    # Another spec.region, or none (the mapping's default), is refused at apply.
    for patch in (
        {"op": "replace", "path": "/spec/region", "value": REGION},
        {"op": "remove", "path": "/spec/region"},
    ):
        refused = teams.kubectl(
            "-n", b.namespace, "patch", KIND_PLURAL, "llm-b", "--type=json",
            "-p", json.dumps([patch]), check=False,
        )  # fmt: skip
        assert refused.returncode != 0
        assert "region is immutable once set" in refused.stderr
    # The Namespace relabelled into another team's mapping (account a): held where it
    # was created, the edit not sent, and both mappings say so.
    moved_to = {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": "AccountMapping",
        "metadata": {"name": f"c-{suffix}"},
        "spec": {
            "roleArn": teams.a.role,
            "externalId": teams.a.external_id,
            "defaultRegion": teams.a.region,
            # b's region allowed too: what is left to refuse is the move to another account.
            "allowedRegions": [teams.a.region, b.region],
            "namespaceSelector": {"matchLabels": {f"team-{suffix}": "c"}},
        },
    }
    teams.kubectl("apply", "-f", "-", input=yaml.safe_dump(moved_to))
    try:
        teams.kubectl("label", "namespace", b.namespace, f"team-{suffix}=c", "--overwrite")
        teams.kubectl(
            "-n", b.namespace, "patch", KIND_PLURAL, "llm-b", "--type=merge",
            "-p", json.dumps({"spec": {"runtimeConfig": {"copyCount": 2}}}),
        )  # fmt: skip
        teams.wait_reason(b.namespace, "llm-b", "Degraded", "True", "AccountChanged")
        row = [{"component": f"{b.namespace}/llm-b", "wouldMove": "account"}]
        for mapping in (f"b-{suffix}", f"c-{suffix}"):
            wait_for(
                lambda m=mapping: teams.mapping_status(m).get("held") == row,
                timeout=30,
                what=f"{mapping}'s status.held lists the held component",
            )
        # Out of every selector: not followed either; nothing is held against a mapping.
        teams.kubectl("label", "namespace", b.namespace, f"team-{suffix}-")
        teams.wait_reason(b.namespace, "llm-b", "Degraded", "True", "NoAccount")
        wait_for(
            lambda: teams.mapping_status(f"b-{suffix}").get("held") == [],
            timeout=30,
            what="the held row gone from the mapping once the conflict goes",
        )
    finally:
        teams.kubectl("delete", "accountmapping", f"c-{suffix}", "--wait=false", check=False)
    creates = teams.creates()
    assert [(c["account"], c["region"]) for c in creates] == [(b.account, b.region)]
    updates = teams.emulator.admin.calls("UpdateInferenceComponentRuntimeConfig")
    assert updates == []
    # Labelled back: the held edit goes to the account it lives in.
    teams.kubectl("label", "namespace", b.namespace, f"team-{suffix}=b")
    wait_for(
        lambda: teams.emulator.admin.calls("UpdateInferenceComponentRuntimeConfig"),
        timeout=60,
        what="the copy-count edit sent in team b's account",
    )
    [update] = teams.emulator.admin.calls("UpdateInferenceComponentRuntimeConfig")
    assert (update["account"], update["region"]) == (b.account, b.region)


REFRESH_SECONDS = 5.0


def test_role_credentials_refresh_in_the_running_operator(teams: Teams) -> None:
    """Team a's sessions need refreshing every few seconds (the emulator's default session
    duration, which an AssumeRole without DurationSeconds gets, set just past botocore's
    advisory window): edits keep reaching SageMaker across several refreshes, no call fails,
    and each refresh is one AssumeRole for the (role, namespace), never a burst."""
    a = teams.a
    admin = teams.emulator.admin
    admin.request(
        "PUT", "session-duration", {"seconds": ADVISORY_REFRESH_SECONDS + REFRESH_SECONDS}
    )
    try:
        teams.apply(a.namespace, "llm-a")
        teams.wait_reason(a.namespace, "llm-a", "Ready", "True", "InSync")

        def assumed() -> list[dict[str, Any]]:
            return [c for c in admin.calls("AssumeRole") if c["request"]["RoleArn"] == a.role]

        def updates() -> int:
            return len(admin.calls("UpdateInferenceComponentRuntimeConfig"))

        # Edits until the third refresh, then one more: each edit sent under whatever
        # session is current, none held back by a refresh. The copy count goes 2, 1, 2, ...
        # (the endpoint's capacity is not what is tested).
        def edit(sent: int) -> None:
            copies = 2 if sent % 2 == 0 else 1
            teams.kubectl(
                "-n", a.namespace, "patch", KIND_PLURAL, "llm-a", "--type=merge",
                "-p", json.dumps({"spec": {"runtimeConfig": {"copyCount": copies}}}),
            )  # fmt: skip
            wait_for(
                lambda: updates() > sent or None,
                timeout=60,
                what=f"edit {sent + 1} ({copies} copies) sent",
            )

        deadline = time.monotonic() + 240
        while len(assumed()) < 4 and time.monotonic() < deadline:
            edit(updates())
        assert len(assumed()) >= 4, f"{len(assumed())} AssumeRole calls in 240 s"
        edit(updates())
    finally:
        admin.request("PUT", "session-duration", {"seconds": 3600})
    calls = admin.calls()
    failed = [c for c in calls if c["error"] is not None]
    assert failed == [], failed
    sessions = assumed()
    assert {c["request"]["RoleSessionName"] for c in sessions} == {f"{CLUSTER}.{a.namespace}"}
    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(sessions)]
    assert all(gap >= 0.75 * REFRESH_SECONDS for gap in gaps), gaps
    # Every team call went out under a session: the account it landed in is team a's.
    team_calls = [c for c in calls if c["operation"].startswith(("Update", "Describe", "List"))]
    assert team_calls and {c["account"] for c in team_calls} == {a.account}
