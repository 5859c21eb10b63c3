"""Role trust policies: may this principal assume this role, with these session tags?

The subset of IAM's policy language a trust policy uses: `Allow`/`Deny` statements,
`Principal` (`AWS` ARNs, an account id or its root, `Federated` OIDC providers, `Service`
principals, `*`),
`Action` with wildcards (`sts:AssumeRole`, `sts:AssumeRoleWithWebIdentity`,
`sts:TagSession`), and `Condition` with the string operators and `Null`. An explicit Deny
wins; without an Allow the answer is no (doc: IAM User Guide, "Policy evaluation logic").
A condition operator outside this subset never matches, so an unmodelled policy fails
closed rather than open (inf: the emulator's choice). Identity policies on the caller are a
later step (docs/emulator.md): today a principal the trust policy names may assume the role.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Context = Mapping[str, list[str]]  # condition key -> the request's values


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


@dataclass(frozen=True)
class Requester:
    """Who asks, in the terms a trust policy's `Principal` names them."""

    account_id: str
    arns: frozenset[str]  # the caller's ARN, and its role's ARN for an assumed-role session
    federated: str | None = None  # the OIDC provider ARN, for AssumeRoleWithWebIdentity
    service: str | None = None  # a service principal (EKS Pod Identity: pods.eks.amazonaws.com)


def _principal_matches(block: Any, who: Requester, partition: str) -> bool:
    if block == "*":
        return True
    if not isinstance(block, dict):
        return False
    # A service principal is no principal of the account: `AWS` entries never name it.
    for entry in _listed(block.get("AWS", [])) if who.service is None else []:
        root = f"arn:{partition}:iam::{who.account_id}:root"
        if entry in ("*", who.account_id, root) or entry in who.arns:
            return True
    if who.service is not None and who.service in _listed(block.get("Service", [])):
        return True
    federated = _listed(block.get("Federated", []))
    return who.federated is not None and who.federated in federated


def _string_test(operator: str) -> tuple[bool, bool] | None:
    """(like?, negated?) for the string operators the subset knows, else None."""
    known = {
        "StringEquals": (False, False),
        "StringLike": (True, False),
        "StringNotEquals": (False, True),
        "StringNotLike": (True, True),
    }
    return known.get(operator.removesuffix("IfExists"))


def _condition_holds(operator: str, key: str, wanted: list[str], context: Context) -> bool:
    present = context.get(key.lower())
    if operator == "Null":
        return (present is None) == (str(wanted[0]).lower() == "true")
    test = _string_test(operator)
    if test is None:
        return False
    if present is None:
        return operator.endswith("IfExists") or test[1]
    like, negated = test
    matched = any((_like(w, v) if like else w == v) for w in map(str, wanted) for v in present)
    return matched != negated


def _conditions_hold(conditions: Any, context: Context) -> bool:
    if not isinstance(conditions, dict):
        return not conditions
    return all(
        _condition_holds(operator, key, _listed(wanted), context)
        for operator, pairs in conditions.items()
        for key, wanted in (pairs.items() if isinstance(pairs, dict) else [])
    )


@dataclass
class TrustPolicy:
    document: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any) -> TrustPolicy:
        """From a document or its JSON text; raises ValueError when it is neither."""
        document = json.loads(value) if isinstance(value, str) else value
        if not isinstance(document, dict) or not isinstance(document.get("Statement"), list | dict):
            raise ValueError("a trust policy is a JSON object with a Statement")
        return cls(document)

    def allows(self, action: str, who: Requester, context: Context, partition: str) -> bool:
        context = {key.lower(): values for key, values in context.items()}  # keys ignore case
        decision = False
        for statement in _listed(self.document.get("Statement", [])):
            if not isinstance(statement, dict):
                continue
            applies = (
                any(_like(p.lower(), action.lower()) for p in _listed(statement.get("Action", [])))
                and _principal_matches(statement.get("Principal"), who, partition)
                and _conditions_hold(statement.get("Condition"), context)
            )
            if applies and statement.get("Effect") == "Deny":
                return False
            decision = decision or (applies and statement.get("Effect") == "Allow")
        return decision
