"""The rendered chart against a real kube-apiserver (tests.fixtures.controlplane).

Server-side dry run proves every object passes the API server's own
validation (schemas, the CRDs' structural schemas, RBAC escalation checks).
Applying for real and asking the real RBAC authorizer (`kubectl auth can-i
--as=<the operator's ServiceAccount>`) proves the grants do what the contract
says: everything the operator needs in watched namespaces, nothing elsewhere.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from ic_sandbox.harness.crds import CRD_NAME

from .helm import CHART, VALUES, Helm

if TYPE_CHECKING:
    from tests.fixtures.controlplane import Kubectl

pytestmark = pytest.mark.controlplane

# The prometheus-operator CRD is not part of this project; a minimal stand-in
# lets the ServiceMonitor reach the API server (its schema is not checked).
SERVICEMONITOR_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: ServiceMonitor, plural: servicemonitors, singular: servicemonitor}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
"""
IC = CRD_NAME
CRD_NAMES = [
    IC,
    "kopfpeerings.kopf.dev",
    "clusterkopfpeerings.kopf.dev",
    "servicemonitors.monitoring.coreos.com",
]


def _suffix() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def chart_crds(kubectl: Kubectl) -> None:
    """Install the chart's crds/ (as helm does before templates) and wait until served."""
    kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=chart-tests",
        "-f",
        str(CHART / "crds"),
    )
    kubectl(
        "apply", "--server-side", "--field-manager=chart-tests", "-f", "-", input=SERVICEMONITOR_CRD
    )
    kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        *[f"crd/{name}" for name in CRD_NAMES],
    )


@pytest.fixture
def team_namespaces(kubectl: Kubectl) -> Iterator[list[str]]:
    names = [f"team-a-{_suffix()}", f"team-b-{_suffix()}"]
    for name in names:
        kubectl("create", "namespace", name)
    yield names
    for name in names:
        kubectl("delete", "namespace", name, "--wait=false", check=False)


def _values_for(values: str | None) -> dict[str, Any]:
    if values is None:
        return {}
    loaded: dict[str, Any] = yaml.safe_load((VALUES / values).read_text()) or {}
    return loaded


def _render(helm: Helm, values: str | None, release: str, namespace: str, teams: list[str]) -> str:
    """Render with the values file, moving its team namespaces onto fresh ones."""
    extra: list[str] = []
    loaded = _values_for(values)
    if loaded.get("watchNamespaces"):
        extra += ["--set-json", f"watchNamespaces={json.dumps(teams)}"]
    if loaded.get("endpointPolicy"):
        policy = dict(zip(teams, loaded["endpointPolicy"].values(), strict=False))
        extra += ["--set-json", f"endpointPolicy={json.dumps(policy)}"]
    args = helm.template_args(values, *extra, release=release, namespace=namespace)
    return helm.run(*args).stdout


def _delete_cluster_objects(kubectl: Kubectl, release: str) -> None:
    kubectl(
        "delete",
        "clusterrole,clusterrolebinding,clusterkopfpeerings.kopf.dev",
        "-l",
        f"app.kubernetes.io/instance={release}",
        "--ignore-not-found",
        "--wait=false",
        check=False,
    )


VALUES_FILES = [None, *sorted(p.name for p in VALUES.glob("*.yaml"))]


@pytest.mark.usefixtures("chart_crds")
@pytest.mark.parametrize("values", VALUES_FILES, ids=lambda v: v or "default")
def test_server_side_dry_run_accepts_every_object(
    helm: Helm, kubectl: Kubectl, namespace: str, team_namespaces: list[str], values: str | None
) -> None:
    release = f"ic-{_suffix()}"
    manifest = _render(helm, values, release, namespace, team_namespaces)
    result = kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=helm",
        "-f",
        "-",
        "-o",
        "json",
        input=manifest,
    )
    applied = json.loads(result.stdout)
    items = applied["items"] if applied.get("kind") == "List" else [applied]
    rendered = [d for d in yaml.safe_load_all(manifest) if d]
    assert sorted(i["kind"] for i in items) == sorted(d["kind"] for d in rendered)


def _can(kubectl: Kubectl, sa: str, verb: str, resource: str, namespace: str | None) -> bool:
    """Ask the real authorizer; `resource` may name a subresource as `plural/sub`."""
    plural, _, subresource = resource.partition("/")
    args = ["auth", "can-i", verb, plural, f"--as={sa}"]
    args += [f"--subresource={subresource}"] if subresource else []
    args += [f"--namespace={namespace}"] if namespace else []
    result = kubectl(*args, check=False)
    answer = result.stdout.strip().split(" ")[0] if result.stdout.strip() else ""
    assert answer in {"yes", "no"}, f"{args}: {result.stdout}{result.stderr}"
    return answer == "yes"


OPERATOR_NEEDS = [
    ("get", IC),
    ("list", IC),
    ("watch", IC),
    ("patch", IC),
    ("update", IC),
    ("get", f"{IC}/status"),
    ("patch", f"{IC}/status"),
    ("update", f"{IC}/status"),
    ("create", "events"),
    ("patch", "events"),
    ("create", "events.events.k8s.io"),
    ("patch", "events.events.k8s.io"),
]
NEVER = [
    ("create", IC),
    ("delete", IC),
    ("deletecollection", IC),
    ("get", "secrets"),
    ("list", "secrets"),
    ("get", "configmaps"),
    ("create", "pods"),
    ("create", "serviceaccounts/token"),
    ("update", "events"),
    ("delete", "events"),
    ("escalate", "roles.rbac.authorization.k8s.io"),
    ("create", "rolebindings.rbac.authorization.k8s.io"),
]
CLUSTER_READS = [
    ("get", "customresourcedefinitions.apiextensions.k8s.io"),
    ("list", "customresourcedefinitions.apiextensions.k8s.io"),
    ("watch", "customresourcedefinitions.apiextensions.k8s.io"),
    ("get", "namespaces"),
    ("list", "namespaces"),
    ("watch", "namespaces"),
    # AccountMappings: read, and their status reported (docs/accounts.md).
    ("get", "accountmappings.sagemaker.ic-operator.io"),
    ("list", "accountmappings.sagemaker.ic-operator.io"),
    ("watch", "accountmappings.sagemaker.ic-operator.io"),
    ("patch", "accountmappings.sagemaker.ic-operator.io/status"),
]
CLUSTER_NEVER = [
    ("create", "customresourcedefinitions.apiextensions.k8s.io"),
    # A mapping chooses accounts: the platform team writes it, never the operator.
    ("create", "accountmappings.sagemaker.ic-operator.io"),
    ("patch", "accountmappings.sagemaker.ic-operator.io"),
    ("delete", "customresourcedefinitions.apiextensions.k8s.io"),
    ("delete", "namespaces"),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
    ("list", "nodes"),
]
PEERING = ["get", "list", "watch", "patch"]


@pytest.mark.usefixtures("chart_crds")
def test_namespaced_rbac_grants_exactly_the_watched_namespaces(
    helm: Helm, kubectl: Kubectl, namespace: str, team_namespaces: list[str]
) -> None:
    release = f"ic-{_suffix()}"
    manifest = _render(helm, "peering.yaml", release, namespace, team_namespaces)
    try:
        kubectl("apply", "--server-side", "--field-manager=helm", "-f", "-", input=manifest)
        sa = f"system:serviceaccount:{namespace}:{release}-sagemaker-ic-operator"
        for team in team_namespaces:
            for verb, resource in OPERATOR_NEEDS:
                assert _can(kubectl, sa, verb, resource, team), (verb, resource, team)
            for verb in PEERING:
                assert _can(kubectl, sa, verb, "kopfpeerings.kopf.dev", team), verb
            for verb, resource in NEVER:
                assert not _can(kubectl, sa, verb, resource, team), (verb, resource, team)
            assert not _can(kubectl, sa, "delete", "kopfpeerings.kopf.dev", team)
        # The release namespace is not watched here: no InferenceComponent access there.
        for verb, resource in OPERATOR_NEEDS:
            assert not _can(kubectl, sa, verb, resource, namespace), (verb, resource)
        for verb, resource in CLUSTER_READS:
            assert _can(kubectl, sa, verb, resource, None), (verb, resource)
        for verb, resource in CLUSTER_NEVER:
            assert not _can(kubectl, sa, verb, resource, None), (verb, resource)
        assert not _can(kubectl, sa, "get", "clusterkopfpeerings.kopf.dev", None)
        # The peering objects kopf needs exist in each watched namespace.
        for team in team_namespaces:
            kubectl("get", "kopfpeerings.kopf.dev", "ic-operator-peering", "-n", team)
    finally:
        _delete_cluster_objects(kubectl, release)


@pytest.mark.usefixtures("chart_crds")
def test_cluster_scope_rbac(
    helm: Helm, kubectl: Kubectl, namespace: str, team_namespaces: list[str]
) -> None:
    release = f"ic-{_suffix()}"
    manifest = _render(helm, "peering-cluster.yaml", release, namespace, team_namespaces)
    try:
        kubectl("apply", "--server-side", "--field-manager=helm", "-f", "-", input=manifest)
        sa = f"system:serviceaccount:{namespace}:{release}-sagemaker-ic-operator"
        for ns in [*team_namespaces, namespace]:
            for verb, resource in OPERATOR_NEEDS:
                assert _can(kubectl, sa, verb, resource, ns), (verb, resource, ns)
            for verb, resource in NEVER:
                assert not _can(kubectl, sa, verb, resource, ns), (verb, resource, ns)
        for verb, resource in CLUSTER_READS:
            assert _can(kubectl, sa, verb, resource, None), (verb, resource)
        for verb, resource in CLUSTER_NEVER:
            assert not _can(kubectl, sa, verb, resource, None), (verb, resource)
        for verb in PEERING:
            assert _can(kubectl, sa, verb, "clusterkopfpeerings.kopf.dev", None), verb
        assert not _can(kubectl, sa, "delete", "clusterkopfpeerings.kopf.dev", None)
        kubectl("get", "clusterkopfpeerings.kopf.dev", f"{release}-sagemaker-ic-operator")
    finally:
        _delete_cluster_objects(kubectl, release)
