"""Role trust policies: may this principal assume this role, with these session tags?

The subset of IAM's policy language a trust policy uses: `Allow`/`Deny` statements,
`Principal` (`AWS` ARNs, an account id or its root, `Federated` OIDC providers, `Service`
principals, `*`),
`Action` with wildcards (`sts:AssumeRole`, `sts:AssumeRoleWithWebIdentity`,
`sts:TagSession`), and `Condition` with the string operators and `Null`. An explicit Deny
wins; without an Allow the answer is no (doc: IAM User Guide, "Policy evaluation logic").
The conditions are the shared subset of conditions.py. STS does not ask the caller's
identity policies (iam_policy.py) for `sts:AssumeRole`: a principal the trust policy names
may assume the role (inf for the same-account case, docs/emulator.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .conditions import Context, conditions_hold, like, listed

__all__ = ["Context", "Requester", "TrustPolicy"]


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
    for entry in listed(block.get("AWS", [])) if who.service is None else []:
        root = f"arn:{partition}:iam::{who.account_id}:root"
        if entry in ("*", who.account_id, root) or entry in who.arns:
            return True
    if who.service is not None and who.service in listed(block.get("Service", [])):
        return True
    federated = listed(block.get("Federated", []))
    return who.federated is not None and who.federated in federated


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
        for statement in listed(self.document.get("Statement", [])):
            if not isinstance(statement, dict):
                continue
            applies = (
                any(like(p.lower(), action.lower()) for p in listed(statement.get("Action", [])))
                and _principal_matches(statement.get("Principal"), who, partition)
                and conditions_hold(statement.get("Condition"), context)
            )
            if applies and statement.get("Effect") == "Deny":
                return False
            decision = decision or (applies and statement.get("Effect") == "Allow")
        return decision
