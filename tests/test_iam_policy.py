"""docs/iam-policy.json grants exactly what the operator's AWS clients can call.

`ic_operator.aws.operations.OPERATIONS` and `ic_operator.aws.operations.AUTOSCALING_OPERATIONS`
(Application Auto Scaling and CloudWatch, for spec.autoScaling) are the allow-lists
the clients enforce; the policy must cover each operation (or the operator fails
with AccessDenied in production) and nothing more (or the policy is not least
privilege). The one action outside them is iam:CreateServiceLinkedRole, which
RegisterScalableTarget needs the first time in an account.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from ic_operator.aws import operations
from ic_operator.aws.operations import OPERATIONS
from ic_operator.models.autoscaling_requests import alarm_name

POLICY_PATH = Path(__file__).resolve().parents[1] / "docs" / "iam-policy.json"
IC_ARN = "arn:aws:sagemaker:*:*:inference-component/*"
ENDPOINT_ARN = "arn:aws:sagemaker:*:*:endpoint/*"
OWNER_TAG_KEY = "aws:RequestTag/sagemaker.ic-operator.io/owner-uid"
# IAM defines no resource type for List* calls: Resource must be "*" (AWS's own
# managed policies do the same), narrowed to this account by a condition.
UNSCOPABLE_ACTIONS = {"sagemaker:ListInferenceComponents"}
# Application Auto Scaling: scalable-target ARNs carry an id the service generates at
# registration, so no policy can name "this component's target" in advance; the writes
# are granted on any scalable target of SageMaker inference components' copy count (the
# service-namespace and scalable-dimension condition keys), the reads (which IAM gives no
# resource type) on "*".
AAS_ACTIONS = {
    f"application-autoscaling:{op}" for op in operations.APPLICATION_AUTOSCALING_OPERATIONS
}
AAS_READS = {a for a in AAS_ACTIONS if a.split(":")[1].startswith("Describe")}
AAS_WRITES = AAS_ACTIONS - AAS_READS
SCALABLE_TARGET_ARN = "arn:aws:application-autoscaling:*:*:scalable-target/*"
DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
IC_TARGETS = {
    "StringEquals": {
        "application-autoscaling:service-namespace": "sagemaker",
        "application-autoscaling:scalable-dimension": DIMENSION,
    }
}
CLOUDWATCH_ACTIONS = {f"cloudwatch:{op}" for op in operations.CLOUDWATCH_OPERATIONS}
ALARM_ARN = "arn:aws:cloudwatch:*:*:alarm:sagemaker-ic-operator-*"
# The operator lists its alarms by name prefix (one DescribeAlarms for every component);
# CloudWatch authorizes a listing against alarm:* (docs/emulator.md), so the read is
# granted on every alarm and the writes on the operator's own only.
ANY_ALARM = "arn:aws:cloudwatch:*:*:alarm:*"
CLOUDWATCH_READS = {"cloudwatch:DescribeAlarms"}
SLR_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
SLR_ARN = (
    f"arn:aws:iam::*:role/aws-service-role/{SLR_SERVICE}/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)
# Which resource types each action is granted on, per the Service Authorization
# Reference: CreateInferenceComponent also authorizes against the endpoint.
EXPECTED_RESOURCES = {
    "sagemaker:CreateInferenceComponent": {IC_ARN, ENDPOINT_ARN},
    "sagemaker:ListInferenceComponents": {"*"},
    # Endpoint readiness: read on endpoints only, never on anything else.
    "sagemaker:DescribeEndpoint": {ENDPOINT_ARN},
}


def _policy() -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(POLICY_PATH.read_text())
    return policy


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _statements() -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = _policy()["Statement"]
    return statements


def _granted() -> dict[str, set[str]]:
    """action -> resource patterns it is allowed on, across Allow statements."""
    granted: dict[str, set[str]] = {}
    for statement in _statements():
        assert statement["Effect"] == "Allow", statement
        for action in _as_list(statement["Action"]):
            granted.setdefault(action, set()).update(_as_list(statement["Resource"]))
    return granted


def _allows(action: str, resource: str) -> bool:
    """Does any Allow statement match this action on this resource (conditions aside)?"""
    for statement in _statements():
        actions = _as_list(statement["Action"])
        resources = _as_list(statement["Resource"])
        if any(fnmatch.fnmatchcase(action, a) for a in actions) and any(
            fnmatch.fnmatchcase(resource, r) for r in resources
        ):
            return True
    return False


def test_policy_is_valid_iam_json() -> None:
    policy = _policy()
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in _statements()]
    assert len(sids) == len(set(sids))
    for statement in _statements():
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert "NotAction" not in statement and "NotResource" not in statement


def test_every_operation_is_granted_and_nothing_else() -> None:
    expected = {f"sagemaker:{op}" for op in OPERATIONS}
    expected |= AAS_ACTIONS | CLOUDWATCH_ACTIONS | {"iam:CreateServiceLinkedRole"}
    assert set(_granted()) == expected


@pytest.mark.parametrize(
    ("service", "operations"),
    [("sagemaker", OPERATIONS), *operations.AUTOSCALING_OPERATIONS.items()],
)
def test_operations_are_real_operations(service: str, operations: frozenset[str]) -> None:
    """A typo in an allow-list would make the policy grant a non-existent action."""
    model = botocore.session.get_session().get_service_model(service)
    assert set(operations) <= set(model.operation_names)


def test_autoscaling_writes_are_allowed_operations() -> None:
    allowed = frozenset().union(*operations.AUTOSCALING_OPERATIONS.values())
    assert allowed >= operations.AUTOSCALING_WRITE_OPERATIONS


def test_autoscaling_actions_are_granted_without_other_services() -> None:
    """Application Auto Scaling's reads on "*", its writes on inference components'
    scalable targets (see AAS_ACTIONS), CloudWatch only on the operator's own alarms, by
    name prefix."""
    assert all(_granted()[a] == {"*"} for a in AAS_READS)
    assert all(_granted()[a] == {SCALABLE_TARGET_ARN} for a in AAS_WRITES)
    (writes,) = [s for s in _statements() if set(_as_list(s["Action"])) & AAS_WRITES]
    assert set(_as_list(writes["Action"])) == AAS_WRITES
    assert writes["Condition"] == IC_TARGETS
    assert all(_granted()[a] == {ANY_ALARM} for a in CLOUDWATCH_READS)
    assert all(_granted()[a] == {ALARM_ARN} for a in CLOUDWATCH_ACTIONS - CLOUDWATCH_READS)
    ours = f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{alarm_name('llama')}"
    for action in CLOUDWATCH_ACTIONS - CLOUDWATCH_READS:
        assert _allows(action, ours)
        # The target-tracking alarms belong to Application Auto Scaling, others' to them.
        assert not _allows(
            action, "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:TargetTracking-x-AlarmHigh"
        )
        assert not _allows(action, "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:billing")


def test_service_linked_role_only_for_application_auto_scaling() -> None:
    (statement,) = [
        s for s in _statements() if "iam:CreateServiceLinkedRole" in _as_list(s["Action"])
    ]
    assert _as_list(statement["Action"]) == ["iam:CreateServiceLinkedRole"]
    assert _as_list(statement["Resource"]) == [SLR_ARN]
    assert statement["Condition"] == {"StringLike": {"iam:AWSServiceName": SLR_SERVICE}}
    assert not _allows("iam:CreateServiceLinkedRole", "arn:aws:iam::1:role/admin")
    assert not _allows("iam:PassRole", SLR_ARN.replace("*", "1"))


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_sagemaker_operation_is_allowed_on_its_resources(operation: str) -> None:
    action = f"sagemaker:{operation}"
    resources = EXPECTED_RESOURCES.get(action, {IC_ARN})
    concrete = {
        IC_ARN: "arn:aws:sagemaker:eu-west-1:123456789012:inference-component/llama",
        ENDPOINT_ARN: "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/team-a-gpu",
        "*": "arn:aws:sagemaker:eu-west-1:123456789012:inference-component/llama",
    }
    for resource in resources:
        assert _allows(action, concrete[resource]), (action, resource)
    assert _granted()[action] == resources


def test_no_wildcard_actions() -> None:
    for action in _granted():
        assert action.split(":")[0] in {
            "sagemaker",
            "application-autoscaling",
            "cloudwatch",
            "iam",
        }, action
        assert "*" not in action and "?" not in action, action


def test_resources_are_specific() -> None:
    for action, resources in _granted().items():
        if action in AAS_ACTIONS or action in CLOUDWATCH_ACTIONS or action.startswith("iam:"):
            continue  # pinned by the two tests above
        for resource in resources:
            if action in UNSCOPABLE_ACTIONS:
                assert resource == "*"
                continue
            assert resource in {IC_ARN, ENDPOINT_ARN}, (action, resource)


def test_unscopable_actions_are_limited_to_the_own_account() -> None:
    for statement in _statements():
        if "*" in _as_list(statement["Resource"]):
            actions = set(_as_list(statement["Action"]))
            if actions <= AAS_ACTIONS:
                assert actions == AAS_READS and "Condition" not in statement
                continue
            assert actions <= UNSCOPABLE_ACTIONS
            assert statement["Condition"] == {
                "StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}
            }


def test_no_other_component_or_endpoint_is_touched() -> None:
    """Mutations reach inference components only, never endpoints or models."""
    for operation in ("UpdateInferenceComponent", "DeleteInferenceComponent", "AddTags"):
        action = f"sagemaker:{operation}"
        assert not _allows(action, "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/x")
        assert not _allows(action, "arn:aws:sagemaker:eu-west-1:123456789012:model/x")
    assert not _allows("sagemaker:DeleteEndpoint", "arn:aws:sagemaker:eu-west-1:1:endpoint/x")
    assert not _allows("sagemaker:InvokeEndpoint", "arn:aws:sagemaker:eu-west-1:1:endpoint/x")


def test_create_requires_the_owner_tag() -> None:
    creates = [
        s for s in _statements() if "sagemaker:CreateInferenceComponent" in _as_list(s["Action"])
    ]
    assert len(creates) == 1
    assert _as_list(creates[0]["Action"]) == ["sagemaker:CreateInferenceComponent"]
    assert creates[0]["Condition"] == {"Null": {OWNER_TAG_KEY: "false"}}
