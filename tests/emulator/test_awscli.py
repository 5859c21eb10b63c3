"""The AWS CLI (v1 from PyPI, in its own venv: `make awscli`) drives a full lifecycle."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ic_sandbox.harness.identity import AwsCredentials
from tests.emulator.helpers import IMAGE, create_ic, wait_status
from tests.emulator.test_query_protocol import RESOLVED
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
    def __init__(self, url: str, tmp: Path, credentials: AwsCredentials) -> None:
        self.url = url
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp),
            **credentials.env(),
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(tmp / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "1",
        }

    def __call__(self, *args: str) -> Any:
        return self.service("sagemaker", *args)

    def service(self, service: str, *args: str) -> Any:
        out = subprocess.run(
            [str(AWS), "--endpoint-url", self.url, "--output", "json", service, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else None

    def fails(self, *args: str) -> str:
        return self.fails_in("sagemaker", *args)

    def fails_in(self, service: str, *args: str) -> str:
        out = subprocess.run(
            [str(AWS), "--endpoint-url", self.url, service, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode != 0
        return out.stderr


def test_what_the_aws_cli_sends() -> None:
    """The CLI vendors an older botocore: it resolves the same protocols as boto3."""
    probe = (
        "import json, sys; from awscli.botocore.session import get_session; s = get_session(); "
        "print(json.dumps({n: s.get_service_model(n).resolved_protocol for n in sys.argv[1:]}))"
    )
    out = subprocess.run(
        [str(AWS.parent / "python"), "-c", probe, *RESOLVED],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout) == RESOLVED


def test_full_lifecycle_with_the_aws_cli(
    fast_emulator: RunningEmulator, admin: Admin, sm: Any, tmp_path: Path
) -> None:
    aws = Cli(fast_emulator.url, tmp_path, fast_emulator.credentials)
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


def test_autoscaling_and_alarms_with_the_aws_cli(
    fast_emulator: RunningEmulator, admin: Admin, sm: Any, tmp_path: Path, endpoint: str
) -> None:
    """One world: targets, policies and alarms the CLI writes are the ones boto3 reads."""
    aws = Cli(fast_emulator.url, tmp_path, fast_emulator.credentials)
    create_ic(sm, copies=1)
    target = [
        "--service-namespace",
        "sagemaker",
        "--resource-id",
        "inference-component/ic",
        "--scalable-dimension",
        "sagemaker:inference-component:DesiredCopyCount",
    ]
    registered = aws.service(
        "application-autoscaling",
        "register-scalable-target",
        *target,
        "--min-capacity",
        "0",
        "--max-capacity",
        "4",
    )
    assert ":scalable-target/" in registered["ScalableTargetARN"]
    policy = aws.service(
        "application-autoscaling",
        "put-scaling-policy",
        *target,
        "--policy-name",
        "from-zero",
        "--policy-type",
        "StepScaling",
        "--step-scaling-policy-configuration",
        json.dumps(
            {
                "AdjustmentType": "ChangeInCapacity",
                "MetricAggregationType": "Maximum",
                "Cooldown": 60,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
            }
        ),
    )
    aws.service(
        "cloudwatch",
        "put-metric-alarm",
        "--alarm-name",
        "ic-no-capacity",
        "--metric-name",
        "NoCapacityInvocationFailures",
        "--namespace",
        "AWS/SageMaker",
        "--statistic",
        "Maximum",
        "--dimensions",
        "Name=InferenceComponentName,Value=ic",
        "--period",
        "30",
        "--evaluation-periods",
        "1",
        "--datapoints-to-alarm",
        "1",
        "--threshold",
        "1",
        "--comparison-operator",
        "GreaterThanOrEqualToThreshold",
        "--treat-missing-data",
        "missing",
        "--alarm-actions",
        policy["PolicyARN"],
    )
    (alarm,) = aws.service("cloudwatch", "describe-alarms", "--alarm-names", "ic-no-capacity")[
        "MetricAlarms"
    ]
    assert alarm["AlarmActions"] == [policy["PolicyARN"]]
    assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "ic"}]
    (described,) = aws.service(
        "application-autoscaling", "describe-scaling-policies", "--service-namespace", "sagemaker"
    )["ScalingPolicies"]
    assert described["PolicyARN"] == policy["PolicyARN"]
    assert [c["service"] for c in admin.calls("PutMetricAlarm")] == [
        "GraniteServiceVersion20100801"
    ]
    assert "No scalable target found" in aws.fails_in(
        "application-autoscaling",
        "deregister-scalable-target",
        "--service-namespace",
        "sagemaker",
        "--resource-id",
        "inference-component/other",
        "--scalable-dimension",
        "sagemaker:inference-component:DesiredCopyCount",
    )
    aws.service("cloudwatch", "delete-alarms", "--alarm-names", "ic-no-capacity")
    aws.service("application-autoscaling", "deregister-scalable-target", *target)
    assert aws.service(
        "application-autoscaling", "describe-scalable-targets", "--service-namespace", "sagemaker"
    ) == {"ScalableTargets": []}


def test_query_protocol_with_the_aws_cli(
    fast_emulator: RunningEmulator, admin: Admin, tmp_path: Path
) -> None:
    """The query codec through the CLI's own serializer and parser: the CLI speaks query to
    STS only, so this gives it (AWS_DATA_PATH) a copy of its CloudWatch model that lists
    nothing else."""
    where = subprocess.run(
        [
            str(AWS.parent / "python"),
            "-c",
            "import os, awscli.botocore as b; print(os.path.dirname(b.__file__))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    (shipped,) = (Path(where.stdout.strip()) / "data" / "cloudwatch").iterdir()
    copied = tmp_path / "data" / "cloudwatch" / shipped.name
    copied.mkdir(parents=True)
    model = json.loads((shipped / "service-2.json").read_text())
    model["metadata"]["protocol"] = "query"
    model["metadata"]["protocols"] = ["query"]
    (copied / "service-2.json").write_text(json.dumps(model))
    rules = "endpoint-rule-set-1.json"
    (copied / rules).write_text((shipped / rules).read_text())
    aws = Cli(fast_emulator.url, tmp_path, fast_emulator.credentials)
    aws.env["AWS_DATA_PATH"] = str(tmp_path / "data")

    aws.service(
        "cloudwatch",
        "put-metric-alarm",
        "--alarm-name",
        "ic-no-capacity",
        "--metric-name",
        "NoCapacityInvocationFailures",
        "--namespace",
        "AWS/SageMaker",
        "--statistic",
        "Maximum",
        "--dimensions",
        "Name=InferenceComponentName,Value=ic",
        "--period",
        "30",
        "--evaluation-periods",
        "1",
        "--threshold",
        "1",
        "--comparison-operator",
        "GreaterThanOrEqualToThreshold",
    )
    (call,) = admin.calls("PutMetricAlarm")
    assert call["request"]["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "ic"}]
    (alarm,) = aws.service("cloudwatch", "describe-alarms", "--alarm-names", "ic-no-capacity")[
        "MetricAlarms"
    ]
    assert (alarm["Period"], alarm["Threshold"]) == (30, 1.0)
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert "(ResourceNotFound)" in aws.fails_in(
        "cloudwatch",
        "set-alarm-state",
        "--alarm-name",
        "absent",
        "--state-value",
        "OK",
        "--state-reason",
        "x",
    )
    debug = subprocess.run(
        [str(AWS), "--endpoint-url", aws.url, "--debug", "cloudwatch", "describe-alarms"],
        env=aws.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "'Action': 'DescribeAlarms', 'Version': '2010-08-01'" in debug.stderr  # query
