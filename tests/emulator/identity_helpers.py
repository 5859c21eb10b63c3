"""Clients signed with credentials the emulator issued, and the verification switch."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
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
def switched_on(emulator: RunningEmulator, switch: str) -> Iterator[None]:
    """An identity switch (`verify`: signatures verified; `authorize`: identity policies
    enforced) on inside the block, with no credential, role, policy or service-linked role
    from before it (the harness's own credentials too are gone inside); after it the switch
    as the other tests expect (authorize off, verify on) and the harness's credentials back."""
    emulator.admin.request("DELETE", "identity")
    emulator.admin.request("PUT", "identity", {switch: True})
    try:
        yield
    finally:
        emulator.admin.request("PUT", "identity", {switch: False})
        _restore(emulator)


# botocore refreshes credentials this long before they expire (its advisory window,
# botocore.credentials._DEFAULT_ADVISORY_REFRESH_TIMEOUT): a session issued for this plus N
# seconds is refreshed N seconds after it was issued, once, and not on every call.
ADVISORY_REFRESH_SECONDS = 15 * 60


def sessions_during_steady_calls(
    emulator: RunningEmulator, client: Any, seconds: float, every: float = 0.1
) -> list[tuple[float, str]]:
    """Call ListEndpoints steadily for `seconds` (a workload, so paced, not polled); return
    (when, access key id) for the first call signed with each new credential, as sent on the
    wire (botocore's `before-send` event). The emulator, verifying every signature, must
    have accepted every call."""
    keys: list[str] = []

    def record(request: Any, **_: Any) -> None:
        keys.append(request.headers["Authorization"].decode().split("Credential=")[1][:20])

    client.meta.events.register("before-send.sagemaker.ListEndpoints", record)
    before = len(emulator.admin.calls())
    start = time.monotonic()
    times: list[float] = []
    while time.monotonic() - start < seconds:
        client.list_endpoints()
        times.append(time.monotonic() - start)
        time.sleep(every)
    calls = [c for c in emulator.admin.calls()[before:] if c["operation"] == "ListEndpoints"]
    assert len(calls) == len(times) == len(keys), (calls, keys)
    assert all(c["error"] is None for c in calls), calls
    return [(times[i], keys[i]) for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1]]


def sdk_environment(monkeypatch: Any, tmp_path: Any, endpoint_url: str) -> None:
    """An SDK environment with no credentials of its own (no keys, profile, config files or
    instance metadata) and every service at `endpoint_url`: the credential source a test
    then sets is the only one."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)


def assert_refreshed_without_burst(
    fetches: list[dict[str, Any]], sessions: list[tuple[float, str]], lifetime: float
) -> None:
    """The credential fetches in the emulator's log (STS exchanges or the agent's answers)
    against the sessions seen on the wire: every fetch answered; refreshes seen; each
    session fetched once (one more fetch is allowed: credentials a provider loaded at
    client creation may reach the advisory window before the first call); consecutive
    fetches at least most of `lifetime` apart (`at` is wall-clock time), never a burst."""
    assert all(c["error"] is None for c in fetches), fetches
    assert len(sessions) >= 3, sessions
    assert len(sessions) <= len(fetches) <= len(sessions) + 1, (fetches, sessions)
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(fetches)]
    assert all(gap >= 0.75 * lifetime for gap in gaps), gaps


def verification(emulator: RunningEmulator) -> AbstractContextManager[None]:
    return switched_on(emulator, "verify")


def authorization(emulator: RunningEmulator) -> AbstractContextManager[None]:
    return switched_on(emulator, "authorize")


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
