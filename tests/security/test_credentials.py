"""What users meet when AWS refuses the operator, through the emulator's identity layer.

The operator signs as its own session of the role ic-operator (tests/fixtures/operator.py);
the test revokes that key or denies an action through the emulator's admin API, and reads
what a user reads: the Degraded condition, the operator's log, and the call log (no retry
storm, nothing deleted). A denied action is the emulator's fault injection
(`denied_operations`, docs/faults.md) until IAM policies are evaluated.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.operator import OperatorTestbed

pytestmark = [pytest.mark.e2e, pytest.mark.controlplane]

RETRY = "sagemaker.ic-operator.io/retry"


def operator_arn(world: OperatorTestbed) -> str:
    return f"arn:aws:sts::{world.emulator.account_id}:assumed-role/ic-operator/{world.namespace}"


def degraded(world: OperatorTestbed, name: str, reason: str) -> str:
    obj = world.wait_condition(name, "Degraded", "True", reason=reason)
    return next(c["message"] for c in obj["status"]["conditions"] if c["type"] == "Degraded")


def operator_calls(world: OperatorTestbed) -> list[dict[str, Any]]:
    arn = operator_arn(world)
    return [c for c in world.emulator.admin.calls() if (c["principal"] or {}).get("arn") == arn]


def test_the_operator_says_once_at_start_who_it_is(world: OperatorTestbed) -> None:
    line = f"running as {operator_arn(world)} (account {world.emulator.account_id})"
    assert world.operator.logs().count(line) == 1
    (asked,) = [c for c in operator_calls(world) if c["operation"] == "GetCallerIdentity"]
    assert asked["error"] is None


def test_a_revoked_key_is_reported_retried_slowly_and_deletes_nothing(
    world: OperatorTestbed,
) -> None:
    world.apply(world.manifest("llm", copies=1))
    world.wait_settled("llm")
    key = world.operator.env["AWS_ACCESS_KEY_ID"]
    identity = world.emulator.identity
    assert identity is not None
    (issued,) = [a for a in identity.issued if a["AccessKeyId"] == key]
    world.emulator.admin.request("DELETE", f"access-keys/{key}")

    world.patch("llm", {"spec": {"runtimeConfig": {"copyCount": 2}}})
    message = degraded(world, "llm", "CredentialsRejected")
    assert message.startswith(f"{operator_arn(world)} was refused sagemaker:")
    assert "UnrecognizedClientException" in message
    assert "retries with backoff (60 s" in message
    # The timer keeps coming back but stays away from AWS while backing off.
    refused = len(operator_calls(world))
    world.wait_timer_passes(3, outcome="NotDue")
    assert len(operator_calls(world)) == refused, "no backoff"
    assert world.calls("DeleteInferenceComponent", "llm") == []
    assert world.describe("llm")["InferenceComponentStatus"] == "InService"
    logs = world.operator.logs()
    assert logs.count("was refused sagemaker:") == 1, "said once, not on every pass"

    # The key is valid again (as after a rotation fixed): a retry gets straight through.
    world.emulator.admin.request("PUT", f"access-keys/{key}", issued)
    world.patch("llm", {"metadata": {"annotations": {RETRY: "key-restored"}}})
    world.wait_ready("llm", timeout=60)
    assert world.describe("llm")["RuntimeConfig"]["DesiredCopyCount"] == 2
    assert world.operator.logs().count("AWS accepts the operator's credentials again") == 1


def test_a_denied_action_names_the_principal_the_action_and_the_resource(
    world: OperatorTestbed,
) -> None:
    world.apply(world.manifest("llm", copies=1))
    world.wait_settled("llm")
    action = "sagemaker:UpdateInferenceComponentRuntimeConfig"
    world.emulator.admin.set_faults(denied_operations=["UpdateInferenceComponentRuntimeConfig"])
    try:
        world.patch("llm", {"spec": {"runtimeConfig": {"copyCount": 2}}})
        message = degraded(world, "llm", "AccessDenied")
        assert message.startswith(
            f"{operator_arn(world)} was refused {action} on inference component llm: "
            f"AccessDeniedException: User: {operator_arn(world)} is not authorized to perform: "
            f"{action} on resource: arn:aws:sagemaker:"
        )
        world.wait_timer_passes(3, outcome="NotDue")
        assert len(world.calls("UpdateInferenceComponentRuntimeConfig", "llm")) == 1
        assert world.calls("DeleteInferenceComponent", "llm") == []
        assert world.operator.logs().count(f"was refused {action}") == 1
    finally:
        world.emulator.admin.set_faults()
    world.patch("llm", {"metadata": {"annotations": {RETRY: "allowed"}}})
    world.wait_ready("llm", timeout=60)
    assert world.describe("llm")["RuntimeConfig"]["DesiredCopyCount"] == 2
    assert world.operator.logs().count(f"{action} is allowed again") == 1
