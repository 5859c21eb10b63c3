"""One emulator, many accounts and regions (docs/emulator.md, "Accounts and regions"): a
call is served by the caller's account in the region its signature is scoped to; an
assumed role's calls land in the role's account; ARNs carry both; the call log says which
account, region and principal made each call; faults are per account and region.

Signatures verified throughout (the tests' emulator always verifies); the roles are
assumed through STS by the harness's admin user, as the operator will for each mapping."""

from __future__ import annotations

import urllib.error
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.emulator.conftest import NO_RETRIES
from tests.emulator.identity_helpers import refused, signed_client
from tests.fixtures.emulator import ACCOUNT_ID, REGION, Admin, RunningEmulator, ic_endpoint

TEAM_ACCOUNT = "111111111111"
OTHER_REGION = "eu-west-1"


@pytest.fixture
def team(fast_emulator: RunningEmulator, admin: Admin) -> Iterator[dict[str, Any]]:
    """A session of role `team-a` in another account, assumed by the admin user through STS
    (the trust policy names the admin user and requires the external id); eu-west-1 served."""
    assert fast_emulator.identity is not None
    admin.request("PUT", "regions", {"regions": [OTHER_REGION]})
    admin.request(
        "PUT",
        "roles/team-a",
        {
            "account_id": TEAM_ACCOUNT,
            "trust_policy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": fast_emulator.identity.admin_arn},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                        "Condition": {"StringEquals": {"sts:ExternalId": "ext-a"}},
                    }
                ],
            },
        },
    )
    sts = fast_emulator.client("sts", config=NO_RETRIES)
    answer = sts.assume_role(
        RoleArn=f"arn:aws:iam::{TEAM_ACCOUNT}:role/team-a",
        RoleSessionName="ic-operator-test",
        ExternalId="ext-a",
        Tags=[{"Key": "ic-operator/cluster", "Value": "test"}],
    )
    credentials = answer["Credentials"]
    try:
        yield {
            "AccessKeyId": credentials["AccessKeyId"],
            "SecretAccessKey": credentials["SecretAccessKey"],
            "SessionToken": credentials["SessionToken"],
            "Arn": answer["AssumedRoleUser"]["Arn"],
        }
    finally:
        # The other tests expect the primary region alone (a scope to another is refused).
        admin.request("PUT", "regions", {"regions": []})


def _client(emulator: RunningEmulator, credentials: dict[str, Any], region: str) -> Any:
    return signed_client(emulator, "sagemaker", credentials, region_name=region)


def _component(client: Any, name: str = "ic") -> str:
    """An inference component on a new InService endpoint `ep`; its ARN."""
    ic_endpoint(client, "ep")
    arn: str = client.create_inference_component(
        InferenceComponentName=name,
        EndpointName="ep",
        VariantName="AllTraffic",
        Specification={
            "Container": {"Image": "img"},
            "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024},
        },
        RuntimeConfig={"CopyCount": 1},
    )["InferenceComponentArn"]
    return arn


def _names(client: Any) -> list[str]:
    return [
        c["InferenceComponentName"]
        for c in client.list_inference_components()["InferenceComponents"]
    ]


def test_a_roles_calls_land_in_its_account_and_the_signatures_region(
    fast_emulator: RunningEmulator, team: dict[str, Any], admin: Admin
) -> None:
    here = _client(fast_emulator, team, OTHER_REGION)
    arn = _component(here)
    assert arn == f"arn:aws:sagemaker:{OTHER_REGION}:{TEAM_ACCOUNT}:inference-component/ic"
    assert _names(here) == ["ic"]
    # The same role in the primary region, and the admin's own account: nothing there.
    assert _names(_client(fast_emulator, team, REGION)) == []
    assert _names(fast_emulator.client(config=NO_RETRIES)) == []
    mine = fast_emulator.client(config=NO_RETRIES, region_name=OTHER_REGION)
    assert _names(mine) == []
    # The same names are free in every other account and region.
    assert _component(fast_emulator.client(config=NO_RETRIES)) == (
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:inference-component/ic"
    )
    creates = [c for c in admin.calls() if c["operation"] == "CreateInferenceComponent"]
    assert [(c["account"], c["region"], c["principal"]["arn"]) for c in creates] == [
        (TEAM_ACCOUNT, OTHER_REGION, team["Arn"]),
        (ACCOUNT_ID, REGION, fast_emulator.identity.admin_arn),  # type: ignore[union-attr]
    ]
    assert team["Arn"] == f"arn:aws:sts::{TEAM_ACCOUNT}:assumed-role/team-a/ic-operator-test"
    # The admin routes reach another world by ?account=&region=.
    history = admin.request(
        "GET", f"components/ic/history?account={TEAM_ACCOUNT}&region={OTHER_REGION}"
    )
    assert history
    health = admin.request("GET", "health")
    worlds = {(w["account_id"], w["region"]): w["components"] for w in health["worlds"]}
    assert worlds[(TEAM_ACCOUNT, OTHER_REGION)] == 1
    assert worlds[(ACCOUNT_ID, REGION)] == 1


def test_a_region_not_served_is_refused_as_before(
    fast_emulator: RunningEmulator, team: dict[str, Any]
) -> None:
    code, status, message = refused(
        _client(fast_emulator, team, "ap-south-1").list_inference_components
    )
    assert (code, status) == ("InvalidSignatureException", 403)
    assert "Credential should be scoped to a valid region, not 'ap-south-1'" in message


def test_faults_are_per_account_and_region(
    fast_emulator: RunningEmulator, team: dict[str, Any], admin: Admin
) -> None:
    admin.request(
        "PUT",
        f"faults?account={TEAM_ACCOUNT}&region={OTHER_REGION}",
        {"throttle_rate": 1.0},
    )
    with pytest.raises(ClientError) as caught:
        _client(fast_emulator, team, OTHER_REGION).list_inference_components()
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    # Neither the team's account elsewhere nor the primary account is slowed.
    assert _names(_client(fast_emulator, team, REGION)) == []
    assert _names(fast_emulator.client(config=NO_RETRIES)) == []
    assert admin.request("GET", "faults")["throttle_rate"] == 0


def test_reset_forgets_every_world(
    fast_emulator: RunningEmulator, team: dict[str, Any], admin: Admin
) -> None:
    here = _client(fast_emulator, team, OTHER_REGION)
    _component(here)
    admin.reset()
    assert [w["account_id"] for w in admin.request("GET", "health")["worlds"]] == [ACCOUNT_ID]
    assert _names(here) == []  # the credentials survive, like IAM; the resources do not


def test_regions_admin_route_refuses_what_is_not_a_region(admin: Admin) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        admin.request("PUT", "regions", {"regions": ["Europe"]})
    assert caught.value.code == 400
    assert REGION in admin.request("GET", "regions")["regions"]


def test_an_unsigned_call_with_verification_off_is_the_primary_accounts(
    fast_emulator: RunningEmulator, admin: Admin
) -> None:
    admin.request("PUT", "identity", {"verify": False})
    try:
        client = boto3.client(
            "sagemaker",
            endpoint_url=fast_emulator.url,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=NO_RETRIES,
        )
        client.list_inference_components()
    finally:
        assert fast_emulator.identity is not None
        fast_emulator.identity.restore()
    last = admin.calls()[-1]
    assert (last["account"], last["region"]) == (ACCOUNT_ID, REGION)
