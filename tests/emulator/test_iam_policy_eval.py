"""The identity-policy evaluation itself (emulator/iam_policy.py), on the language our
policy uses: effects, wildcards, NotAction/NotResource, variables and conditions."""

from __future__ import annotations

from typing import Any

import pytest

from ic_sandbox.emulator.iam_policy import Decision, IdentityPolicy, evaluate

IC = "arn:aws:sagemaker:us-east-1:123456789012:inference-component/llama"
EP = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"
OWN = {"aws:PrincipalAccount": ["123456789012"], "aws:ResourceAccount": ["123456789012"]}


def policy(*statements: dict[str, Any]) -> list[IdentityPolicy]:
    return [IdentityPolicy.parse({"Version": "2012-10-17", "Statement": list(statements)})]


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_no_statement_is_an_implicit_deny() -> None:
    assert evaluate(policy(), "sagemaker:ListTags", IC, OWN) is Decision.IMPLICIT_DENY
    assert evaluate([], "sagemaker:ListTags", IC, OWN) is Decision.IMPLICIT_DENY


def test_an_explicit_deny_wins_over_any_allow() -> None:
    policies = policy(
        allow("sagemaker:*"),
        {"Effect": "Deny", "Action": "sagemaker:Delete*", "Resource": IC},
    )
    assert evaluate(policies, "sagemaker:DeleteInferenceComponent", IC, OWN) is (
        Decision.EXPLICIT_DENY
    )
    assert evaluate(policies, "sagemaker:DeleteInferenceComponent", EP, OWN) is Decision.ALLOW


def test_actions_ignore_case_and_take_wildcards() -> None:
    policies = policy(allow("SageMaker:describe*"))
    assert evaluate(policies, "sagemaker:DescribeInferenceComponent", IC, OWN) is Decision.ALLOW
    assert evaluate(policies, "sagemaker:DeleteTags", IC, OWN) is Decision.IMPLICIT_DENY


def test_not_action_and_not_resource() -> None:
    policies = policy(
        {"Effect": "Allow", "NotAction": "sagemaker:Delete*", "NotResource": EP},
    )
    assert evaluate(policies, "sagemaker:AddTags", IC, OWN) is Decision.ALLOW
    assert evaluate(policies, "sagemaker:AddTags", EP, OWN) is Decision.IMPLICIT_DENY
    assert evaluate(policies, "sagemaker:DeleteTags", IC, OWN) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        ("arn:aws:sagemaker:*:*:inference-component/*", IC, True),
        ("arn:aws:sagemaker:*:*:inference-component/*", EP, False),
        ("arn:aws:sagemaker:us-?ast-1:*:inference-component/ll*", IC, True),
        # a wildcard stays inside its part of the ARN: region * does not eat the account
        ("arn:aws:sagemaker:*:inference-component/llama", IC, False),
        ("arn:aws:cloudwatch:*:*:alarm:sagemaker-ic-operator-*",
         "arn:aws:cloudwatch:us-east-1:1:alarm:sagemaker-ic-operator-llama", True),
        ("arn:aws:cloudwatch:*:*:alarm:sagemaker-ic-operator-*",
         "arn:aws:cloudwatch:us-east-1:1:alarm:TargetTracking-x-AlarmHigh", False),
    ],
)  # fmt: skip
def test_resources_match_part_by_part(pattern: str, resource: str, matches: bool) -> None:
    decision = evaluate(policy(allow("sagemaker:*", pattern)), "sagemaker:AddTags", resource, OWN)
    assert (decision is Decision.ALLOW) is matches


def test_a_policy_variable_in_a_resource_takes_the_request_value() -> None:
    policies = policy(allow("sagemaker:*", "arn:aws:sagemaker:*:${aws:PrincipalAccount}:*"))
    assert evaluate(policies, "sagemaker:AddTags", IC, OWN) is Decision.ALLOW
    other = {**OWN, "aws:PrincipalAccount": ["210987654321"]}
    assert evaluate(policies, "sagemaker:AddTags", IC, other) is Decision.IMPLICIT_DENY
    # a variable the request cannot fill makes the statement not apply
    assert evaluate(policies, "sagemaker:AddTags", IC, {}) is Decision.IMPLICIT_DENY


def test_resource_account_against_the_principal_account() -> None:
    """ListInferenceComponentsInThisAccount: `*`, kept to the caller's own account."""
    policies = policy(
        allow(
            "sagemaker:ListInferenceComponents",
            Condition={"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}},
        )
    )
    action = "sagemaker:ListInferenceComponents"
    assert evaluate(policies, action, "*", OWN) is Decision.ALLOW
    elsewhere = {**OWN, "aws:ResourceAccount": ["210987654321"]}
    assert evaluate(policies, action, "*", elsewhere) is Decision.IMPLICIT_DENY
    assert evaluate(policies, action, "*", {}) is Decision.IMPLICIT_DENY


def test_null_false_requires_the_request_tag() -> None:
    key = "aws:RequestTag/sagemaker.ic-operator.io/owner-uid"
    action = "sagemaker:CreateInferenceComponent"
    policies = policy(allow(action, Condition={"Null": {key: "false"}}))
    assert evaluate(policies, action, IC, {**OWN, key.upper(): ["uid"]}) is Decision.ALLOW
    assert evaluate(policies, action, IC, OWN) is Decision.IMPLICIT_DENY


def test_string_like_on_the_service_name() -> None:
    policies = policy(
        allow(
            "iam:CreateServiceLinkedRole",
            Condition={"StringLike": {"iam:AWSServiceName": "sagemaker.application-autoscaling.*"}},
        )
    )
    action = "iam:CreateServiceLinkedRole"
    good = {"iam:AWSServiceName": ["sagemaker.application-autoscaling.amazonaws.com"]}
    bad = {"iam:AWSServiceName": ["ecs.application-autoscaling.amazonaws.com"]}
    assert evaluate(policies, action, "arn:aws:iam::1:role/x", good) is Decision.ALLOW
    assert evaluate(policies, action, "arn:aws:iam::1:role/x", bad) is Decision.IMPLICIT_DENY


def test_an_unmodelled_operator_fails_closed() -> None:
    policies = policy(allow("sagemaker:*", Condition={"DateGreaterThan": {"aws:CurrentTime": "x"}}))
    assert evaluate(policies, "sagemaker:AddTags", IC, OWN) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({}, "Statement"),
        ({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}, "Effect"),
        ({"Statement": [{"Effect": "Allow", "Resource": "*"}]}, "Action"),
        ({"Statement": [{"Effect": "Allow", "Action": "*"}]}, "Resource"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}]},
         "Principal"),
    ],
)  # fmt: skip
def test_malformed_policies_are_refused(document: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        IdentityPolicy.parse(document)
