"""Throttling scoped to one account (issue 20, "Per account and region"): half of one
account's calls get SageMaker's ThrottlingException while another account's calls and the
same account's in a region left out go through, as SageMaker's quotas are per account and
region. The isolation the operator builds on this is proved in
tests/e2e/test_account_isolation.py."""

from __future__ import annotations

import urllib.error
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.conftest import NO_RETRIES
from tests.emulator.test_accounts_regions import TEAM_ACCOUNT, _client, team  # noqa: F401
from tests.fixtures.emulator import ACCOUNT_ID, REGION, Admin, RunningEmulator

CALLS = 40


def _outcomes(client: Any) -> list[tuple[str, int, str] | None]:
    """For each of CALLS listings: None when accepted, else (code, HTTP status, message)."""
    got: list[tuple[str, int, str] | None] = []
    for _ in range(CALLS):
        try:
            client.list_inference_components()
            got.append(None)
        except ClientError as exc:
            error = exc.response["Error"]
            status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
            got.append((error["Code"], status, error["Message"]))
    return got


def test_half_of_one_accounts_calls_are_throttled_and_no_other_accounts(
    fast_emulator: RunningEmulator,
    team: dict[str, Any],  # noqa: F811  (the shared fixture)
    admin: Admin,
) -> None:
    set_to = admin.set_faults(account=TEAM_ACCOUNT, region="*", throttle_rate=0.5, seed=7)
    assert set_to["throttle_rate"] == 0.5
    admin.clear_calls()
    for region in (REGION, "eu-west-1"):
        outcomes = _outcomes(_client(fast_emulator, team, region))
        throttled = [o for o in outcomes if o is not None]
        # Seeded dice: some of each, near half, and the error as SageMaker returns it.
        assert 0 < len(throttled) < CALLS
        assert set(throttled) == {("ThrottlingException", 400, "Rate exceeded")}
    assert _outcomes(fast_emulator.client(config=NO_RETRIES)) == [None] * CALLS
    # The call log says whose calls were throttled: the team's, never the primary's.
    log = admin.calls("ListInferenceComponents")
    assert {c["account"] for c in log if c["error"] == "ThrottlingException"} == {TEAM_ACCOUNT}
    assert all(c["error"] is None for c in log if c["account"] == ACCOUNT_ID)
    assert admin.faults(account=TEAM_ACCOUNT, region="eu-west-1")["throttle_rate"] == 0.5
    assert admin.faults()["throttle_rate"] == 0


def test_region_star_scopes_only_served_regions(admin: Admin) -> None:
    """`*` is every region served now; a named region must be served."""
    with pytest.raises(urllib.error.HTTPError) as caught:
        admin.set_faults(account=TEAM_ACCOUNT, region="ap-south-1", throttle_rate=0.5)
    assert caught.value.code == 400
    admin.set_faults(account=TEAM_ACCOUNT, region="*", throttle_rate=0.5)
    assert admin.faults(account=TEAM_ACCOUNT)["throttle_rate"] == 0.5
    assert admin.faults()["throttle_rate"] == 0
