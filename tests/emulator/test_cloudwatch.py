"""CloudWatch alarms over boto3 (AWS JSON 1.0, as botocore sends it) and on the wire."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import error_of
from tests.emulator.identity_helpers import sign
from tests.fixtures.emulator import Admin, RunningEmulator

NO_CAPACITY_ALARM: dict[str, Any] = {
    "AlarmName": "ic-no-capacity",
    "MetricName": "NoCapacityInvocationFailures",
    "Namespace": "AWS/SageMaker",
    "Statistic": "Maximum",
    "Dimensions": [{"Name": "InferenceComponentName", "Value": "ic"}],
    "Period": 30,
    "EvaluationPeriods": 1,
    "DatapointsToAlarm": 1,
    "Threshold": 1.0,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "TreatMissingData": "missing",
    "AlarmActions": ["arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x"],
}


def test_put_describe_and_delete(cw: Any) -> None:
    cw.put_metric_alarm(**NO_CAPACITY_ALARM, Tags=[{"Key": "team", "Value": "ml"}])
    (alarm,) = cw.describe_alarms(AlarmNames=["ic-no-capacity"])["MetricAlarms"]
    assert alarm["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ic-no-capacity"
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["ActionsEnabled"] is True
    for key, value in NO_CAPACITY_ALARM.items():
        assert alarm[key] == value, key
    assert "Tags" not in alarm
    # put again replaces the definition
    cw.put_metric_alarm(**{**NO_CAPACITY_ALARM, "Threshold": 2.0})
    assert cw.describe_alarms()["MetricAlarms"][0]["Threshold"] == 2.0
    cw.delete_alarms(AlarmNames=["ic-no-capacity", "never-existed"])
    assert cw.describe_alarms()["MetricAlarms"] == []


def test_alarm_tags(cw: Any) -> None:
    cw.put_metric_alarm(**NO_CAPACITY_ALARM, Tags=[{"Key": "team", "Value": "ml"}])
    arn = cw.describe_alarms()["MetricAlarms"][0]["AlarmArn"]
    # tags on an update are ignored (doc); TagResource adds them
    cw.put_metric_alarm(**NO_CAPACITY_ALARM, Tags=[{"Key": "ignored", "Value": "x"}])
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "owner", "Value": "uid-1"}])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "ml"},
        {"Key": "owner", "Value": "uid-1"},
    ]
    cw.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "owner", "Value": "uid-1"}
    ]
    with pytest.raises(ClientError) as exc:
        cw.list_tags_for_resource(ResourceARN=arn + "x")
    assert error_of(exc)[::2] == ("ResourceNotFoundException", 404)


def test_filters_and_paging(cw: Any) -> None:
    for name in ("b-1", "a-1", "a-2"):
        cw.put_metric_alarm(**{**NO_CAPACITY_ALARM, "AlarmName": name})
    first = cw.describe_alarms(MaxRecords=2)
    assert [a["AlarmName"] for a in first["MetricAlarms"]] == ["a-1", "a-2"]
    rest = cw.describe_alarms(MaxRecords=2, NextToken=first["NextToken"])
    assert [a["AlarmName"] for a in rest["MetricAlarms"]] == ["b-1"]
    assert "NextToken" not in rest
    assert [a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix="a-")["MetricAlarms"]] == [
        "a-1",
        "a-2",
    ]
    prefix = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy"
    assert len(cw.describe_alarms(ActionPrefix=prefix)["MetricAlarms"]) == 3
    assert cw.describe_alarms(StateValue="ALARM")["MetricAlarms"] == []
    assert cw.describe_alarms(AlarmTypes=["CompositeAlarm"])["MetricAlarms"] == []


def test_set_alarm_state_and_the_admin_api_share_one_state(cw: Any, admin: Admin) -> None:
    cw.put_metric_alarm(**{**NO_CAPACITY_ALARM, "Dimensions": []})
    cw.set_alarm_state(AlarmName="ic-no-capacity", StateValue="ALARM", StateReason="testing")
    assert admin.alarms() == {"ic-no-capacity": "ALARM"}
    (alarm,) = cw.describe_alarms(StateValue="ALARM")["MetricAlarms"]
    assert alarm["StateReason"] == "testing"
    admin.set_alarm("ic-no-capacity", "OK")
    assert cw.describe_alarms()["MetricAlarms"][0]["StateValue"] == "OK"
    with pytest.raises(ClientError) as exc:
        cw.set_alarm_state(AlarmName="absent", StateValue="OK", StateReason="x")
    assert error_of(exc) == ("ResourceNotFound", "Alarm absent does not exist.", 404)


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (
            {"EvaluationPeriods": None},
            "MissingParameter",
            "The parameter EvaluationPeriods is required.",
        ),
        (
            {"Period": 45},
            "InvalidParameterValue",
            "The parameter Period must be 10, 20, 30 or a multiple of 60.",
        ),
        (
            {"ExtendedStatistic": "p99"},
            "InvalidParameterCombination",
            "Exactly one of the parameters Statistic and ExtendedStatistic must be specified.",
        ),
        (
            {"DatapointsToAlarm": 2},
            "InvalidParameterValue",
            "DatapointsToAlarm must be less than or equal to EvaluationPeriods.",
        ),
        (
            {"ComparisonOperator": "Above"},
            "ValidationError",
            "1 validation error detected: Value 'Above' at 'comparisonOperator' failed to "
            "satisfy constraint: Member must satisfy enum value set: [GreaterThanOrEqualTo"
            "Threshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold, "
            "LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold, "
            "GreaterThanUpperThreshold]",
        ),
    ],
)
def test_put_errors(cw: Any, change: dict[str, Any], code: str, message: str) -> None:
    request = {k: v for k, v in {**NO_CAPACITY_ALARM, **change}.items() if v is not None}
    with pytest.raises(ClientError) as exc:
        cw.put_metric_alarm(**request)
    assert error_of(exc) == (code, message, 400)


def post(
    emulator: RunningEmulator, target: str, body: dict[str, Any]
) -> tuple[int, dict[str, str], Any]:
    """A raw request, signed by the test's credentials (the emulator verifies signatures)."""
    data = json.dumps(body).encode()
    headers = {
        "X-Amz-Target": target,
        "Content-Type": "application/x-amz-json-1.0",
        "x-amzn-query-mode": "true",
    }
    headers = sign(emulator, "monitoring", emulator.url, data, headers)
    req = urllib.request.Request(emulator.url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def test_wire_format(fast_emulator: RunningEmulator, cw: Any) -> None:
    """JSON 1.0 replies; errors carry the query code in x-amzn-query-error (what botocore reads)."""
    status, headers, body = post(fast_emulator, "GraniteServiceVersion20100801.DescribeAlarms", {})
    assert status == 200
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert body == {"MetricAlarms": [], "CompositeAlarms": []}
    status, headers, body = post(
        fast_emulator,
        "GraniteServiceVersion20100801.SetAlarmState",
        {"AlarmName": "absent", "StateValue": "OK", "StateReason": "x"},
    )
    assert status == 404
    assert headers["x-amzn-query-error"] == "ResourceNotFound;Sender"
    assert body["__type"] == "com.amazonaws.cloudwatch#ResourceNotFound"


def test_injected_faults_speak_cloudwatch(cw: Any, aas: Any, admin: Admin) -> None:
    admin.set_faults(throttle_rate=1.0, operations=["DescribeAlarms", "DescribeScalableTargets"])
    with pytest.raises(ClientError) as throttled:
        cw.describe_alarms()
    assert error_of(throttled) == ("Throttling", "Rate exceeded", 400)
    with pytest.raises(ClientError) as aas_throttled:
        aas.describe_scalable_targets(ServiceNamespace="sagemaker")
    assert error_of(aas_throttled)[0] == "ThrottlingException"
    admin.set_faults(server_error_rate=1.0, server_error_code="InternalFailure")
    with pytest.raises(ClientError) as failed:
        cw.delete_alarms(AlarmNames=["x"])
    assert error_of(failed)[::2] == ("InternalServiceError", 500)


def test_alarms_by_prefix_in_pages_of_at_most_100(cw: Any) -> None:
    """The operator reads its alarms by name prefix, 100 a page (botocore's maximum)."""
    for i in range(3):
        cw.put_metric_alarm(**{**NO_CAPACITY_ALARM, "AlarmName": f"sagemaker-ic-operator-{i}"})
    cw.put_metric_alarm(**{**NO_CAPACITY_ALARM, "AlarmName": "someone-else"})
    first = cw.describe_alarms(AlarmNamePrefix="sagemaker-ic-operator-", MaxRecords=2)
    rest = cw.describe_alarms(
        AlarmNamePrefix="sagemaker-ic-operator-", MaxRecords=2, NextToken=first["NextToken"]
    )
    names = [a["AlarmName"] for a in first["MetricAlarms"] + rest["MetricAlarms"]]
    assert names == [f"sagemaker-ic-operator-{i}" for i in range(3)]
    assert "NextToken" not in rest
    with pytest.raises(ClientError) as exc:
        cw.describe_alarms(AlarmNamePrefix="sagemaker-ic-operator-", MaxRecords=101)
    assert exc.value.response["Error"]["Code"] == "ValidationError"
