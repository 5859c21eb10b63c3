"""The AWS CLI (v1 from PyPI, in its own venv: `make awscli`) drives a full lifecycle."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.helpers import IMAGE, wait_status
from tests.fixtures.emulator import ROLE_ARN, Admin, RunningEmulator, wait_for

AWS = Path(
    os.environ.get(
        "IC_OPERATOR_AWSCLI",
        Path.home() / ".cache/sagemaker-ic-operator/awscli-venv/bin/aws",
    )
)
NEW_IMAGE = IMAGE.replace("0.29.0", "0.30.0")
THIRD_IMAGE = IMAGE.replace("0.29.0", "0.31.0")

pytestmark = pytest.mark.skipif(
    not AWS.exists(), reason=f"AWS CLI not installed at {AWS}: run `make awscli`"
)


class Cli:
    def __init__(self, url: str, tmp: Path) -> None:
        self.url = url
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(tmp / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "1",
        }

    def __call__(self, *args: str) -> Any:
        out = subprocess.run(
            [str(AWS), "--endpoint-url", self.url, "--output", "json", "sagemaker", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else None

    def fails(self, *args: str) -> str:
        out = subprocess.run(
            [str(AWS), "--endpoint-url", self.url, "sagemaker", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode != 0
        return out.stderr


def test_full_lifecycle_with_the_aws_cli(
    fast_emulator: RunningEmulator, admin: Admin, sm: Any, tmp_path: Path
) -> None:
    aws = Cli(fast_emulator.url, tmp_path)
    variants = json.dumps(
        [{"VariantName": "AllTraffic", "InstanceType": "ml.g5.12xlarge", "InitialInstanceCount": 2}]
    )
    aws(
        "create-endpoint-config",
        "--endpoint-config-name",
        "ep-config",
        "--execution-role-arn",
        ROLE_ARN,
        "--production-variants",
        variants,
    )
    aws("create-endpoint", "--endpoint-name", "ep", "--endpoint-config-name", "ep-config")
    wait_for(
        lambda: sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService",
        what="endpoint InService",
    )
    created = aws(
        "create-inference-component",
        "--inference-component-name",
        "ic",
        "--endpoint-name",
        "ep",
        "--variant-name",
        "AllTraffic",
        "--specification",
        f"Container={{Image={IMAGE}}},ComputeResourceRequirements="
        "{NumberOfAcceleratorDevicesRequired=1,MinMemoryRequiredInMb=1024}",
        "--runtime-config",
        "CopyCount=2",
        "--tags",
        "Key=team,Value=ml",
    )
    arn = created["InferenceComponentArn"]
    assert arn.endswith(":inference-component/ic")
    wait_status(sm, "ic", "InService")

    # update in shorthand syntax: specification, runtime config and deployment config
    admin.clear_calls()
    aws(
        "update-inference-component",
        "--inference-component-name",
        "ic",
        "--specification",
        f"Container={{Image={NEW_IMAGE}}},ComputeResourceRequirements="
        "{NumberOfAcceleratorDevicesRequired=1,MinMemoryRequiredInMb=1024}",
        "--runtime-config",
        "CopyCount=3",
        "--deployment-config",
        "RollingUpdatePolicy={MaximumBatchSize={Type=COPY_COUNT,Value=1},"
        "WaitIntervalInSeconds=3600,MaximumExecutionTimeoutInSeconds=28800},"
        "AutoRollbackConfiguration={Alarms=[{AlarmName=ic-errors}]}",
    )
    shorthand_request = admin.calls("UpdateInferenceComponent")[0]["request"]
    assert shorthand_request["RuntimeConfig"] == {"CopyCount": 3}
    assert shorthand_request["DeploymentConfig"] == {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
            "WaitIntervalInSeconds": 3600,
            "MaximumExecutionTimeoutInSeconds": 28800,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "ic-errors"}]},
    }
    # a second update while the first one bakes is rejected, and the CLI reports it
    assert "while it is in state UPDATE_IN_PROGRESS" in aws.fails(
        "update-inference-component-runtime-config",
        "--inference-component-name",
        "ic",
        "--desired-runtime-config",
        "CopyCount=1",
    )
    # the alarm named on the command line rolls the update back
    admin.set_alarm("ic-errors", "ALARM")
    rolled_back = wait_status(sm, "ic", "InService")
    assert "ic-errors" in rolled_back["FailureReason"]
    assert rolled_back["Specification"]["Container"]["DeployedImage"]["SpecifiedImage"] == IMAGE

    # the same call in JSON syntax
    deployment = {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 34},
            "WaitIntervalInSeconds": 1,
            "RollbackMaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
        }
    }
    aws(
        "update-inference-component",
        "--inference-component-name",
        "ic",
        "--specification",
        json.dumps(
            {
                "Container": {"Image": THIRD_IMAGE, "Environment": {"OPTION_X": "1"}},
                "ComputeResourceRequirements": {
                    "NumberOfAcceleratorDevicesRequired": 1,
                    "MinMemoryRequiredInMb": 1024,
                },
            }
        ),
        "--runtime-config",
        json.dumps({"CopyCount": 3}),
        "--deployment-config",
        json.dumps(deployment),
    )
    wait_status(sm, "ic", "InService")

    # runtime config update
    aws(
        "update-inference-component-runtime-config",
        "--inference-component-name",
        "ic",
        "--desired-runtime-config",
        "CopyCount=4",
    )
    wait_status(sm, "ic", "InService")

    described = aws("describe-inference-component", "--inference-component-name", "ic")
    assert described["InferenceComponentStatus"] == "InService"
    container = described["Specification"]["Container"]
    assert container["DeployedImage"]["SpecifiedImage"] == THIRD_IMAGE
    assert container["Environment"] == {"OPTION_X": "1"}
    assert described["RuntimeConfig"]["CurrentCopyCount"] == 4
    assert described["LastDeploymentConfig"] == deployment

    listed = aws("list-inference-components", "--endpoint-name-equals", "ep")
    assert [i["InferenceComponentName"] for i in listed["InferenceComponents"]] == ["ic"]
    assert aws("list-tags", "--resource-arn", arn)["Tags"] == [{"Key": "team", "Value": "ml"}]

    aws("delete-inference-component", "--inference-component-name", "ic")
    wait_for(lambda: not sm.list_inference_components()["InferenceComponents"], what="ic deleted")
    assert "Could not find inference component" in aws.fails(
        "describe-inference-component", "--inference-component-name", "ic"
    )
    aws("delete-endpoint", "--endpoint-name", "ep")
    aws("delete-endpoint-config", "--endpoint-config-name", "ep-config")
