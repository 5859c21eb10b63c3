"""Application Auto Scaling over boto3: targets, policies, scheduled actions, errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import create_ic, error_of

DIM = "sagemaker:inference-component:DesiredCopyCount"
RID = "inference-component/ic"
TARGET = {"ServiceNamespace": "sagemaker", "ResourceId": RID, "ScalableDimension": DIM}
INVOCATIONS = "SageMakerInferenceComponentInvocationsPerCopy"
CONCURRENCY = "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"


def tracking(metric: str = INVOCATIONS, target: float = 10.0, **extra: Any) -> dict[str, Any]:
    return {
        "TargetValue": target,
        "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
        **extra,
    }


def step_out(cooldown: int = 60) -> dict[str, Any]:
    """The scale-out-from-zero step policy of the SageMaker guide: +1 copy on the alarm."""
    return {
        "AdjustmentType": "ChangeInCapacity",
        "MetricAggregationType": "Maximum",
        "Cooldown": cooldown,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    }


def register(aas: Any, lo: int = 1, hi: int = 4, **extra: Any) -> str:
    arn: str = aas.register_scalable_target(**TARGET, MinCapacity=lo, MaxCapacity=hi, **extra)[
        "ScalableTargetARN"
    ]
    return arn


def fails(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return error_of(exc)


def test_register_describe_update_and_deregister(aas: Any, sm: Any, endpoint: str) -> None:
    create_ic(sm, copies=2)
    arn = register(aas, 0, 4)
    assert arn.startswith("arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/")
    (target,) = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert target["ResourceId"] == RID
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 4)
    assert target["RoleARN"].endswith(
        "/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    )
    assert target["SuspendedState"] == {
        "DynamicScalingInSuspended": False,
        "DynamicScalingOutSuspended": False,
        "ScheduledScalingSuspended": False,
    }
    assert target["ScalableTargetARN"] == arn
    # registering again updates in place: same ARN, only the given bound changes
    assert aas.register_scalable_target(**TARGET, MaxCapacity=8)["ScalableTargetARN"] == arn
    (target,) = aas.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[RID], ScalableDimension=DIM
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 8)
    assert aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    aas.deregister_scalable_target(**TARGET)
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []


def test_register_errors(aas: Any, sm: Any, endpoint: str) -> None:
    assert fails(aas.register_scalable_target, **TARGET, MinCapacity=1, MaxCapacity=2) == (
        "ValidationException",
        "The inference component ic does not exist. Create it before registering it as a "
        "scalable target.",
        400,
    )
    create_ic(sm)
    assert fails(aas.register_scalable_target, **TARGET, MinCapacity=3, MaxCapacity=2) == (
        "ValidationException",
        "Minimum capacity cannot be greater than maximum capacity",
        400,
    )
    assert fails(aas.register_scalable_target, **TARGET, MaxCapacity=2)[1] == (
        "MinCapacity and MaxCapacity are required to register a new scalable target."
    )
    code, message, _ = fails(
        aas.register_scalable_target,
        **{**TARGET, "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"},
        MinCapacity=1,
        MaxCapacity=2,
    )
    assert (code, message) == (
        "ValidationException",
        "Unsupported service namespace, resource type or scalable dimension",
    )
    assert fails(aas.deregister_scalable_target, **TARGET) == (
        "ObjectNotFoundException",
        "No scalable target found for service namespace: sagemaker, resource ID: "
        f"{RID}, scalable dimension: {DIM}",
        400,
    )


def test_target_tags(aas: Any, sm: Any, endpoint: str) -> None:
    create_ic(sm)
    arn = register(aas, Tags={"owner": "uid-1"})
    aas.tag_resource(ResourceARN=arn, Tags={"team": "ml"})
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"owner": "uid-1", "team": "ml"}
    aas.untag_resource(ResourceARN=arn, TagKeys=["owner"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "ml"}
    with pytest.raises(ClientError) as exc:
        aas.tag_resource(ResourceARN=arn, Tags={f"k{i}": "v" for i in range(50)})
    assert error_of(exc)[0] == "TooManyTagsException"
    other = arn.rsplit("/", 1)[0] + "/0123abcd"
    with pytest.raises(ClientError) as missing:
        aas.list_tags_for_resource(ResourceARN=other)
    assert error_of(missing) == (
        "ResourceNotFoundException",
        f"No scalable target found for ARN {other}",
        400,
    )


def test_model_validation_in_the_aws_format(aas: Any) -> None:
    """Enums and lengths boto3 does not check are the emulator's to enforce."""
    code, message, status = fails(
        aas.describe_scalable_targets, ServiceNamespace="sagemaker-nope", MaxResults=5
    )
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith(
        "1 validation error detected: Value 'sagemaker-nope' at 'serviceNamespace' failed to "
        "satisfy constraint: Member must satisfy enum value set: [ecs, elasticmapreduce, ec2"
    )
    code, message, _ = fails(
        aas.put_scaling_policy, PolicyName="p" * 257, **TARGET, PolicyType="StepScaling"
    )
    assert message == (
        f"1 validation error detected: Value '{'p' * 257}' at 'policyName' failed to satisfy "
        "constraint: Member must have length less than or equal to 256"
    )


def test_target_tracking_policy_creates_its_alarms(
    aas: Any, cw: Any, sm: Any, endpoint: str
) -> None:
    create_ic(sm)
    register(aas)
    put = aas.put_scaling_policy(
        PolicyName="track",
        **TARGET,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=tracking(
            target=7.5, ScaleInCooldown=600, ScaleOutCooldown=60
        ),
    )
    arn = put["PolicyARN"]
    assert arn.startswith("arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:")
    assert arn.endswith(f":resource/sagemaker/{RID}:policyName/track")
    names = sorted(a["AlarmName"] for a in put["Alarms"])
    assert [n.split("-")[-6] for n in names] == ["AlarmHigh", "AlarmLow"]
    assert all(n.startswith(f"TargetTracking-{RID}-Alarm") for n in names)
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNames=names)["MetricAlarms"]}
    high = next(a for n, a in alarms.items() if "-AlarmHigh-" in n)
    low = next(a for n, a in alarms.items() if "-AlarmLow-" in n)
    assert high["AlarmActions"] == low["AlarmActions"] == [arn]
    assert high["Namespace"] == "AWS/SageMaker"
    assert high["MetricName"] == "InvocationsPerCopy"
    assert high["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "ic"}]
    assert (high["ComparisonOperator"], high["Threshold"]) == ("GreaterThanThreshold", 7.5)
    assert (low["ComparisonOperator"], low["Threshold"]) == ("LessThanThreshold", 6.75)
    assert high["AlarmDescription"].startswith("DO NOT EDIT OR DELETE.")
    assert {a["AlarmArn"] for a in alarms.values()} == {a["AlarmARN"] for a in put["Alarms"]}

    (policy,) = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RID)[
        "ScalingPolicies"
    ]
    assert policy["PolicyARN"] == arn
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration"]["ScaleInCooldown"] == 600
    assert sorted(a["AlarmName"] for a in policy["Alarms"]) == names

    # an update keeps the alarm names; disabling scale-in deletes the low alarm
    again = aas.put_scaling_policy(
        PolicyName="track",
        **TARGET,
        TargetTrackingScalingPolicyConfiguration=tracking(
            CONCURRENCY, target=4, DisableScaleIn=True
        ),
    )
    assert again["PolicyARN"] == arn
    assert [a["AlarmName"] for a in again["Alarms"]] == [n for n in names if "-AlarmHigh-" in n]
    (high,) = cw.describe_alarms(AlarmNamePrefix=f"TargetTracking-{RID}")["MetricAlarms"]
    assert (high["MetricName"], high["Period"], high["Threshold"]) == (
        "ConcurrentRequestsPerCopy",
        10,
        4.0,
    )
    # deleting the policy deletes its alarms
    aas.delete_scaling_policy(PolicyName="track", **TARGET)
    assert cw.describe_alarms(AlarmNamePrefix="TargetTracking-")["MetricAlarms"] == []
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []


def test_policy_errors(aas: Any, sm: Any, endpoint: str) -> None:
    assert fails(
        aas.put_scaling_policy,
        PolicyName="p",
        **TARGET,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=tracking(),
    ) == (
        "ObjectNotFoundException",
        "No scalable target registered for service namespace: sagemaker, resource ID: "
        f"{RID}, scalable dimension: {DIM}",
        400,
    )
    create_ic(sm)
    register(aas)
    code, message, _ = fails(
        aas.put_scaling_policy,
        PolicyName="p",
        **TARGET,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=tracking("SageMakerVariantInvocationsPerInstance"),
    )
    assert code == "ValidationException"
    assert message.startswith(
        "Predefined metric type SageMakerVariantInvocationsPerInstance is not supported for "
        f"scalable dimension {DIM}."
    )
    assert fails(
        aas.put_scaling_policy,
        PolicyName="p",
        **TARGET,
        PolicyType="StepScaling",
    )[1] == ("StepScalingPolicyConfiguration is required for a StepScaling policy.")
    overlapping = step_out()
    overlapping["StepAdjustments"] = [
        {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
        {"MetricIntervalLowerBound": 5, "ScalingAdjustment": 2},
    ]
    assert fails(
        aas.put_scaling_policy,
        PolicyName="p",
        **TARGET,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration=overlapping,
    )[1] == ("Step adjustments must not overlap.")
    custom = {"TargetValue": 5, "CustomizedMetricSpecification": {"MetricName": "Queue"}}
    assert fails(
        aas.put_scaling_policy,
        PolicyName="p",
        **TARGET,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=custom,
    )[1] == (
        "CustomizedMetricSpecification requires Namespace, Statistic unless Metrics is specified."
    )
    assert fails(aas.delete_scaling_policy, PolicyName="p", **TARGET) == (
        "ObjectNotFoundException",
        "No scaling policy found for service namespace: sagemaker, resource ID: "
        f"{RID}, scalable dimension: {DIM}, policy name: p",
        400,
    )


def test_step_policy_and_custom_metric_tracking(aas: Any, cw: Any, sm: Any, endpoint: str) -> None:
    create_ic(sm)
    register(aas, 0, 4)
    step = aas.put_scaling_policy(
        PolicyName="from-zero",
        **TARGET,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration=step_out(),
    )
    assert "Alarms" not in step  # step scaling creates no alarms: you attach your own
    custom = aas.put_scaling_policy(
        PolicyName="queue",
        **TARGET,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5,
            "CustomizedMetricSpecification": {
                "MetricName": "QueueDepth",
                "Namespace": "Team/App",
                "Statistic": "Average",
                "Dimensions": [{"Name": "Model", "Value": "llm"}],
            },
        },
    )
    (high, low) = sorted(
        cw.describe_alarms(AlarmNames=[a["AlarmName"] for a in custom["Alarms"]])["MetricAlarms"],
        key=lambda a: a["AlarmName"],
    )
    for alarm in (high, low):
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
            "Team/App",
            "QueueDepth",
            "Average",
        )
        assert alarm["Dimensions"] == [{"Name": "Model", "Value": "llm"}]
    policies = aas.describe_scaling_policies(
        ServiceNamespace="sagemaker", PolicyNames=["from-zero"]
    )
    (described,) = policies["ScalingPolicies"]
    assert described["StepScalingPolicyConfiguration"] == step_out()
    assert described["Alarms"] == []
    page = aas.describe_scaling_policies(ServiceNamespace="sagemaker", MaxResults=1)
    assert len(page["ScalingPolicies"]) == 1
    rest = aas.describe_scaling_policies(ServiceNamespace="sagemaker", NextToken=page["NextToken"])
    assert [p["PolicyName"] for p in page["ScalingPolicies"] + rest["ScalingPolicies"]] == [
        "from-zero",
        "queue",
    ]
    assert fails(aas.describe_scaling_policies, ServiceNamespace="sagemaker", NextToken="x!")[
        :1
    ] == ("InvalidNextTokenException",)
    # deregistering the target deletes its policies and their alarms
    aas.deregister_scalable_target(**TARGET)
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert cw.describe_alarms()["MetricAlarms"] == []


def test_scheduled_actions_are_stored_described_and_deleted(
    aas: Any, sm: Any, endpoint: str
) -> None:
    create_ic(sm)
    register(aas)
    aas.put_scheduled_action(
        **TARGET,
        ScheduledActionName="business-hours",
        Schedule="cron(0 8 ? * MON-FRI *)",
        Timezone="Europe/Berlin",
        ScalableTargetAction={"MinCapacity": 2, "MaxCapacity": 4},
    )
    (action,) = aas.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"]
    assert action["ScheduledActionName"] == "business-hours"
    assert action["Schedule"] == "cron(0 8 ? * MON-FRI *)"
    assert action["Timezone"] == "Europe/Berlin"
    assert action["ScalableTargetAction"] == {"MinCapacity": 2, "MaxCapacity": 4}
    assert ":scheduledAction:" in action["ScheduledActionARN"]
    assert action["ScheduledActionARN"].endswith(
        f":resource/sagemaker/{RID}:scheduledActionName/business-hours"
    )
    assert fails(
        aas.put_scheduled_action,
        **TARGET,
        ScheduledActionName="bad",
        Schedule="every day",
    )[1].startswith("Invalid schedule expression every day")
    aas.delete_scheduled_action(**TARGET, ScheduledActionName="business-hours")
    assert aas.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"] == []
    assert fails(aas.delete_scheduled_action, **TARGET, ScheduledActionName="business-hours")[
        0
    ] == ("ObjectNotFoundException")


def test_calls_are_recorded_with_their_service(aas: Any, cw: Any, admin: Any) -> None:
    aas.describe_scalable_targets(ServiceNamespace="sagemaker")
    cw.describe_alarms()
    assert [(c["service"], c["operation"]) for c in admin.calls()] == [
        ("AnyScaleFrontendService", "DescribeScalableTargets"),
        ("GraniteServiceVersion20100801", "DescribeAlarms"),
    ]


def test_the_shared_listings_page_as_aws_does(aas: Any, sm: Any, endpoint: str) -> None:
    """What the operator's shared rounds send: targets by ResourceIds (at most 50 a
    call), and the namespace's policies and scheduled actions in pages."""
    names = [f"ic-{i}" for i in range(3)]
    for name in names:
        create_ic(sm, name)
        key = {**TARGET, "ResourceId": f"inference-component/{name}"}
        aas.register_scalable_target(**key, MinCapacity=1, MaxCapacity=2)
        aas.put_scaling_policy(
            PolicyName="p", **key, PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=tracking(),
        )  # fmt: skip
        aas.put_scheduled_action(
            ScheduledActionName="s", **key, Schedule="cron(0 8 * * ? *)",
            ScalableTargetAction={"MinCapacity": 1},
        )  # fmt: skip
    ids = [f"inference-component/{n}" for n in names[:2]] + ["inference-component/none"]
    page = aas.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=ids, ScalableDimension=DIM, MaxResults=1
    )
    assert [t["ResourceId"] for t in page["ScalableTargets"]] == ids[:1]
    rest = aas.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=ids, ScalableDimension=DIM,
        MaxResults=1, NextToken=page["NextToken"],
    )  # fmt: skip
    assert [t["ResourceId"] for t in rest["ScalableTargets"]] == ids[1:2]
    assert "NextToken" not in rest
    code, message, _ = fails(
        aas.describe_scalable_targets,
        ServiceNamespace="sagemaker",
        ResourceIds=[f"inference-component/x{i}" for i in range(51)],
    )
    assert code == "ValidationException"
    assert "Member must have length less than or equal to 50" in message
    for operation, member in (
        (aas.describe_scaling_policies, "ScalingPolicies"),
        (aas.describe_scheduled_actions, "ScheduledActions"),
    ):
        first = operation(ServiceNamespace="sagemaker", MaxResults=2)
        second = operation(ServiceNamespace="sagemaker", MaxResults=2, NextToken=first["NextToken"])
        listed = [i["ResourceId"] for i in first[member] + second[member]]
        assert sorted(listed) == [f"inference-component/{n}" for n in names]
        assert "NextToken" not in second
