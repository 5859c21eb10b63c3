"""The demo's two-teams step (docs/accounts.md): one operator, two namespaces mapped by two
AccountMappings to roles in two accounts. Each team's component is created by its own
account's role, in a session the call log shows named for the cluster and namespace, with
the session tags and ExternalId the role's trust policy requires; a team's attempts to
reach the other account are refused with the reason they are given.

Every claim is checked like the other steps (story.py): DemoError when it does not hold.
"""

from __future__ import annotations

import copy
import json
from functools import partial
from typing import TYPE_CHECKING, Any

import yaml

from ic_operator import API_GROUP, API_VERSION
from ic_operator.aws.assume import CLUSTER_TAG
from ic_sandbox.demo.errors import DemoError
from ic_sandbox.harness.emulator_process import ACCOUNT_ID, REGION
from ic_sandbox.harness.identity import AwsCredentials
from ic_sandbox.sandbox.seed import seed_endpoints

if TYPE_CHECKING:
    from ic_sandbox.demo.story import Story

GROUP_VERSION = f"{API_GROUP}/{API_VERSION}"
TEAMS = {"red": "111111111111", "blue": "222222222222"}
CLUSTER = "kubernetes"  # the operator's default --cluster-name
OPERATOR_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/ic-operator"


def role(team: str) -> str:
    return f"arn:aws:iam::{TEAMS[team]}:role/ic-operator-{team}"


def trust_policy(external_id: str, cluster: str = CLUSTER) -> dict[str, Any]:
    """docs/accounts.md's team trust policy: the operator's role, with the team's
    ExternalId, tagging its sessions with this cluster's name."""
    principal = {"AWS": OPERATOR_ROLE}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": principal,
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            },
            {
                "Effect": "Allow",
                "Principal": principal,
                "Action": "sts:TagSession",
                "Condition": {"StringEquals": {f"aws:RequestTag/{CLUSTER_TAG}": cluster}},
            },
        ],
    }


def _manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for team in TEAMS:
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": f"team-{team}", "labels": {"team": team}},
            }
        )
        docs.append(
            {
                "apiVersion": GROUP_VERSION,
                "kind": "AccountMapping",
                "metadata": {"name": f"team-{team}"},
                "spec": {
                    "roleArn": role(team),
                    "externalId": f"ext-{team}",
                    "defaultRegion": REGION,
                    "namespaceSelector": {"matchLabels": {"team": team}},
                },
            }
        )
    return docs


def two_teams(story: Story, basic: dict[str, Any]) -> None:
    """``basic``: examples/basic.yaml's component, applied once in each team's namespace."""
    story.narrator.heading("7. Two teams, two accounts: AccountMappings")
    story.say(
        "The platform team maps namespace team-red to a role in account 111111111111 and\n"
        "team-blue to one in 222222222222 (each role trusts the operator's role only with\n"
        "its ExternalId and the cluster's session tag). Each team applies the same component."
    )
    admin = story.emulator.admin
    for team, account in TEAMS.items():
        admin.request(
            "PUT",
            f"roles/ic-operator-{team}",
            {"account_id": account, "trust_policy": trust_policy(f"ext-{team}")},
        )
        issued = admin.request(
            "POST",
            "access-keys",
            {"role": f"ic-operator-{team}", "session_name": "seed", "account_id": account},
        )
        seed_endpoints(story.emulator.url, AwsCredentials.issued(issued))
    shown = yaml.safe_dump_all(_manifests())
    out = story.kubectl("apply", "-f", "-", input=shown)
    story.narrator.command("kubectl apply -f team-mappings.yaml", out.stdout + out.stderr)
    name = basic["metadata"]["name"]
    for team in TEAMS:
        doc = copy.deepcopy(basic)
        doc["metadata"]["namespace"] = f"team-{team}"
        story.kubectl("apply", "-f", "-", input=yaml.safe_dump(doc))
    for team in TEAMS:
        story.until(
            partial(_ready, story, f"team-{team}", name),
            timeout=90,
            what=f"team-{team}/{name} Ready=True",
        )
    out = story.kubectl("get", "smic", "-A", "-o", "wide")
    story.narrator.command("kubectl get smic -A -o wide", out.stdout)
    creates = {
        c["account"]: c
        for c in admin.calls("CreateInferenceComponent")
        if c["account"] in TEAMS.values()
    }
    if set(creates) != set(TEAMS.values()):
        raise DemoError(f"expected one create in each team account, saw {sorted(creates)}")
    story.say("The emulator's call log: who assumed what, and who created what where.")
    for call in admin.calls("AssumeRole"):
        request = call["request"]
        if request["RoleArn"] not in {role(t) for t in TEAMS} or call["error"] is not None:
            continue
        tags = ", ".join(f"{t['Key']}={t['Value']}" for t in request.get("Tags", []))
        story.say(
            f"  AssumeRole {request['RoleArn']} session {request['RoleSessionName']} "
            f"ExternalId {request.get('ExternalId')} tags {tags}"
        )
    for account, call in sorted(creates.items()):
        story.say(f"  CreateInferenceComponent in account {account} by {call['principal']['arn']}")
    _refusals(story, name)


def _refusals(story: Story, name: str) -> None:
    story.say("Team red tries to reach team blue's account, two ways.")
    patch = json.dumps({"spec": {"region": "eu-west-1"}})
    out = story.kubectl(
        "-n", "team-red", "patch", "smic", name, "--type=merge", "-p", patch, check=False
    )
    story.narrator.command(
        f"kubectl -n team-red patch smic {name} --type=merge -p '{patch}'", out.stderr
    )
    if out.returncode == 0 or "region is immutable" not in out.stderr:
        raise DemoError(f"expected the region edit refused at apply, saw {out.stderr!r}")
    out = story.kubectl("label", "namespace", "team-red", "team=blue", "--overwrite")
    story.narrator.command("kubectl label namespace team-red team=blue --overwrite", out.stdout)
    degraded = story.until(
        partial(_reason, story, "team-red", name, "AccountChanged"),
        timeout=60,
        what=f"team-red/{name} Degraded AccountChanged",
    )
    story.say(f"team-red/{name}: Degraded/AccountChanged: {degraded['message']}")
    held = story.until(
        partial(_held, story, "team-blue"),
        timeout=60,
        what="team-blue's status.held",
    )
    story.say(f"AccountMapping team-blue status.held: {held} (reported, not acted on)")
    story.kubectl("label", "namespace", "team-red", "team=red", "--overwrite")
    story.until(partial(_ready, story, "team-red", name), timeout=60, what="team-red back to Ready")
    story.say("Labelled back: team-red's component is Ready in its own account again.")


def _get(story: Story, namespace: str, name: str) -> dict[str, Any]:
    out = story.kubectl("get", "smic", name, "-n", namespace, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def _reason(story: Story, namespace: str, name: str, reason: str) -> dict[str, Any] | None:
    found = story.condition(_get(story, namespace, name), "Degraded")
    return found if found.get("reason") == reason else None


def _ready(story: Story, namespace: str, name: str) -> bool:
    return story.condition(_get(story, namespace, name), "Ready").get("status") == "True"


def _held(story: Story, mapping: str) -> list[dict[str, Any]] | None:
    out = story.kubectl("get", "accountmapping", mapping, "-o", "json")
    held: list[dict[str, Any]] = (json.loads(out.stdout).get("status") or {}).get("held") or []
    return held or None
