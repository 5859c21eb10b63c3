"""Model validation with SageMaker's message format (limits boto3 does not check locally)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import create_ic, error_of, rolling, spec
from tests.emulator.test_protocol import post
from tests.fixtures.emulator import Admin, RunningEmulator

NAME_PATTERN = "[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?"


def message(excinfo: Any) -> str:
    code, text, status = error_of(excinfo)
    assert (code, status) == ("ValidationException", 400)
    return text


def test_pattern_message(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.describe_inference_component(InferenceComponentName="has_underscore")
    assert message(exc) == (
        "1 validation error detected: Value 'has_underscore' at 'inferenceComponentName' "
        "failed to satisfy constraint: Member must satisfy regular expression pattern: "
        + NAME_PATTERN
    )


def test_several_errors_are_counted_and_joined(sm: Any) -> None:
    long_name = "a" * 64
    with pytest.raises(ClientError) as exc:
        sm.create_inference_component(
            InferenceComponentName=long_name,
            EndpointName="ep",
            VariantName="AllTraffic",
            Specification=spec("has space"),
            RuntimeConfig={"CopyCount": 1},
        )
    assert message(exc) == (
        "2 validation errors detected: "
        f"Value '{long_name}' at 'inferenceComponentName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63; "
        "Value 'has space' at 'specification.container.image' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\S]+"
    )


def test_ranges_and_enums_boto3_does_not_check(sm: Any, endpoint: str) -> None:
    create_ic(sm, copies=2)
    config = rolling(batch=1, wait=5000)
    config["RollingUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"] = 30000
    with pytest.raises(ClientError) as exc:
        sm.update_inference_component(
            InferenceComponentName="ic", Specification=spec(), DeploymentConfig=config
        )
    assert message(exc) == (
        "2 validation errors detected: "
        "Value '5000' at 'deploymentConfig.rollingUpdatePolicy.waitIntervalInSeconds' "
        "failed to satisfy constraint: Member must have value less than or equal to 3600; "
        "Value '30000' at 'deploymentConfig.rollingUpdatePolicy.maximumExecutionTimeoutInSeconds' "
        "failed to satisfy constraint: Member must have value less than or equal to 28800"
    )
    with pytest.raises(ClientError) as enum:
        sm.list_inference_components(SortBy="Size")
    assert message(enum) == (
        "1 validation error detected: Value 'Size' at 'sortBy' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Name, CreationTime, Status]"
    )


def test_list_member_paths(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.create_inference_component(
            InferenceComponentName="ic",
            EndpointName="ep",
            VariantName="AllTraffic",
            Specifications=[
                spec(),
                {**spec(), "StartupParameters": {"ModelDataDownloadTimeoutInSeconds": 4000}},
            ],
            RuntimeConfig={"CopyCount": 1},
            Tags=[{"Key": "ok", "Value": "fine"}, {"Key": "bad#key", "Value": "v"}],
        )
    text = message(exc)
    assert text.startswith("2 validation errors detected: ")
    assert (
        "Value '4000' at 'specifications.2.member.startupParameters."
        "modelDataDownloadTimeoutInSeconds' failed to satisfy constraint: "
        "Member must have value less than or equal to 3600"
    ) in text
    assert "Value 'bad#key' at 'tags.2.member.key' failed to satisfy constraint" in text


def test_unicode_tag_patterns(sm: Any, endpoint: str) -> None:
    # the model's \p{L}\p{Z}\p{N} Java classes accept letters and numbers in any script
    tags = [{"Key": "équipe", "Value": "東京 ٣ +=@"}]
    arn = create_ic(sm, "ic", wait=False, Tags=tags)["InferenceComponentArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == tags
    with pytest.raises(ClientError) as exc:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "tab\there", "Value": "v"}])
    assert "at 'tags.1.member.key' failed to satisfy constraint" in message(exc)


def test_map_keys(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.create_inference_component(
            InferenceComponentName="ic",
            EndpointName="ep",
            VariantName="AllTraffic",
            Specification={**spec(), "Container": {"Image": "i", "Environment": {"1BAD": "x"}}},
            RuntimeConfig={"CopyCount": 1},
        )
    assert (
        "at 'specification.container.environment' failed to satisfy constraint: Map keys must "
        "satisfy constraint: [Member must satisfy regular expression pattern: "
        "[a-zA-Z_][a-zA-Z0-9_]*]"
    ) in message(exc)


def test_missing_required_members_over_raw_http(
    fast_emulator: RunningEmulator, admin: Admin
) -> None:
    status, _, body = post(
        fast_emulator,
        "SageMaker.CreateInferenceComponent",
        b'{"EndpointName": "ep", "RuntimeConfig": {}}',
    )
    assert status == 400
    assert body["message"] == (
        "2 validation errors detected: "
        "Value null at 'inferenceComponentName' failed to satisfy constraint: "
        "Member must not be null; "
        "Value null at 'runtimeConfig.copyCount' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_minimums_over_raw_http(fast_emulator: RunningEmulator, admin: Admin) -> None:
    status, _, body = post(
        fast_emulator,
        "SageMaker.ListInferenceComponents",
        b'{"MaxResults": 0, "NameContains": "x_y"}',
    )
    assert status == 400
    assert body["message"].startswith("2 validation errors detected: ")
    assert "Value '0' at 'maxResults' failed to satisfy constraint: " in body["message"]
    assert "Member must have value greater than or equal to 1" in body["message"]
