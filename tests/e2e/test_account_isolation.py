"""A throttled account slows no other (issue 20, "Per account and region"), end to end:
the real API server, the real operator process and the emulator with signatures verified,
two namespaces mapped to two accounts (tests/e2e/test_accounts.py's `teams`).

Team a's account throttles half of its calls (SageMaker's ThrottlingException) while
team b edits its components. The proof is structural, never a timing: every one of b's
edits reaches SageMaker as an UpdateInferenceComponent in b's account, by b's role, none
of b's calls is throttled, and b's updates land in the call log *between* throttled calls
of a's (so they went out while a was still backing off, not after it). a makes a bounded
number of calls while throttled (no hot loop) and converges once the fault is cleared.
The edit latency this buys is measured by the benchmark (`python -m bench --accounts 2
--throttle-account`, bench/README.md), not asserted here."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_accounts import Teams, teams  # noqa: F401  (the shared fixture)
from tests.fixtures.emulator import wait_for

pytestmark = pytest.mark.e2e

COMPONENTS = 3
# botocore's 4 attempts per pass and the operator's backoff between passes: a component
# converging through 50 % throttling makes a handful of writes; a hot loop, hundreds.
MAX_WRITES_WHILE_THROTTLED = 16


def _names(prefix: str) -> list[str]:
    return [f"{prefix}-{i}" for i in range(COMPONENTS)]


def _index(log: list[dict[str, Any]], account: str, **match: Any) -> list[int]:
    """Positions in the call log of `account`'s calls matching every `match` item."""
    return [
        i
        for i, c in enumerate(log)
        if c["account"] == account and all(c.get(k) == v for k, v in match.items())
    ]


def test_a_throttled_account_does_not_hold_back_anothers_edits(
    teams: Teams,  # noqa: F811
) -> None:
    a, b = teams.a, teams.b
    admin = teams.emulator.admin
    for team, prefix in ((a, "a"), (b, "b")):
        for name in _names(prefix):
            teams.apply(team.namespace, name)
    for team, prefix in ((a, "a"), (b, "b")):
        for name in _names(prefix):
            teams.wait_reason(team.namespace, name, "Ready", "True", "InSync")

    admin.set_faults(account=a.account, region=a.region, throttle_rate=0.5, seed=20)
    admin.clear_calls()
    for name in _names("a"):  # a's edits: throttled half of the time
        teams.apply(a.namespace, name, runtimeConfig={"copyCount": 2})
    wait_for(
        lambda: _index(admin.calls(), a.account, error="ThrottlingException"),
        timeout=60,
        what="a throttled call of team a's",
    )
    environment = {"TEAM_B_EDIT": "1"}
    for name in _names("b"):  # b's edits, while a backs off
        spec = teams.get(b.namespace, name)["spec"]["specification"]
        spec["container"]["environment"] = environment
        teams.apply(b.namespace, name, specification=spec)

    def b_updates() -> list[dict[str, Any]] | None:
        got = [
            c
            for c in admin.calls("UpdateInferenceComponent")
            if c["account"] == b.account and c["error"] is None
        ]
        names = sorted(c["request"]["InferenceComponentName"] for c in got)
        return got if names == _names("b") else None

    updates = wait_for(b_updates, timeout=120, what="each of team b's edits sent")
    for update in updates:
        assert update["region"] == b.region
        assert update["principal"]["arn"].startswith(
            f"arn:aws:sts::{b.account}:assumed-role/ic-operator-b/"
        )
        assert update["request"]["Specification"]["Container"]["Environment"] == environment
    for name in _names("b"):
        teams.wait_reason(b.namespace, name, "Ready", "True", "InSync")

    # a is still being throttled after b's last update: b did not wait for a's backoff.
    def throttled_after_b() -> list[dict[str, Any]] | None:
        log = admin.calls()
        last_b = max(_index(log, b.account, operation="UpdateInferenceComponent"))
        later = _index(log, a.account, error="ThrottlingException")
        return log if any(i > last_b for i in later) else None

    log = wait_for(throttled_after_b, timeout=60, what="a throttled call of a's after b's edits")
    b_calls = [c for c in log if c["account"] == b.account]
    assert b_calls and all(c["error"] is None for c in b_calls)  # nothing of b's throttled
    first_a_throttle = min(_index(log, a.account, error="ThrottlingException"))
    assert min(_index(log, b.account, operation="UpdateInferenceComponent")) > first_a_throttle

    # No hot loop while throttled: a handful of writes per component of a's.
    writes = [
        c
        for c in log
        if c["account"] == a.account and c["operation"] == "UpdateInferenceComponentRuntimeConfig"
    ]
    per_component = {
        name: sum(c["request"]["InferenceComponentName"] == name for c in writes)
        for name in _names("a")
    }
    assert all(n <= MAX_WRITES_WHILE_THROTTLED for n in per_component.values()), per_component

    # Cleared: a converges, each copy count applied once in a's account.
    admin.set_faults(account=a.account, region=a.region)
    for name in _names("a"):
        wait_for(
            lambda name=name: (
                teams.clients["a"].describe_inference_component(InferenceComponentName=name)[
                    "RuntimeConfig"
                ]["DesiredCopyCount"]
                == 2
            ),
            timeout=120,
            what=f"{name}'s copy count in team a's account",
        )
        teams.wait_reason(a.namespace, name, "Ready", "True", "InSync")
    accepted = [
        c["request"]["InferenceComponentName"]
        for c in admin.calls("UpdateInferenceComponentRuntimeConfig")
        if c["error"] is None
    ]
    assert sorted(accepted) == _names("a")
