"""Clients signed with credentials the emulator issued, and the verification switch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.fixtures.emulator import REGION, RunningEmulator

ONE_ATTEMPT = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def issue(emulator: RunningEmulator, **request: Any) -> dict[str, Any]:
    """New credentials from the admin API: `user=NAME`, or `role=NAME` (session ones)."""
    issued: dict[str, Any] = emulator.admin.request("POST", "access-keys", request)
    return issued


def signed_client(
    emulator: RunningEmulator, service: str, credentials: dict[str, Any], **overrides: Any
) -> Any:
    """A boto3 client that signs with `credentials` (an admin or STS answer)."""
    settings = {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials.get("SessionToken"),
        "region_name": REGION,
        "config": ONE_ATTEMPT,
        **overrides,
    }
    return boto3.client(service, endpoint_url=emulator.url, **settings)


def refused(call: Any, *args: Any, **params: Any) -> tuple[str, int, str]:
    """A call that must fail: its error code, HTTP status and message."""
    with pytest.raises(ClientError) as caught:
        call(*args, **params)
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


@contextmanager
def switched_on(emulator: RunningEmulator, switch: str) -> Iterator[None]:
    """An identity switch (`verify`: signatures verified; `authorize`: identity policies
    enforced) on inside the block, with no credential, role, policy or service-linked role
    from before it; off again after it, as the other tests expect."""
    emulator.admin.request("DELETE", "identity")
    emulator.admin.request("PUT", "identity", {switch: True})
    try:
        yield
    finally:
        emulator.admin.request("PUT", "identity", {switch: False})


def verification(emulator: RunningEmulator) -> AbstractContextManager[None]:
    return switched_on(emulator, "verify")


def authorization(emulator: RunningEmulator) -> AbstractContextManager[None]:
    return switched_on(emulator, "authorize")
