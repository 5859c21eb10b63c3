"""A mapping's role, assumed through STS by the operator's own identity (aws/assume.py),
against the emulator with signatures verified: the calls land in the role's account;
the AssumeRole request names the cluster, namespace and kind (session name and tags) and
carries the ExternalId the team role's trust policy requires (docs/accounts.md); one set
of credentials per (role, namespace), refreshed before expiry with no failed call and no
burst however many clients share it."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.credentials
import botocore.session
import pytest
from botocore.exceptions import ClientError

from ic_operator.aws.assume import (
    CLUSTER_TAG,
    KIND_TAG,
    NAMESPACE_TAG,
    RoleCredentials,
    RoleKey,
    session_name,
)
from ic_operator.aws.botocore_model import default_client_factory, session_with
from tests.emulator.identity_helpers import (
    ADVISORY_REFRESH_SECONDS,
    assert_refreshed_without_burst,
    sdk_environment,
    sessions_during_steady_calls,
)
from tests.fixtures.emulator import ACCOUNT_ID, REGION, RunningEmulator

TEAM_ACCOUNT = "111111111111"
TEAM_ROLE = f"arn:aws:iam::{TEAM_ACCOUNT}:role/ic-operator-team-a"
OPERATOR_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/ic-operator"
CLUSTER = "prod-eu"


def team_trust_policy(external_id: str) -> dict[str, Any]:
    """The team role's trust policy as docs/accounts.md gives it (placeholders filled)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": OPERATOR_ROLE},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": OPERATOR_ROLE},
                "Action": "sts:TagSession",
                "Condition": {"StringEquals": {f"aws:RequestTag/{CLUSTER_TAG}": CLUSTER}},
            },
        ],
    }


@pytest.fixture
def roles(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[RoleCredentials]:
    """RoleCredentials whose source is a session of the operator's role `ic-operator`;
    the team role in another account trusts it, with ExternalId `ext-a`."""
    emulator.admin.reset()
    sdk_environment(monkeypatch, tmp_path, emulator.url)
    emulator.admin.request(
        "PUT",
        "roles/ic-operator-team-a",
        {"account_id": TEAM_ACCOUNT, "trust_policy": team_trust_policy("ext-a")},
    )
    own = emulator.operator_credentials("operator-pod")
    source = botocore.credentials.Credentials(
        own.access_key_id, own.secret_access_key, own.session_token
    )
    creator = functools.partial(botocore.session.get_session().create_client, region_name=REGION)
    yield RoleCredentials(cluster=CLUSTER, region=REGION, source=source, client_creator=creator)


def _team_sessions(emulator: RunningEmulator) -> list[dict[str, Any]]:
    """The AssumeRole calls for the team role (not the harness's own of ic-operator)."""
    return [c for c in emulator.admin.calls("AssumeRole") if c["request"]["RoleArn"] == TEAM_ROLE]


def _client(roles: RoleCredentials, key: RoleKey) -> Any:
    return default_client_factory(REGION, session=session_with(roles.get(key)))


def test_calls_land_in_the_roles_account_named_for_the_cluster_and_namespace(
    emulator: RunningEmulator, roles: RoleCredentials
) -> None:
    client = _client(roles, RoleKey(TEAM_ROLE, "ext-a", "team-a"))
    client.list_inference_components()
    [assume] = _team_sessions(emulator)
    assert assume["error"] is None
    assert assume["principal"]["arn"].startswith(
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/ic-operator/"
    )
    request = assume["request"]
    assert request["RoleArn"] == TEAM_ROLE
    assert request["ExternalId"] == "ext-a"
    assert request["RoleSessionName"] == f"{CLUSTER}.team-a"
    tags = {t["Key"]: t["Value"] for t in request["Tags"]}
    assert tags == {CLUSTER_TAG: CLUSTER, NAMESPACE_TAG: "team-a", KIND_TAG: "InferenceComponent"}
    [listing] = emulator.admin.calls("ListInferenceComponents")
    assert listing["error"] is None
    assert listing["account"] == TEAM_ACCOUNT
    assert listing["principal"]["arn"] == (
        f"arn:aws:sts::{TEAM_ACCOUNT}:assumed-role/ic-operator-team-a/{CLUSTER}.team-a"
    )


def test_the_wrong_external_id_is_refused_by_the_trust_policy(
    emulator: RunningEmulator, roles: RoleCredentials
) -> None:
    client = _client(roles, RoleKey(TEAM_ROLE, "guessed", "team-b"))
    with pytest.raises(ClientError) as caught:
        client.list_inference_components()
    # The credential provider's own call failed: ours was never sent (aws/client.py
    # classifies a ClientError of another operation as a credentials problem).
    assert caught.value.operation_name == "AssumeRole"
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert emulator.admin.calls("ListInferenceComponents") == []


def test_one_set_per_role_and_namespace(roles: RoleCredentials) -> None:
    a = RoleKey(TEAM_ROLE, "ext-a", "team-a")
    assert roles.get(a) is roles.get(RoleKey(TEAM_ROLE, "ext-a", "team-a"))
    assert roles.get(a) is not roles.get(RoleKey(TEAM_ROLE, "ext-a", "team-a2"))
    assert roles.get(a) is not roles.get(RoleKey(TEAM_ROLE, "ext-a", ""))


def test_refreshed_before_expiry_without_a_failed_call_or_a_burst(
    emulator: RunningEmulator, roles: RoleCredentials
) -> None:
    """Sessions of 15 minutes + 2 s: botocore refreshes each 2 s after it was issued. Two
    clients share the credentials (as every component of a namespace does): one
    AssumeRole per session, never one per client."""
    admin = emulator.admin
    key = RoleKey(TEAM_ROLE, "ext-a", "team-a")
    admin.request("PUT", "session-duration", {"seconds": ADVISORY_REFRESH_SECONDS + 2})
    try:
        # The steady caller lists endpoints, which the operator's pruned client cannot.
        first = boto3.Session(botocore_session=session_with(roles.get(key))).client(
            "sagemaker", region_name=REGION
        )
        second = _client(roles, key)
        second.list_inference_components()
        sessions = sessions_during_steady_calls(emulator, first, seconds=6)
        second.list_inference_components()
    finally:
        admin.request("PUT", "session-duration", {"seconds": 3600})
    assert_refreshed_without_burst(_team_sessions(emulator), sessions, lifetime=2)
    assert all(c["error"] is None for c in admin.calls("ListInferenceComponents"))


@pytest.mark.parametrize(
    ("cluster", "namespace", "expected"),
    [
        ("prod-eu", "team-a", "prod-eu.team-a"),
        ("arn:aws:eks:eu-west-1:1:cluster/prod", "", "arn-aws-eks-eu-west-1-1-cluster-prod"),
        ("c" * 70, "ns", "c" * 64),
        ("x", "", "x-ic-operator"),
    ],
)
def test_session_names_fit_sts(cluster: str, namespace: str, expected: str) -> None:
    assert session_name(cluster, namespace) == expected
