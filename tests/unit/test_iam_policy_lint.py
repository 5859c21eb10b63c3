"""docs/iam-policy.json linted by parliament against AWS's service authorization data
(the IAM definitions parliament ships, pinned in constraints.txt): every action exists,
every resource ARN fits its action's resource types, every condition key is one the
action supports, and no write that takes a resource type is granted on `*`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from parliament import analyze_policy_string

POLICY_PATH = Path(__file__).resolve().parents[2] / "docs" / "iam-policy.json"


def findings(policy: dict[str, Any]) -> list[tuple[str, Any]]:
    analyzed = analyze_policy_string(json.dumps(policy))
    return [(f.issue, f.detail) for f in analyzed.findings]


def policy() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY_PATH.read_text())
    return document


def test_the_policy_has_no_findings() -> None:
    assert findings(policy()) == []


def _changed(sid: str, key: str, change: Any) -> dict[str, Any]:
    document = policy()
    (statement,) = [s for s in document["Statement"] if s["Sid"] == sid]
    statement[key] = change(statement[key])
    return document


@pytest.mark.parametrize(
    ("document", "issue"),
    [
        (
            _changed("ReadAndChangeInferenceComponents", "Action",
                     lambda a: [*a, "sagemaker:DescribeInferenceComponents"]),
            "UNKNOWN_ACTION",
        ),
        (
            _changed("ScaleOutFromZeroAlarms", "Resource",
                     lambda r: ["arn:aws:cloudwatch:*:*:alarms:sagemaker-ic-operator-*"]),
            "RESOURCE_MISMATCH",
        ),
        (
            _changed("AutoScaleInferenceComponents", "Condition",
                     lambda c: {"StringEquals": {"application-autoscaling:ns": "sagemaker"}}),
            "UNKNOWN_CONDITION_FOR_ACTION",
        ),
        (_changed("AutoScaleInferenceComponents", "Resource", lambda r: ["*"]), "RESOURCE_STAR"),
    ],
    ids=["typo-action", "wrong-resource-type", "unknown-condition-key", "write-on-star"],
)  # fmt: skip
def test_the_lint_catches_a_broken_policy(document: dict[str, Any], issue: str) -> None:
    """The check above can fail: each mistake is one parliament names."""
    assert issue in {found for found, _ in findings(document)}
