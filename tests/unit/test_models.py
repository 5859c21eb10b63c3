"""The spec and status models: parsing, wire forms and round trips."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ic_operator.models import (
    Condition,
    InferenceComponentSpec,
    InferenceComponentStatus,
    LastDeployment,
    validation_message,
)
from tests.unit.crd_admission import admit
from tests.unit.test_crd import schema

IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
    "huggingface-pytorch-tgi-inference:2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04"
)


def basic(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "endpointName": "llm-endpoint",
        "variantName": "AllTraffic",
        "specification": {
            "container": {
                "image": IMAGE,
                "artifactUrl": "s3://models-bucket/llama/model.tar.gz",
                "environment": {"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "1"},
            },
            "computeResourceRequirements": {
                "numberOfAcceleratorDevicesRequired": 1,
                "minMemoryRequiredInMb": 16384,
            },
        },
        "runtimeConfig": {"copyCount": 2},
    }
    spec.update(overrides)
    return spec


def test_parse_accepts_camel_case_and_fills_defaults() -> None:
    spec = InferenceComponentSpec.parse(basic())
    assert spec.endpoint_name == "llm-endpoint"
    assert spec.runtime_config is not None
    assert spec.runtime_config.copy_count_owner == "Operator"
    assert spec.deletion_policy == "Delete"
    assert spec.adoption_policy == "Never"
    assert spec.tags == {}


def test_to_k8s_round_trip_is_exact() -> None:
    spec = InferenceComponentSpec.parse(basic(tags={"team": "ml"}))
    assert InferenceComponentSpec.parse(spec.to_k8s()) == spec
    assert "region" not in spec.to_k8s()


def test_create_request_wire_form() -> None:
    spec = InferenceComponentSpec.parse(basic(tags={"team": "ml"}))
    request = spec.create_request("llm", tags={"sagemaker.ic-operator.io/uid": "abc"})
    assert request == {
        "InferenceComponentName": "llm",
        "EndpointName": "llm-endpoint",
        "VariantName": "AllTraffic",
        "Specification": {
            "Container": {
                "Image": IMAGE,
                "ArtifactUrl": "s3://models-bucket/llama/model.tar.gz",
                "Environment": {"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "1"},
            },
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1.0,
                "MinMemoryRequiredInMb": 16384,
            },
        },
        "RuntimeConfig": {"CopyCount": 2},
        "Tags": [
            {"Key": "team", "Value": "ml"},
            {"Key": "sagemaker.ic-operator.io/uid", "Value": "abc"},
        ],
    }


def test_update_request_carries_deployment_config_and_optional_copy_count() -> None:
    spec = InferenceComponentSpec.parse(
        basic(
            runtimeConfig={"copyCount": 4},
            deploymentConfig={
                "rollingUpdatePolicy": {
                    "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
                    "waitIntervalInSeconds": 120,
                },
                "autoRollbackConfiguration": {"alarms": [{"alarmName": "llm-5xx"}]},
            },
        )
    )
    without = spec.update_request("llm", copy_count=None)
    assert "RuntimeConfig" not in without
    assert without["DeploymentConfig"] == {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
            "WaitIntervalInSeconds": 120,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "llm-5xx"}]},
    }
    assert spec.update_request("llm", copy_count=4)["RuntimeConfig"] == {"CopyCount": 4}
    assert spec.runtime_config_request("llm", 3) == {
        "InferenceComponentName": "llm",
        "DesiredRuntimeConfig": {"CopyCount": 3},
    }


def test_environment_keys_are_not_renamed() -> None:
    spec = InferenceComponentSpec.parse(
        basic(
            specification={
                "container": {"image": IMAGE, "environment": {"lower_case": "x", "MiXed": "y"}},
                "computeResourceRequirements": {"minMemoryRequiredInMb": 1024},
            }
        )
    )
    env = spec.aws_specification()["Specification"]["Container"]["Environment"]
    assert env == {"lower_case": "x", "MiXed": "y"}


def test_copy_count_zero_is_valid_but_not_creatable() -> None:
    spec = InferenceComponentSpec.parse(basic(runtimeConfig={"copyCount": 0}))
    assert spec.creation_problems() == [
        "runtimeConfig.copyCount must be at least 1 when the component is created"
    ]
    # create_request itself does not refuse: the planner decides (and reports) first.
    assert spec.create_request("llm", tags={})["RuntimeConfig"] == {"CopyCount": 0}
    with pytest.raises(ValidationError) as err:
        InferenceComponentSpec.parse(basic(runtimeConfig={"copyCount": 0}), creating=True)
    assert validation_message(err.value) == (
        "spec: runtimeConfig.copyCount must be at least 1 when the component is created"
    )


def test_component_name_defaults_to_metadata_name() -> None:
    assert InferenceComponentSpec.parse(basic()).component_name("llm-a") == "llm-a"
    named = InferenceComponentSpec.parse(basic(inferenceComponentName="custom"))
    assert named.component_name("llm-a") == "custom"
    assert InferenceComponentSpec.parse(basic()).component_name_problems("llm-a") == []
    assert named.component_name_problems("llm.a") == []
    (problem,) = InferenceComponentSpec.parse(basic()).component_name_problems("llm.a")
    assert problem.endswith("set spec.inferenceComponentName")


def test_adapter() -> None:
    adapter = InferenceComponentSpec.parse(
        {
            "endpointName": "llm-endpoint",
            "specification": {
                "baseInferenceComponentName": "llama-base",
                "container": {"artifactUrl": "s3://models-bucket/adapters/sql.tar.gz"},
            },
        }
    )
    assert adapter.is_adapter()
    assert "VariantName" not in adapter.create_request("sql", tags={})
    assert not InferenceComponentSpec.parse(basic()).is_adapter()


def test_status_round_trip_and_lenient_parse() -> None:
    status = InferenceComponentStatus(
        observed_generation=3,
        inference_component_status="InService",
        copies="2/2",
        last_deployment=LastDeployment(
            generation=3, spec_hash="abc", outcome="Succeeded", retry_token="1"
        ),
        conditions=[
            Condition(
                type="Ready",
                status="True",
                reason="InService",
                last_transition_time="2026-11-21T20:00:00Z",
            )
        ],
    )
    stored = status.to_k8s()
    assert stored["lastDeployment"]["specHash"] == "abc"
    assert stored["conditions"][0]["lastTransitionTime"] == "2026-11-21T20:00:00Z"
    assert "failureReason" not in stored
    assert InferenceComponentStatus.parse({**stored, "fromTheFuture": 1}) == status


@pytest.mark.parametrize(
    "overrides",
    [
        # An autoscaler owns the copy count: the batch is not checked against copyCount.
        {
            "runtimeConfig": {"copyCount": 1, "copyCountOwner": "External"},
            "deploymentConfig": {
                "rollingUpdatePolicy": {
                    "maximumBatchSize": {"type": "COPY_COUNT", "value": 2},
                    "waitIntervalInSeconds": 0,
                }
            },
        },
        # Scaled to zero with a deployment config kept: nothing to roll, nothing to check.
        {
            "runtimeConfig": {"copyCount": 0},
            "deploymentConfig": {
                "rollingUpdatePolicy": {
                    "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
                    "waitIntervalInSeconds": 60,
                }
            },
        },
        # Rollback at 100 % is SageMaker's own default (blue/green), so it may be explicit.
        {
            "deploymentConfig": {
                "rollingUpdatePolicy": {
                    "maximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 50},
                    "waitIntervalInSeconds": 60,
                    "rollbackMaximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 100},
                }
            },
        },
        # One entry in specifications needs no instanceType.
        {
            "specification": None,
            "specifications": [
                {
                    "modelName": "llama",
                    "computeResourceRequirements": {"minMemoryRequiredInMb": 128},
                }
            ],
        },
    ],
    ids=["external-owner", "scaled-to-zero", "rollback-100-percent", "single-specifications"],
)
def test_valid_edge_cases(overrides: dict[str, Any]) -> None:
    raw = basic(**overrides)
    raw = {k: v for k, v in raw.items() if v is not None}
    spec = InferenceComponentSpec.parse(raw)
    assert InferenceComponentSpec.parse(spec.to_k8s()) == spec
    doc = {"metadata": {"name": "llm"}, "spec": raw}
    assert admit(doc, schema(), old=doc) == []


def test_validation_message_joins_every_problem() -> None:
    raw = basic(endpointName="bad_name", runtimeConfig={"copyCount": -1})
    with pytest.raises(ValidationError) as err:
        InferenceComponentSpec.parse(raw)
    assert validation_message(err.value) == (
        "spec.endpointName: 'bad_name' must be 1-63 letters, digits and '-', starting and "
        "ending with a letter or digit (pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$); "
        "spec.runtimeConfig.copyCount: Input should be greater than or equal to 0"
    )
