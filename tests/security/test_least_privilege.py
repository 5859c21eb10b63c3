"""Least privilege, listed: what the chart's RBAC and the IAM policy grant, and why each is used.

tests/chart/test_render.py pins the exact grants of the documented values files and
tests/test_iam_policy.py pins the IAM actions to `OPERATIONS`. This file closes the
loop from the other side: every grant in *every* values file is one the operator
needs, and every SageMaker operation it may call is one its code really calls.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ic_operator import API_GROUP as IC_GROUP
from ic_operator.aws import operations
from ic_operator.aws.operations import OPERATIONS
from tests.chart.helm import VALUES, Helm, by_kind, grants, install_helm

OPERATOR = Path(__file__).resolve().parents[2] / "operator" / "ic_operator"

# Everything the operator may be granted in Kubernetes, and the reason (OPERATOR-CONTRACT.md).
NEEDED: dict[tuple[str, str], set[str]] = {
    (IC_GROUP, "inferencecomponents"): {"get", "list", "watch", "patch", "update"},
    (IC_GROUP, "inferencecomponents/status"): {"get", "patch", "update"},
    ("", "events"): {"create", "patch"},  # kopf posts events
    ("events.k8s.io", "events"): {"create", "patch"},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"get", "list", "watch"},  # kopf scan
    ("", "namespaces"): {"get", "list", "watch"},  # kopf, cluster-wide watching
    ("kopf.dev", "kopfpeerings"): {"get", "list", "watch", "patch"},  # only with --peering
    ("kopf.dev", "clusterkopfpeerings"): {"get", "list", "watch", "patch"},
    # AccountMappings (docs/accounts.md): cluster-scoped, read; their status reported
    (IC_GROUP, "accountmappings"): {"get", "list", "watch"},
    (IC_GROUP, "accountmappings/status"): {"patch"},
    # spec.endpointRef: the ACK Endpoints components name (kube/ack_endpoints.py)
    ("sagemaker.services.k8s.aws", "endpoints"): {"get", "list", "watch"},
}
NEVER = {"secrets", "configmaps", "pods", "serviceaccounts", "roles", "rolebindings",
         "clusterroles", "clusterrolebindings", "nodes"}  # fmt: skip
ESCALATING_VERBS = {"escalate", "bind", "impersonate", "delete", "deletecollection", "create"}


@pytest.fixture(scope="module")
def helm() -> Helm:
    return Helm(install_helm())


@pytest.mark.parametrize(
    "values", [None, *sorted(p.name for p in VALUES.glob("*.yaml"))], ids=lambda v: v or "default"
)
def test_every_rbac_grant_in_every_values_file_is_needed(helm: Helm, values: str | None) -> None:
    docs = helm.render(values)
    granted = set()
    for role in by_kind(docs, "Role") + by_kind(docs, "ClusterRole"):
        granted |= grants(role)
    assert granted
    for group, resource, verb in granted:
        assert resource not in NEVER, (group, resource, verb)
        assert verb in NEEDED.get((group, resource), set()), (group, resource, verb)
        if (group, resource) != ("", "events") and (group, resource) != (
            "events.k8s.io",
            "events",
        ):
            assert verb not in ESCALATING_VERBS, (group, resource, verb)


AUTOSCALING_OPERATIONS = frozenset().union(*operations.AUTOSCALING_OPERATIONS.values())
TABLES = {
    "OPERATIONS",
    "WRITE_OPERATIONS",
    "APPLICATION_AUTOSCALING_OPERATIONS",
    "CLOUDWATCH_OPERATIONS",
}


def _operations_called(allowed: frozenset[str] = OPERATIONS) -> set[str]:
    """Operation names (of ``allowed``) the operator's code passes to its AWS clients.

    String constants outside the allow-list tables (and outside the emulator and
    sandbox, which the operator never imports).
    """
    found: set[str] = set()
    for path in OPERATOR.rglob("*.py"):
        if {"emulator", "sandbox"} & set(path.relative_to(OPERATOR).parts):
            continue
        tree = ast.parse(path.read_text())
        tables = {
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.AnnAssign | ast.Assign)
            and any(
                isinstance(t, ast.Name) and t.id in TABLES
                for t in ([node.target] if isinstance(node, ast.AnnAssign) else node.targets)
            )
        }
        skip: set[int] = set()
        for node in ast.walk(tree):
            if id(node) in tables:
                skip |= {id(n) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in skip
                and re.fullmatch(r"[A-Z][A-Za-z]+", node.value)
            ):
                found.add(node.value)
    return found & allowed


def test_every_allowed_sagemaker_operation_is_called_by_the_operator() -> None:
    assert _operations_called() == set(OPERATIONS), sorted(OPERATIONS - _operations_called())


def test_every_allowed_autoscaling_operation_is_called_by_the_operator() -> None:
    called = _operations_called(AUTOSCALING_OPERATIONS)
    assert called == AUTOSCALING_OPERATIONS, sorted(AUTOSCALING_OPERATIONS - called)


def test_the_scan_sees_the_operators_calls() -> None:
    """Guards the scan above: it must find the calls the operator certainly makes."""
    called = _operations_called()
    assert {"CreateInferenceComponent", "DeleteInferenceComponent", "ListTags"} <= called
