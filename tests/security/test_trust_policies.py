"""The trust policies a user copies from docs/install.md are the ones docs/security.md
explains and the node tests use (tests/fixtures/trust_policies.py reads security.md)."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.trust_policies import KINDS, documented, trust_policy


@pytest.mark.parametrize("kind", KINDS)
def test_install_guide_carries_the_tested_policy(kind: str) -> None:
    assert documented(kind, "install.md") == documented(kind, "security.md")


def test_irsa_policy_names_one_service_account_and_the_sts_audience() -> None:
    policy = trust_policy(
        "irsa",
        account_id="111122223333",
        oidc_provider="oidc.example/id/X",
        namespace="ns",
        service_account="sa",
    )
    (statement,) = policy["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {
        "Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.example/id/X"
    }
    assert statement["Condition"] == {
        "StringEquals": {
            "oidc.example/id/X:sub": "system:serviceaccount:ns:sa",
            "oidc.example/id/X:aud": "sts.amazonaws.com",
        }
    }


def test_pod_identity_policy_trusts_the_eks_service_with_tag_session() -> None:
    policy = trust_policy("pod-identity", cluster_arn="C", namespace="ns", service_account="sa")
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert "C" in json.dumps(statement["Condition"])


def test_an_unfilled_placeholder_is_an_error() -> None:
    with pytest.raises(KeyError):
        trust_policy("pod-identity", namespace="ns", service_account="sa")
