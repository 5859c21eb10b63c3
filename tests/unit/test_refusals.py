"""A refusal names who was refused what on which resource, in status and once in the log."""

from __future__ import annotations

import logging

import pytest

from ic_operator.aws.errors import ErrorKind, Failure, SageMakerError
from ic_operator.aws.refusals import RefusalLog, action_of, resource_of

OPERATOR = "arn:aws:sts::123456789012:assumed-role/ic-operator/pod"


def denied(component: str, action: str = "sagemaker:CreateInferenceComponent") -> SageMakerError:
    return SageMakerError(
        action.split(":")[1],
        ErrorKind.ACCESS_DENIED,
        "AccessDeniedException",
        f"User: {OPERATOR} is not authorized to perform: {action} on resource: .../{component}",
        action=action,
        resource=f"inference component {component}",
        principal=OPERATOR,
    )


def expired() -> SageMakerError:
    return SageMakerError(
        "DescribeInferenceComponent",
        ErrorKind.CREDENTIALS,
        "ExpiredTokenException",
        "The security token included in the request is expired",
        action="sagemaker:DescribeInferenceComponent",
        resource="inference component a",
        principal=OPERATOR,
    )


def test_the_failures_are_degraded_reasons_of_their_own() -> None:
    assert denied("a").failure is Failure.ACCESS_DENIED
    assert expired().failure is Failure.CREDENTIALS_REJECTED


def test_a_refusal_names_the_principal_the_action_and_the_resource() -> None:
    text = denied("llama").refusal()
    assert text.startswith(
        f"{OPERATOR} was refused sagemaker:CreateInferenceComponent on inference component llama: "
        "AccessDeniedException: User: "
    )


def test_a_refused_assume_role_says_the_provider_failed() -> None:
    err = SageMakerError(
        "ListInferenceComponents",
        ErrorKind.CREDENTIALS,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        action="sagemaker:ListInferenceComponents",
        via="AssumeRoleWithWebIdentity",
        role="arn:aws:iam::123456789012:role/ic-operator",
    )
    assert err.refusal() == (
        "the operator's AWS identity could not get credentials for "
        "sagemaker:ListInferenceComponents: the credential provider's "
        "sts:AssumeRoleWithWebIdentity on role arn:aws:iam::123456789012:role/ic-operator "
        "was refused: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
    )


@pytest.mark.parametrize(
    ("service", "request_", "action", "resource"),
    [
        ("sagemaker", {"InferenceComponentName": "a"}, "sagemaker:X", "inference component a"),
        ("sagemaker", {"EndpointName": "ep"}, "sagemaker:X", "endpoint ep"),
        (
            "application-autoscaling",
            {"ResourceId": "inference-component/a", "ServiceNamespace": "sagemaker"},
            "application-autoscaling:X",
            "inference-component/a",
        ),
        ("cloudwatch", {"AlarmNames": ["x", "y"]}, "cloudwatch:X", "alarms x, y"),
        ("sagemaker", {"MaxResults": 100}, "sagemaker:X", ""),
    ],
)
def test_action_and_resource_from_the_request(
    service: str, request_: dict[str, object], action: str, resource: str
) -> None:
    assert action_of(service, "X") == action
    assert resource_of(request_) == resource


def test_the_log_says_it_once_per_action_again_on_change_and_when_it_clears(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ic_operator.aws")
    refusals = RefusalLog()
    for component in ("a", "b", "a", "c"):  # many components, many passes: one problem
        refusals.refused(denied(component))
    refusals.refused(denied("a", "sagemaker:DeleteInferenceComponent"))  # another action
    refusals.refused(expired())
    refusals.refused(expired())
    refusals.succeeded("sagemaker:DescribeInferenceComponent")  # credentials work again
    refusals.succeeded("sagemaker:CreateInferenceComponent")
    refusals.succeeded("sagemaker:CreateInferenceComponent")  # already clear: silent
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["WARNING", "WARNING", "WARNING", "INFO", "INFO"]
    assert "sagemaker:CreateInferenceComponent on inference component a" in lines[0][1]
    assert "sagemaker:DeleteInferenceComponent" in lines[1][1]
    assert "ExpiredTokenException" in lines[2][1]
    assert lines[3][1] == "AWS accepts the operator's credentials again"
    assert lines[4][1] == "sagemaker:CreateInferenceComponent is allowed again"
