"""Identity-based policies: may this principal perform this action on this resource?

The evaluation IAM documents for one account without boundaries, SCPs or session
policies (doc: IAM User Guide, "Policy evaluation logic"): a statement applies when its
`Action` (or `NotAction`) and `Resource` (or `NotResource`) match the request and its
`Condition` holds; an applicable `Deny` ends the evaluation, an applicable `Allow` allows,
and with neither the answer is an implicit deny. Actions match without regard to case,
resources with it, part by part (conditions.arn_like); policy variables in `Resource`
take their values from the request context, and a statement whose variable the request
cannot fill does not apply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .conditions import Context, Unresolved, arn_like, conditions_hold, like, listed, substitute

_STATEMENT_KEYS = {
    "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition",
}  # fmt: skip


class Decision(Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


def _check_statement(statement: Any) -> None:
    if not isinstance(statement, dict):
        raise ValueError("each Statement is a JSON object")
    unknown = set(statement) - _STATEMENT_KEYS
    if unknown:
        raise ValueError(f"unknown statement element(s) {sorted(unknown)}")
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise ValueError('Effect must be "Allow" or "Deny"')
    if ("Action" in statement) == ("NotAction" in statement):
        raise ValueError("a statement has exactly one of Action and NotAction")
    if ("Resource" in statement) == ("NotResource" in statement):
        raise ValueError("a statement has exactly one of Resource and NotResource")


@dataclass(frozen=True)
class IdentityPolicy:
    """One policy document attached to a user or a role."""

    document: dict[str, Any]

    @classmethod
    def parse(cls, value: Any) -> IdentityPolicy:
        """From a document or its JSON text; ValueError names what is malformed, so the
        admin API refuses a policy the emulator would otherwise misread."""
        document = json.loads(value) if isinstance(value, str) else value
        if not isinstance(document, dict) or "Statement" not in document:
            raise ValueError("a policy is a JSON object with a Statement")
        for statement in listed(document["Statement"]):
            _check_statement(statement)
        return cls(document)

    def statements(self) -> list[dict[str, Any]]:
        return listed(self.document["Statement"])


def _action_matches(statement: dict[str, Any], action: str) -> bool:
    key = "Action" if "Action" in statement else "NotAction"
    hit = any(like(str(p).lower(), action.lower()) for p in listed(statement[key]))
    return hit if key == "Action" else not hit


def _resource_matches(statement: dict[str, Any], resource: str, context: Context) -> bool:
    key = "Resource" if "Resource" in statement else "NotResource"
    hit = False
    for pattern in listed(statement[key]):
        try:
            hit = hit or arn_like(substitute(str(pattern), context), resource)
        except Unresolved:
            continue
    return hit if key == "Resource" else not hit


def evaluate(
    policies: list[IdentityPolicy], action: str, resource: str, context: Context
) -> Decision:
    """The decision for one action on one resource; `context` keys in any case."""
    context = {key.lower(): values for key, values in context.items()}
    allowed = False
    for policy in policies:
        for statement in policy.statements():
            applies = (
                _action_matches(statement, action)
                and _resource_matches(statement, resource, context)
                and conditions_hold(statement.get("Condition"), context)
            )
            if applies and statement["Effect"] == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = allowed or (applies and statement["Effect"] == "Allow")
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
