"""The clients' timestamp parser: the instant botocore's own gives, for a third of the
time a listing page takes (aws/botocore_model.py, epoch_timestamp)."""

from __future__ import annotations

import datetime
import json

import botocore.session
import botocore.utils

from ic_operator.aws.botocore_model import default_service_client_factory, epoch_timestamp
from ic_operator.aws.operations import SAGEMAKER


def test_epoch_timestamps_parse_to_the_same_instant_in_utc() -> None:
    for value in (1_765_000_000, 1_765_000_000.123):
        parsed = epoch_timestamp(value)
        assert parsed.tzinfo is datetime.UTC
        assert parsed == botocore.utils.parse_timestamp(value)
    iso = "2026-12-07T20:00:00.5+01:00"
    assert epoch_timestamp(iso) == botocore.utils.parse_timestamp(iso)


def test_the_clients_parse_timestamps_with_it() -> None:
    session = botocore.session.get_session()
    default_service_client_factory(SAGEMAKER, "us-east-1", session=session)
    operation = session.get_service_model(SAGEMAKER).operation_model("ListInferenceComponents")
    body = {"InferenceComponents": [{"InferenceComponentName": "a", "CreationTime": 1.5}]}
    parser = session.get_component("response_parser_factory").create_parser("json")
    response = {"body": json.dumps(body).encode(), "headers": {}, "status_code": 200}
    parsed = parser.parse(response, operation.output_shape)
    assert parsed["InferenceComponents"][0]["CreationTime"].tzinfo is datetime.UTC
