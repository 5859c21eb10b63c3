"""Inference component CRUD and the service rules outside the model (reference §1.6)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import IMAGE, create_ic, describe, error_of, gone, spec, wait_status
from tests.fixtures.emulator import ROLE_ARN, ic_endpoint

IC_ARN = "arn:aws:sagemaker:us-east-1:123456789012:inference-component"


def test_create_describe_delete(sm: Any, endpoint: str) -> None:
    arn = sm.create_inference_component(
        InferenceComponentName="Llama-1",
        EndpointName=endpoint,
        VariantName="AllTraffic",
        Specification=spec(
            StartupParameters={"ModelDataDownloadTimeoutInSeconds": 600},
            SchedulingConfig={"PlacementStrategy": "SPREAD"},
        ),
        RuntimeConfig={"CopyCount": 2},
        Tags=[{"Key": "team", "Value": "ml"}],
    )["InferenceComponentArn"]
    assert arn == f"{IC_ARN}/Llama-1"
    first = describe(sm, "Llama-1")
    assert first["InferenceComponentStatus"] == "Creating"
    assert first["RuntimeConfig"]["DesiredCopyCount"] == 2
    assert first["RuntimeConfig"]["CurrentCopyCount"] == 0
    d = wait_status(sm, "Llama-1", "InService")
    assert d["LastModifiedTime"] > first["LastModifiedTime"]
    assert d["EndpointArn"] == "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"
    assert d["RuntimeConfig"] == {
        "DesiredCopyCount": 2,
        "CurrentCopyCount": 2,
        "PlacementStatus": [{"InstanceType": "ml.g5.12xlarge", "CurrentCopyCount": 2}],
    }
    image = d["Specification"]["Container"]["DeployedImage"]
    assert image["SpecifiedImage"] == IMAGE
    digest = hashlib.sha256(IMAGE.encode()).hexdigest()
    assert image["ResolvedImage"] == IMAGE.rsplit(":", 1)[0] + "@sha256:" + digest
    assert "Image" not in d["Specification"]["Container"]
    # accelerator instance, caching not requested: the service turns it on (doc+obs)
    assert d["Specification"]["DataCacheConfig"] == {"EnableCaching": True}
    assert d["Specification"]["SchedulingConfig"] == {"PlacementStrategy": "SPREAD"}
    assert "LastDeploymentConfig" not in d
    assert "FailureReason" not in d
    assert "Tags" not in d
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    sm.delete_inference_component(InferenceComponentName="Llama-1")
    assert describe(sm, "Llama-1")["InferenceComponentStatus"] == "Deleting"
    gone(sm, "Llama-1")
    with pytest.raises(ClientError) as exc:
        describe(sm, "Llama-1")
    code, message, status = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("Could not find inference component")


def test_requested_cache_setting_wins(sm: Any, endpoint: str) -> None:
    d = create_ic(sm, specification=spec(DataCacheConfig={"EnableCaching": False}))
    assert d["Specification"]["DataCacheConfig"] == {"EnableCaching": False}


def test_cpu_instance_gets_no_default_cache(sm: Any) -> None:
    ic_endpoint(sm, "cpu", instance_type="ml.m5.xlarge")
    d = create_ic(
        sm,
        endpoint="cpu",
        specification={
            "Container": {"Image": IMAGE},
            "ComputeResourceRequirements": {
                "NumberOfCpuCoresRequired": 1,
                "MinMemoryRequiredInMb": 512,
            },
        },
    )
    assert "DataCacheConfig" not in d["Specification"]


@pytest.mark.parametrize(
    ("op", "kwargs"),
    [
        ("describe_inference_component", {}),
        ("delete_inference_component", {}),
        ("update_inference_component", {"RuntimeConfig": {"CopyCount": 1}}),
        ("update_inference_component_runtime_config", {"DesiredRuntimeConfig": {"CopyCount": 1}}),
    ],
)
def test_missing_component(sm: Any, op: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as exc:
        getattr(sm, op)(InferenceComponentName="absent", **kwargs)
    assert error_of(exc) == (
        "ValidationException",
        f'Could not find inference component "{IC_ARN}/absent".',
        400,
    )


def _create_error(sm: Any, **overrides: Any) -> tuple[str, str, int]:
    request: dict[str, Any] = {
        "InferenceComponentName": "ic",
        "EndpointName": "ep",
        "VariantName": "AllTraffic",
        "Specification": spec(),
        "RuntimeConfig": {"CopyCount": 1},
    }
    request.update(overrides)
    request = {k: v for k, v in request.items() if v is not None}
    with pytest.raises(ClientError) as exc:
        sm.create_inference_component(**request)
    return error_of(exc)


def test_create_rules(sm: Any, endpoint: str) -> None:
    assert _create_error(sm, RuntimeConfig={"CopyCount": 0})[1] == (
        "Inference components copy count an integer larger than 0"
    )
    assert (
        "either Specification or Specifications, not both"
        in _create_error(sm, Specifications=[spec()])[1]
    )
    assert (
        "Either Specification or Specifications must be specified"
        in _create_error(sm, Specification=None)[1]
    )
    assert "VariantName is required" in _create_error(sm, VariantName=None)[1]
    assert "Variant Other is not part of endpoint" in _create_error(sm, VariantName="Other")[1]
    assert _create_error(sm, EndpointName="nope")[1].startswith("Could not find endpoint")
    assert "RuntimeConfig is required" in _create_error(sm, RuntimeConfig=None)[1]
    assert _create_error(sm, Specification=spec(ModelName="absent"))[1].startswith(
        "Could not find model"
    )
    no_compute = {"Container": {"Image": IMAGE}}
    assert (
        "ComputeResourceRequirements is required" in _create_error(sm, Specification=no_compute)[1]
    )
    partition = spec(gpus=2)
    partition["ComputeResourceRequirements"]["AcceleratorPartitionType"] = "mig-1g.10gb"
    assert (
        "must be 1 when AcceleratorPartitionType" in _create_error(sm, Specification=partition)[1]
    )
    no_image = {"ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}}
    assert "Specify ModelName or Container.Image" in _create_error(sm, Specification=no_image)[1]
    for code, _message, status in [_create_error(sm, RuntimeConfig={"CopyCount": 0})]:
        assert (code, status) == ("ValidationException", 400)


def test_duplicate_name(sm: Any, endpoint: str) -> None:
    create_ic(sm, "dup", wait=False)
    assert _create_error(sm, InferenceComponentName="dup") == (
        "ValidationException",
        f'Cannot create already existing inference component "{IC_ARN}/dup".',
        400,
    )


def test_endpoint_must_host_components(sm: Any) -> None:
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(
        EndpointConfigName="classic",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "m",
                "InstanceType": "ml.g5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName="classic", EndpointConfigName="classic")
    assert _create_error(sm, EndpointName="classic")[1].startswith(
        "Inference Components are not supported in this Endpoint"
    )


def test_endpoint_must_be_in_service(sm: Any) -> None:
    sm.create_endpoint_config(
        EndpointConfigName="c",
        ExecutionRoleArn=ROLE_ARN,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}
        ],
    )
    sm.create_endpoint(EndpointName="young", EndpointConfigName="c")
    assert "is in status Creating" in _create_error(sm, EndpointName="young")[1]


def test_model_reference(sm: Any, endpoint: str) -> None:
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": IMAGE})
    d = create_ic(
        sm,
        specification={
            "ModelName": "m",
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1,
                "MinMemoryRequiredInMb": 1024,
            },
        },
    )
    assert d["Specification"]["ModelName"] == "m"
    assert "Container" not in d["Specification"]


def test_specifications_pick_the_variant_instance_type(sm: Any, endpoint: str) -> None:
    specs = [
        {**spec(gpus=1), "InstanceType": "ml.g5.12xlarge"},
        {**spec(gpus=2), "InstanceType": "ml.p4d.24xlarge"},
    ]
    sm.create_inference_component(
        InferenceComponentName="multi",
        EndpointName=endpoint,
        VariantName="AllTraffic",
        Specifications=specs,
        RuntimeConfig={"CopyCount": 4},
    )
    d = wait_status(sm, "multi", "InService")
    assert "Specification" not in d
    assert [s["InstanceType"] for s in d["Specifications"]] == ["ml.g5.12xlarge", "ml.p4d.24xlarge"]
    assert all("DeployedImage" not in s["Container"] for s in d["Specifications"])
    # 4 copies x 1 GPU fill the 4-GPU instance: the g5 entry applied, not the 2-GPU one
    assert d["RuntimeConfig"]["CurrentCopyCount"] == 4
    missing_type = [spec(), spec()]
    assert (
        "must set InstanceType"
        in _create_error(
            sm, InferenceComponentName="x", Specification=None, Specifications=missing_type
        )[1]
    )
    other = [
        {**spec(), "InstanceType": "ml.p5.48xlarge"},
        {**spec(), "InstanceType": "ml.g6.xlarge"},
    ]
    assert (
        "None of the Specifications targets instance type ml.g5.12xlarge"
        in _create_error(sm, InferenceComponentName="x", Specification=None, Specifications=other)[
            1
        ]
    )


def test_adapter_components(sm: Any, endpoint: str) -> None:
    create_ic(sm, "base")
    adapter = {
        "BaseInferenceComponentName": "base",
        "Container": {"ArtifactUrl": "s3://b/a.tar.gz"},
    }
    with pytest.raises(ClientError) as with_variant:
        sm.create_inference_component(
            InferenceComponentName="lora",
            EndpointName=endpoint,
            VariantName="AllTraffic",
            Specification=adapter,
        )
    assert "VariantName must not be specified for an adapter" in error_of(with_variant)[1]
    with pytest.raises(ClientError) as with_compute:
        sm.create_inference_component(
            InferenceComponentName="lora",
            EndpointName=endpoint,
            Specification={
                **adapter,
                "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 128},
            },
        )
    assert "must not be set for an adapter" in error_of(with_compute)[1]
    with pytest.raises(ClientError) as no_base:
        sm.create_inference_component(
            InferenceComponentName="lora",
            EndpointName=endpoint,
            Specification={**adapter, "BaseInferenceComponentName": "absent"},
        )
    assert error_of(no_base)[1].startswith("Could not find inference component")
    sm.create_inference_component(
        InferenceComponentName="lora", EndpointName=endpoint, Specification=adapter
    )
    d = wait_status(sm, "lora", "InService")
    # an adapter echoes its base's variant and compute requirements (obs [TF])
    assert d["VariantName"] == "AllTraffic"
    assert (
        d["Specification"]["ComputeResourceRequirements"] == spec()["ComputeResourceRequirements"]
    )
    assert d["Specification"]["BaseInferenceComponentName"] == "base"
    with pytest.raises(ClientError) as base_delete:
        sm.delete_inference_component(InferenceComponentName="base")
    assert "is a base inference component for one or more associated" in error_of(base_delete)[1]
    sm.delete_inference_component(InferenceComponentName="lora")
    gone(sm, "lora")
    sm.delete_inference_component(InferenceComponentName="base")
    gone(sm, "base")


def test_delete_while_deleting_and_creating(sm: Any, endpoint: str) -> None:
    create_ic(sm, "young", wait=False)
    with pytest.raises(ClientError) as creating:
        sm.delete_inference_component(InferenceComponentName="young")
    assert error_of(creating)[1] == (
        f"Cannot delete inference component {IC_ARN}/young while it is in state CREATE_IN_PROGRESS"
    )
    wait_status(sm, "young", "InService")
    sm.delete_inference_component(InferenceComponentName="young")
    with pytest.raises(ClientError) as deleting:
        sm.delete_inference_component(InferenceComponentName="young")
    assert "DELETE_IN_PROGRESS" in error_of(deleting)[1]
    gone(sm, "young")
