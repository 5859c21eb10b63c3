"""Identity policies enforced over the wire: boto3 clients signed with issued keys, the
emulator's `authorize` switch on, and docs/iam-policy.json as the caller's policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ic_sandbox.harness.emulator_process import aws_client
from tests.emulator.helpers import create_ic, spec
from tests.emulator.identity_helpers import (
    ONE_ATTEMPT,
    authorization,
    issue,
    refused,
    signed_client,
)
from tests.fixtures.emulator import ACCOUNT_ID, REGION, RunningEmulator, ic_endpoint

POLICY = json.loads((Path(__file__).resolve().parents[2] / "docs" / "iam-policy.json").read_text())
OWNER_TAG = {"Key": "sagemaker.ic-operator.io/owner-uid", "Value": "uid-1"}
OPERATOR = f"arn:aws:iam::{ACCOUNT_ID}:user/operator"
ALARM_ARN = "arn:aws:cloudwatch:*:*:alarm:sagemaker-ic-operator-*"
SLR = (
    f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/sagemaker.application-autoscaling."
    "amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


@pytest.fixture
def authorized(fast_emulator: RunningEmulator, sm: Any) -> Iterator[RunningEmulator]:
    """Policies enforced, an endpoint `ep` made before by the harness's admin user (its
    credentials are gone inside the block: each test signs as a user it issues)."""
    ic_endpoint(sm, "ep")
    with authorization(fast_emulator):
        yield fast_emulator


def client(emulator: RunningEmulator, service: str, *policies: dict[str, Any]) -> Any:
    keys = issue(emulator, user="operator", policies=list(policies))
    return signed_client(emulator, service, keys)


def test_the_switch_is_read_back_and_validated(fast_emulator: RunningEmulator) -> None:
    admin = fast_emulator.admin
    with authorization(fast_emulator):
        assert admin.request("GET", "identity")["authorize"] is True
    assert admin.request("GET", "identity")["authorize"] is False
    for body in ({"authorize": "yes"}, {"other": True}, {}):
        with pytest.raises(OSError, match="400"):
            admin.request("PUT", "identity", body)
    with pytest.raises(OSError, match="400"):
        issue(fast_emulator, user="x", policies=[{"Statement": [{"Effect": "Allow"}]}])


def test_a_principal_without_policies_is_denied_with_awss_message(
    authorized: RunningEmulator,
) -> None:
    sm = client(authorized, "sagemaker")
    code, status, message = refused(sm.describe_inference_component, InferenceComponentName="x")
    assert (code, status) == ("AccessDeniedException", 400)
    action = "sagemaker:DescribeInferenceComponent"
    resource = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:inference-component/x"
    assert message == (
        f"User: {OPERATOR} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )
    denied = authorized.admin.calls("DescribeInferenceComponent")[-1]
    assert denied["error"] == "AccessDeniedException"
    assert denied["principal"]["arn"] == OPERATOR


def test_an_explicit_deny_is_named_as_such(authorized: RunningEmulator) -> None:
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "sagemaker:ListTags", "Resource": "*"}]}  # fmt: skip
    sm = client(authorized, "sagemaker", POLICY, deny)
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:inference-component/x"
    _, _, message = refused(sm.list_tags, ResourceArn=arn)
    assert message.endswith("with an explicit deny in an identity-based policy")


def test_create_needs_the_owner_tag(authorized: RunningEmulator) -> None:
    sm = client(authorized, "sagemaker", POLICY)
    request = {"EndpointName": "ep", "VariantName": "AllTraffic", "Specification": spec(),
               "RuntimeConfig": {"CopyCount": 1}}  # fmt: skip
    code, _, message = refused(
        sm.create_inference_component, InferenceComponentName="untagged", **request
    )
    assert code == "AccessDeniedException"
    assert "sagemaker:CreateInferenceComponent" in message
    create_ic(sm, "tagged", Tags=[OWNER_TAG])
    # tagging on create is AddTags too
    no_add_tags = {**POLICY, "Statement": [
        {**s, "Action": ["sagemaker:DeleteTags"]} if s["Sid"] == "TagOnCreateAndSyncTags" else s
        for s in POLICY["Statement"]]}  # fmt: skip
    sm_without = client(authorized, "sagemaker", no_add_tags)
    code, _, message = refused(
        sm_without.create_inference_component,
        InferenceComponentName="other", Tags=[OWNER_TAG], **request
    )  # fmt: skip
    assert code == "AccessDeniedException"
    assert "perform: sagemaker:AddTags on resource:" in message
    tags = sm.list_tags(ResourceArn=sm.describe_inference_component(
        InferenceComponentName="tagged")["InferenceComponentArn"])["Tags"]  # fmt: skip
    assert OWNER_TAG in tags


def test_the_policy_changes_inference_components_and_only_reads_endpoints(
    authorized: RunningEmulator,
) -> None:
    sm = client(authorized, "sagemaker", POLICY)
    assert sm.list_inference_components()["InferenceComponents"] == []
    # ReadEndpointReadiness: the endpoint's status, nothing else of it
    assert sm.describe_endpoint(EndpointName="ep")["EndpointName"] == "ep"
    code, _, message = refused(sm.describe_endpoint_config, EndpointConfigName="ep")
    assert code == "AccessDeniedException"
    assert "endpoint-config/ep because" in message
    code, _, message = refused(sm.delete_endpoint, EndpointName="ep")
    assert code == "AccessDeniedException"
    assert "perform: sagemaker:DeleteEndpoint on resource:" in message
    refused(sm.update_endpoint, EndpointName="ep", EndpointConfigName="ep")


def test_cloudwatch_alarms_by_name_prefix_in_the_query_vocabulary(
    authorized: RunningEmulator,
) -> None:
    cw = client(authorized, "cloudwatch", POLICY)
    cw.delete_alarms(AlarmNames=["sagemaker-ic-operator-x"])
    code, status, message = refused(cw.delete_alarms, AlarmNames=["billing"])
    assert (code, status) == ("AccessDenied", 403)
    assert message.endswith(
        f"on resource: arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:billing because no "
        "identity-based policy allows the cloudwatch:DeleteAlarms action"
    )
    # a listing by prefix is authorized against every alarm (alarm:*)
    listing = cw.describe_alarms(AlarmNamePrefix="sagemaker-ic-operator-")
    assert listing["MetricAlarms"] == []
    narrow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
              "Action": "cloudwatch:DescribeAlarms", "Resource": ALARM_ARN}]}  # fmt: skip
    cw = client(authorized, "cloudwatch", narrow)
    assert cw.describe_alarms(AlarmNames=["sagemaker-ic-operator-x"])["MetricAlarms"] == []
    _, _, message = refused(cw.describe_alarms, AlarmNamePrefix="sagemaker-ic-operator-")
    assert "alarm:* because" in message


def test_the_first_registration_needs_the_service_linked_role(
    authorized: RunningEmulator,
) -> None:
    slr_sid = "ApplicationAutoScalingServiceLinkedRole"
    without_slr = {**POLICY, "Statement": [s for s in POLICY["Statement"] if s["Sid"] != slr_sid]}
    target = {"ServiceNamespace": "sagemaker", "ResourceId": "inference-component/x",
              "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
              "MinCapacity": 0, "MaxCapacity": 2}  # fmt: skip
    sm = client(authorized, "sagemaker", POLICY)
    create_ic(sm, "x", Tags=[OWNER_TAG])
    aas = client(authorized, "application-autoscaling", without_slr)
    code, _, message = refused(aas.register_scalable_target, **target)
    assert code == "AccessDeniedException"
    assert f"iam:CreateServiceLinkedRole on resource: {SLR} because" in message
    aas = client(authorized, "application-autoscaling", POLICY)
    aas.register_scalable_target(**target)
    # the role exists now: the policy without the statement registers again
    aas = client(authorized, "application-autoscaling", without_slr)
    aas.register_scalable_target(**target)


def test_the_policy_scales_inference_components_only(authorized: RunningEmulator) -> None:
    """The writes' conditions: another namespace or dimension is denied before it is
    validated, and the reads need no scalable target at all."""
    aas = client(authorized, "application-autoscaling", POLICY)
    variant = {"ServiceNamespace": "sagemaker", "ResourceId": "endpoint/ep/variant/AllTraffic",
               "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
               "MinCapacity": 1, "MaxCapacity": 2}  # fmt: skip
    code, _, message = refused(aas.register_scalable_target, **variant)
    assert code == "AccessDeniedException"
    assert message.startswith(
        f"User: {OPERATOR} is not authorized to perform: "
        "application-autoscaling:RegisterScalableTarget on resource: "
        f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT_ID}:scalable-target/*"
    )
    assert aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []


def test_registration_checks_the_callers_rights_on_the_component(
    authorized: RunningEmulator,
) -> None:
    """Application Auto Scaling's permission validation: registering a component needs
    the right to describe it and change its copy count."""
    sm = client(authorized, "sagemaker", POLICY)
    create_ic(sm, "x", Tags=[OWNER_TAG])
    read_only = {**POLICY, "Statement": [
        {**s, "Action": ["sagemaker:DescribeInferenceComponent"]}
        if s["Sid"] == "ReadAndChangeInferenceComponents" else s
        for s in POLICY["Statement"]]}  # fmt: skip
    aas = client(authorized, "application-autoscaling", read_only)
    code, _, message = refused(
        aas.register_scalable_target,
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/x",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        MinCapacity=0,
        MaxCapacity=2,
    )
    assert code == "AccessDeniedException"
    component = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:inference-component/x"
    assert (
        f"sagemaker:UpdateInferenceComponentRuntimeConfig on resource: {component} because"
        in message
    )


def test_the_harness_admin_is_allowed_everything_and_keeps_it_across_a_restore(
    fast_emulator: RunningEmulator, sm: Any
) -> None:
    """The harness's admin user holds an allow-all policy, given back with its key by
    `PUT /_emulator/access-keys/{id}` (its "policies"), so a test that turns authorize on
    still sets up with it; the operator's role holds none; a session's policies are its
    role's, never restored with the key."""
    identity = fast_emulator.identity
    assert identity is not None
    with authorization(fast_emulator):
        identity.restore()  # what a restarted emulator process is told
        ic_endpoint(sm, "set-up-by-admin")
        operator = aws_client(
            fast_emulator.url, credentials=fast_emulator.operator_credentials(), config=ONE_ATTEMPT
        )
        code, _, message = refused(operator.describe_endpoint, EndpointName="set-up-by-admin")
        assert code == "AccessDeniedException"
        assert ":assumed-role/ic-operator/" in message
        session = {**identity.issued[-1], "policies": [POLICY]}
        with pytest.raises(OSError, match="400"):
            fast_emulator.admin.request("PUT", f"access-keys/{session['AccessKeyId']}", session)
