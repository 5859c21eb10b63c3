"""The query protocol, checked with botocore's own query serializer and parser.

botocore picks JSON 1.0 for CloudWatch, so the test gives a real botocore client a copy of
the CloudWatch model that lists only `query`: everything else (signing, serialising,
parsing, the error factory) is botocore's, the same code boto3 and the AWS CLI use for STS,
which they send only query to.
"""

from __future__ import annotations

import datetime
import gzip
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.emulator.helpers import error_of
from tests.emulator.test_cloudwatch import NO_CAPACITY_ALARM
from tests.fixtures.emulator import Admin, RunningEmulator


def cloudwatch_speaking(protocol: str, emulator: RunningEmulator, tmp_path: Path) -> Any:
    """A botocore CloudWatch client whose model offers only `protocol`."""
    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    model = loader.load_service_model("cloudwatch", "service-2")
    model["metadata"]["protocol"] = protocol
    model["metadata"]["protocols"] = [protocol]
    version = model["metadata"]["apiVersion"]
    target = tmp_path / "cloudwatch" / version
    target.mkdir(parents=True)
    (target / "service-2.json").write_text(json.dumps(model))
    rules = loader.load_service_model("cloudwatch", "endpoint-rule-set-1")
    (target / "endpoint-rule-set-1.json.gz").write_bytes(gzip.compress(json.dumps(rules).encode()))
    fresh = botocore.session.get_session()
    fresh.get_component("data_loader").search_paths.insert(0, str(tmp_path))
    client = fresh.create_client(
        "cloudwatch",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        **emulator.credentials.client_kwargs(),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    assert client.meta.service_model.resolved_protocol == protocol
    return client


def test_botocore_over_the_query_protocol(
    fast_emulator: RunningEmulator, admin: Admin, tmp_path: Path
) -> None:
    client = cloudwatch_speaking("query", fast_emulator, tmp_path)
    before = datetime.datetime.now(datetime.UTC)
    client.put_metric_alarm(**NO_CAPACITY_ALARM)
    (alarm,) = client.describe_alarms(AlarmNames=["ic-no-capacity"])["MetricAlarms"]
    assert alarm["Threshold"] == 1.0
    assert alarm["Dimensions"] == NO_CAPACITY_ALARM["Dimensions"]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert isinstance(alarm["AlarmConfigurationUpdatedTimestamp"], datetime.datetime)
    assert alarm["AlarmConfigurationUpdatedTimestamp"] >= before - datetime.timedelta(seconds=1)
    (call,) = admin.calls("PutMetricAlarm")
    assert call["request"]["Period"] == 30
    with pytest.raises(ClientError) as exc:
        client.set_alarm_state(AlarmName="absent", StateValue="OK", StateReason="x")
    assert error_of(exc) == ("ResourceNotFound", "Alarm absent does not exist.", 404)
    with pytest.raises(ClientError) as bad:
        client.put_metric_alarm(**{**NO_CAPACITY_ALARM, "Period": 45})
    assert error_of(bad)[0] == "InvalidParameterValue"


# The wire protocol each client resolves per service: the emulator serves AWS JSON for the
# first three, and query for what will need it (STS). A botocore that starts choosing
# smithy-rpc-v2-cbor for CloudWatch (its model lists it first) fails here.
RESOLVED = {
    "sagemaker": "json",
    "application-autoscaling": "json",
    "cloudwatch": "json",
    "sts": "query",
}


def test_what_boto3_sends() -> None:
    session = botocore.session.get_session()
    assert {name: session.get_service_model(name).resolved_protocol for name in RESOLVED} == (
        RESOLVED
    )
