"""CloudWatch's other protocols: smithy RPC v2 CBOR and query, checked with botocore's own.

botocore picks JSON 1.0 for CloudWatch, so the tests give a real botocore client a copy of
the CloudWatch model that lists only `smithy-rpc-v2-cbor` (or only `query`): everything else
(signing, serialising, parsing, the error factory) is botocore's.
"""

from __future__ import annotations

import datetime
import gzip
import json
import urllib.request
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import RpcV2CBORParser
from hypothesis import given, settings
from hypothesis import strategies as st

from ic_sandbox.emulator import cbor
from tests.emulator.helpers import error_of
from tests.emulator.test_cloudwatch import NO_CAPACITY_ALARM
from tests.fixtures.emulator import Admin, RunningEmulator


def cloudwatch_speaking(protocol: str, url: str, tmp_path: Path) -> Any:
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
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    assert client.meta.service_model.resolved_protocol == protocol
    return client


@pytest.mark.parametrize("protocol", ["smithy-rpc-v2-cbor", "query"])
def test_botocore_over_other_protocols(
    protocol: str, fast_emulator: RunningEmulator, admin: Admin, tmp_path: Path
) -> None:
    client = cloudwatch_speaking(protocol, fast_emulator.url, tmp_path)
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


def test_wire_details(fast_emulator: RunningEmulator, admin: Admin) -> None:
    req = urllib.request.Request(
        f"{fast_emulator.url}/service/GraniteServiceVersion20100801/operation/DescribeAlarms",
        data=cbor.dumps({"MaxRecords": 5}),
        method="POST",
        headers={"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.headers["smithy-protocol"] == "rpc-v2-cbor"
        assert resp.headers["Content-Type"] == "application/cbor"
        assert cbor.loads(resp.read()) == {"MetricAlarms": [], "CompositeAlarms": []}


@pytest.mark.parametrize(
    "value",
    [0, 23, 24, 255, 256, 65536, 2**32, -1, -500, 1.5, "", "ü", b"\x00", [], [1, [2]], {"a": None}],
)
def test_codec_round_trip(value: Any) -> None:
    assert cbor.loads(cbor.dumps(value)) == value


def test_indefinite_lengths_decode() -> None:
    # [_ 1, 2] and {_ "a": 1} and (_ "ab" "c") from RFC 8949 appendix A
    assert cbor.loads(bytes.fromhex("9f0102ff")) == [1, 2]
    assert cbor.loads(bytes.fromhex("bf616101ff")) == {"a": 1}
    assert cbor.loads(bytes.fromhex("7f62616261 63ff".replace(" ", ""))) == "abc"
    assert cbor.loads(bytes.fromhex("f93c00")) == 1.0
    with pytest.raises(cbor.CborError):
        cbor.loads(bytes.fromhex("82 01".replace(" ", "")))


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.binary(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(JSONISH)
def test_botocore_reads_what_the_codec_writes(value: Any) -> None:
    parser = RpcV2CBORParser()
    stream = parser.get_peekable_stream_from_bytes(cbor.dumps(value))
    # botocore drops null members of maps (smithy: null means absent)
    assert parser.parse_data_item(stream) == _without_null_members(value)
    assert cbor.loads(cbor.dumps(value)) == value


def _without_null_members(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_null_members(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_null_members(v) for v in value]
    return value
