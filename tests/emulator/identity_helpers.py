"""Clients signed with credentials the emulator issued, and the verification switch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

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


def sign(
    emulator: RunningEmulator, service: str, url: str, body: bytes, headers: dict[str, str]
) -> dict[str, str]:
    """``headers`` with a SigV4 signature by the test's own credentials (botocore's signer),
    for the raw-HTTP tests of the wire protocol: the emulator verifies every request."""
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    own = emulator.credentials
    credentials = Credentials(own.access_key_id, own.secret_access_key, own.session_token)
    SigV4Auth(credentials, service, REGION).add_auth(request)
    return dict(request.headers.items())


@contextmanager
def verification(emulator: RunningEmulator) -> Iterator[None]:
    """Signatures verified inside the block, with no credential or role issued before it;
    the harness's own credentials (and verification) restored after it for the other tests."""
    emulator.admin.request("DELETE", "identity")
    emulator.admin.request("PUT", "identity", {"verify": True})
    try:
        yield
    finally:
        _restore(emulator)


@contextmanager
def any_credentials(emulator: RunningEmulator) -> Iterator[None]:
    """The "any credentials" mode inside the block (the admin switch), verification after."""
    emulator.admin.request("PUT", "identity", {"verify": False})
    try:
        yield
    finally:
        _restore(emulator)


def _restore(emulator: RunningEmulator) -> None:
    assert emulator.identity is not None, "the tests' emulators verify signatures"
    emulator.identity.restore()
