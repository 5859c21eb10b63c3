"""The operator's boto3 client is built from a pruned SageMaker model: it must still
make, validate and parse every allowed call, resolve the same endpoints, and be small."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import botocore.exceptions
import botocore.loaders
import pytest
from botocore.stub import Stubber

from ic_operator.aws.botocore_model import (
    ENDPOINT_PREFIX,
    default_client_factory,
    prune_endpoints,
    prune_service_model,
)
from ic_operator.aws.operations import OPERATIONS


@pytest.fixture(scope="module")
def full_model() -> Any:
    return botocore.loaders.Loader().load_service_model("sagemaker", "service-2")


def test_the_client_offers_exactly_the_allowed_operations() -> None:
    client = default_client_factory("us-east-1")
    assert set(client.meta.service_model.operation_names) == OPERATIONS
    assert not hasattr(client, "create_endpoint")


def test_every_shape_an_allowed_operation_reaches_is_kept(full_model: Any) -> None:
    pruned = prune_service_model(full_model, OPERATIONS)
    model = default_client_factory("us-east-1").meta.service_model
    seen: set[str] = set()

    def walk(shape: Any) -> None:  # resolving a missing shape raises
        if shape is None or shape.name in seen:
            return
        seen.add(shape.name)
        for member in getattr(shape, "members", {}).values():
            walk(member)
        for attr in ("member", "key", "value"):
            walk(getattr(shape, attr, None))

    for name in OPERATIONS:
        op = model.operation_model(name)
        walk(op.input_shape)
        walk(op.output_shape)
        for error in op.error_shapes:
            walk(error)
    assert seen == set(pruned["shapes"])  # nothing unreachable kept either
    assert len(json.dumps(pruned)) < 0.05 * len(json.dumps(full_model))


def test_requests_are_still_validated_and_responses_parsed() -> None:
    client = default_client_factory("us-east-1")
    with pytest.raises(botocore.exceptions.ParamValidationError):
        client.describe_inference_component()
    response = {
        "InferenceComponentName": "a",
        "InferenceComponentArn": "arn:aws:sagemaker:us-east-1:123456789012:inference-component/a",
        "EndpointName": "ep",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep",
        "CreationTime": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "LastModifiedTime": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "InferenceComponentStatus": "InService",
    }
    with Stubber(client) as stub:  # the stubber checks the response against the output shape
        stub.add_response("describe_inference_component", response, {"InferenceComponentName": "a"})
        assert (
            client.describe_inference_component(InferenceComponentName="a")["EndpointName"] == "ep"
        )


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"])
def test_endpoints_resolve_as_with_the_full_tables(region: str) -> None:
    full = boto3.session.Session().client("sagemaker", region_name=region)
    assert default_client_factory(region).meta.endpoint_url == full.meta.endpoint_url


def test_the_endpoint_table_keeps_every_partition_and_only_sagemaker() -> None:
    table = botocore.loaders.Loader().load_data("endpoints")
    pruned = prune_endpoints(table, ENDPOINT_PREFIX)
    assert [p["partition"] for p in pruned["partitions"]] == [
        p["partition"] for p in table["partitions"]
    ]
    assert {k for p in pruned["partitions"] for k in p["services"]} == {ENDPOINT_PREFIX}
