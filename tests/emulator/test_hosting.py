"""Models, endpoint configs and endpoints: enough of the world to host components."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ic_sandbox.emulator import Durations, EmulatorThread
from tests.emulator.conftest import FAST_SCALE, NO_RETRIES
from tests.emulator.helpers import create_ic, error_of
from tests.fixtures.emulator import ACCOUNT_ID, REGION, ROLE_ARN, RunningEmulator, wait_for

ARN_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012"


def test_model_lifecycle(sm: Any) -> None:
    arn = sm.create_model(
        ModelName="My-Model",
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": "repo/image:1", "ModelDataUrl": "s3://bucket/model.tar.gz"},
    )["ModelArn"]
    assert arn == f"{ARN_PREFIX}:model/my-model"
    d = sm.describe_model(ModelName="My-Model")
    assert d["ModelArn"] == arn
    assert d["PrimaryContainer"]["Image"] == "repo/image:1"
    with pytest.raises(ClientError) as dup:
        sm.create_model(ModelName="My-Model", ExecutionRoleArn=ROLE_ARN)
    assert error_of(dup) == (
        "ValidationException",
        f'Cannot create already existing model "{arn}".',
        400,
    )
    sm.delete_model(ModelName="My-Model")
    with pytest.raises(ClientError) as missing:
        sm.describe_model(ModelName="My-Model")
    assert error_of(missing)[1].startswith("Could not find model")


def test_endpoint_config_for_components_needs_role_and_instances(sm: Any) -> None:
    variant = {"VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge"}
    with pytest.raises(ClientError) as no_role:
        sm.create_endpoint_config(
            EndpointConfigName="c1", ProductionVariants=[{**variant, "InitialInstanceCount": 1}]
        )
    assert "ExecutionRoleArn is required" in error_of(no_role)[1]
    with pytest.raises(ClientError) as no_count:
        sm.create_endpoint_config(
            EndpointConfigName="c1", ExecutionRoleArn=ROLE_ARN, ProductionVariants=[variant]
        )
    assert "InitialInstanceCount" in error_of(no_count)[1]
    with pytest.raises(ClientError) as unknown_type:
        sm.create_endpoint_config(
            EndpointConfigName="c1",
            ExecutionRoleArn=ROLE_ARN,
            ProductionVariants=[
                {**variant, "InstanceType": "ml.x1.32xlarge", "InitialInstanceCount": 1}
            ],
        )
    code, message, _ = error_of(unknown_type)
    assert code == "ValidationException"
    assert "ml.x1.32xlarge" in message
    arn = sm.create_endpoint_config(
        EndpointConfigName="c1",
        ExecutionRoleArn=ROLE_ARN,
        ProductionVariants=[{**variant, "InitialInstanceCount": 2}],
    )["EndpointConfigArn"]
    d = sm.describe_endpoint_config(EndpointConfigName="c1")
    assert d["EndpointConfigArn"] == arn == f"{ARN_PREFIX}:endpoint-config/c1"
    assert d["ProductionVariants"][0]["InitialInstanceCount"] == 2
    assert d["ExecutionRoleArn"] == ROLE_ARN
    # Left out of the create, it is reported as false (ACK late-initializes from it).
    assert d["EnableNetworkIsolation"] is False
    sm.create_endpoint_config(
        EndpointConfigName="isolated",
        ExecutionRoleArn=ROLE_ARN,
        ProductionVariants=[{**variant, "InitialInstanceCount": 1}],
        EnableNetworkIsolation=True,
    )
    assert sm.describe_endpoint_config(EndpointConfigName="isolated")["EnableNetworkIsolation"]
    sm.delete_endpoint_config(EndpointConfigName="c1")
    with pytest.raises(ClientError) as gone:
        sm.describe_endpoint_config(EndpointConfigName="c1")
    assert error_of(gone)[1].startswith("Could not find endpoint configuration")


def test_variants_either_all_have_models_or_none(sm: Any) -> None:
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE_ARN)
    with pytest.raises(ClientError) as exc:
        sm.create_endpoint_config(
            EndpointConfigName="mixed",
            ExecutionRoleArn=ROLE_ARN,
            ProductionVariants=[
                {
                    "VariantName": "a",
                    "ModelName": "m",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                },
                {"VariantName": "b", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
            ],
        )
    assert "Either all production variants specify a ModelName or none do" in error_of(exc)[1]
    with pytest.raises(ClientError) as dup:
        sm.create_endpoint_config(
            EndpointConfigName="dup",
            ExecutionRoleArn=ROLE_ARN,
            ProductionVariants=[
                {"VariantName": "a", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
                {"VariantName": "a", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
            ],
        )
    assert "Variant names must be unique" in error_of(dup)[1]
    sm.create_endpoint_config(
        EndpointConfigName="ok",
        ExecutionRoleArn=ROLE_ARN,
        ProductionVariants=[
            {"VariantName": "a", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
    )
    with pytest.raises(ClientError) as again:
        sm.create_endpoint_config(
            EndpointConfigName="ok",
            ExecutionRoleArn=ROLE_ARN,
            ProductionVariants=[
                {"VariantName": "a", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
            ],
        )
    assert error_of(again)[1].startswith("Cannot create already existing endpoint configuration")


def test_classic_config_needs_existing_model(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.create_endpoint_config(
            EndpointConfigName="classic",
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "ModelName": "absent",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
    assert error_of(exc)[1].startswith("Could not find model")


@pytest.fixture
def slow_delete() -> Iterator[Any]:
    """An emulator whose endpoint deletion outlasts any test step (fast everything else):
    on the shared fast emulator the 60 ms Deleting window can pass between two calls on a
    loaded machine, and the test would see the endpoint gone instead of Deleting."""
    durations = Durations(endpoint_delete=3600.0)
    with EmulatorThread(
        time_scale=FAST_SCALE, region=REGION, account_id=ACCOUNT_ID, durations=durations
    ) as thread:
        yield RunningEmulator(thread).client(config=NO_RETRIES)


def test_endpoint_goes_creating_then_in_service_then_deleting(slow_delete: Any) -> None:
    sm = slow_delete
    sm.create_endpoint_config(
        EndpointConfigName="cfg",
        ExecutionRoleArn=ROLE_ARN,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 3}
        ],
    )
    arn = sm.create_endpoint(EndpointName="Ep-1", EndpointConfigName="cfg")["EndpointArn"]
    assert arn == f"{ARN_PREFIX}:endpoint/ep-1"
    first = sm.describe_endpoint(EndpointName="Ep-1")
    assert first["EndpointStatus"] == "Creating"
    waiter = sm.get_waiter("endpoint_in_service")
    waiter.wait(EndpointName="Ep-1", WaiterConfig={"Delay": 0.05, "MaxAttempts": 400})
    d = sm.describe_endpoint(EndpointName="Ep-1")
    assert d["ProductionVariants"][0]["CurrentInstanceCount"] == 3
    assert d["LastModifiedTime"] >= first["LastModifiedTime"]
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["Ep-1"]
    with pytest.raises(ClientError) as dup:
        sm.create_endpoint(EndpointName="Ep-1", EndpointConfigName="cfg")
    assert error_of(dup)[1] == f'Cannot create already existing endpoint "{arn}".'
    sm.delete_endpoint(EndpointName="Ep-1")
    assert sm.describe_endpoint(EndpointName="Ep-1")["EndpointStatus"] == "Deleting"
    with pytest.raises(ClientError) as twice:
        sm.delete_endpoint(EndpointName="Ep-1")
    assert error_of(twice)[1] == f"Cannot delete endpoint {arn} while it is being deleted."


def test_endpoint_deletion_completes(sm: Any) -> None:
    sm.create_endpoint_config(
        EndpointConfigName="cfg",
        ExecutionRoleArn=ROLE_ARN,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}
        ],
    )
    sm.create_endpoint(EndpointName="ep-1", EndpointConfigName="cfg")
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName="ep-1", WaiterConfig={"Delay": 0.05, "MaxAttempts": 400}
    )
    sm.delete_endpoint(EndpointName="ep-1")
    sm.get_waiter("endpoint_deleted").wait(
        EndpointName="ep-1", WaiterConfig={"Delay": 0.05, "MaxAttempts": 400}
    )
    assert sm.list_endpoints()["Endpoints"] == []


def test_endpoint_needs_config(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.create_endpoint(EndpointName="e", EndpointConfigName="nope")
    assert error_of(exc)[1].startswith("Could not find endpoint configuration")
    with pytest.raises(ClientError) as missing:
        sm.describe_endpoint(EndpointName="nope")
    assert error_of(missing) == (
        "ValidationException",
        f'Could not find endpoint "{ARN_PREFIX}:endpoint/nope".',
        400,
    )


def test_endpoint_with_components_cannot_be_deleted(sm: Any, endpoint: str) -> None:
    create_ic(sm, "ic")
    with pytest.raises(ClientError) as exc:
        sm.delete_endpoint(EndpointName=endpoint)
    assert "still hosts 1 inference component" in error_of(exc)[1]
    sm.delete_inference_component(InferenceComponentName="ic")
    wait_for(lambda: not sm.list_inference_components()["InferenceComponents"], what="ic deleted")
    sm.delete_endpoint(EndpointName=endpoint)
