"""Render the chart with several values files and check the objects it makes.

The RBAC expectations are OPERATOR-CONTRACT.md's list, written out here once;
the container args are parsed by the operator's own argument parser, so a flag
the chart passes that the operator does not know fails here, not in a cluster.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ic_operator import API_GROUP, config
from tests import dockerfile
from tests.node import eks_webhook

from .helm import (
    CHART,
    FULLNAME,
    RELEASE_NAMESPACE,
    VALUES,
    Grant,
    Helm,
    by_kind,
    container,
    grants,
    one,
)

IC_GROUP = API_GROUP


def _expand(group: str, resources: list[str], verbs: list[str]) -> set[Grant]:
    return {(group, r, v) for r in resources for v in verbs}


# What the operator does inside a watched namespace (OPERATOR-CONTRACT.md).
NAMESPACE_GRANTS = (
    _expand(IC_GROUP, ["inferencecomponents"], ["get", "list", "watch", "patch", "update"])
    | _expand(IC_GROUP, ["inferencecomponents/status"], ["get", "patch", "update"])
    | _expand("", ["events"], ["create", "patch"])
    | _expand("events.k8s.io", ["events"], ["create", "patch"])
    | _expand("sagemaker.services.k8s.aws", ["endpoints"], ["get", "list", "watch"])
)
# Cluster-scoped reads kopf needs in every mode, and the AccountMappings (read, and
# their status written: docs/accounts.md).
DISCOVERY_GRANTS = (
    _expand("apiextensions.k8s.io", ["customresourcedefinitions"], ["get", "list", "watch"])
    | _expand("", ["namespaces"], ["get", "list", "watch"])
    | _expand(IC_GROUP, ["accountmappings"], ["get", "list", "watch"])
    | _expand(IC_GROUP, ["accountmappings/status"], ["patch"])
)
PEERING_VERBS = ["get", "list", "watch", "patch"]
NAMESPACED_PEERING = _expand("kopf.dev", ["kopfpeerings"], PEERING_VERBS)
CLUSTER_PEERING = _expand("kopf.dev", ["clusterkopfpeerings"], PEERING_VERBS)

VALUES_FILES = [None, *sorted(p.name for p in VALUES.glob("*.yaml"))]


def _id(values: str | None) -> str:
    return values or "default"


def _parse_args(docs: list[dict[str, Any]]) -> argparse.Namespace:
    """What the pod runs: the image's ENTRYPOINT with the chart's args, parsed by `ic-operator`."""
    entrypoint, cmd = (
        dockerfile.runtime_exec_form("ENTRYPOINT"),
        dockerfile.runtime_exec_form("CMD"),
    )
    args = dockerfile.parse_operator_argv(
        dockerfile.container_argv(entrypoint, cmd, container(docs))
    )
    assert args.command == "run"
    return args


def _settings(docs: list[dict[str, Any]], tmp_path: Path) -> config.Settings:
    """Settings the operator would build from the rendered args and mounted ConfigMap."""
    args = _parse_args(docs)
    if args.endpoint_policy:
        cm = one(docs, "ConfigMap")
        mounted = tmp_path / "endpoint-policy.yaml"
        mounted.write_text(cm["data"]["endpoint-policy.yaml"])
        args.endpoint_policy = str(mounted)
    return config.from_args(args)


def _roles(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return by_kind(docs, "Role") + by_kind(docs, "ClusterRole")


@pytest.mark.parametrize("values", VALUES_FILES, ids=_id)
def test_helm_lint_is_clean(helm: Helm, values: str | None) -> None:
    args = ["lint", "--strict", str(CHART)]
    if values:
        args += ["--values", str(VALUES / values)]
    result = helm.run(*args)
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout


@pytest.mark.parametrize("values", VALUES_FILES, ids=_id)
def test_every_object_is_well_formed(helm: Helm, values: str | None) -> None:
    docs = helm.render(values)
    keys = [(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs]
    assert len(keys) == len(set(keys)), "duplicate objects"
    for doc in docs:
        assert doc["apiVersion"] and doc["metadata"]["name"]
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == "ic"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"


@pytest.mark.parametrize("values", VALUES_FILES, ids=_id)
def test_pod_security(helm: Helm, values: str | None) -> None:
    docs = helm.render(values)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "hostNetwork" not in pod and "hostPID" not in pod
    sc = container(docs)["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["runAsUser"] == 65532
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "privileged" not in sc
    mounts = {m["name"]: m["mountPath"] for m in container(docs)["volumeMounts"]}
    assert mounts["tmp"] == "/tmp"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["tmp"]
    env = {e["name"]: e.get("value") for e in container(docs)["env"]}
    assert env["HOME"] == "/tmp"
    assert container(docs)["resources"]["requests"] and container(docs)["resources"]["limits"]


@pytest.mark.parametrize("values", VALUES_FILES, ids=_id)
def test_probes_hit_healthz_on_the_health_port(
    helm: Helm, values: str | None, tmp_path: Path
) -> None:
    docs = helm.render(values)
    c = container(docs)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    settings = _settings(docs, tmp_path)
    assert ports["health"] == settings.health_port
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "health"}


@pytest.mark.parametrize("values", VALUES_FILES, ids=_id)
def test_no_wildcards_in_rbac(helm: Helm, values: str | None) -> None:
    docs = helm.render(values)
    roles = _roles(docs)
    assert roles
    for role in roles:
        for group, resource, verb in grants(role):
            assert "*" not in (group, resource, verb), (role["metadata"]["name"], resource, verb)
    for binding in by_kind(docs, "RoleBinding") + by_kind(docs, "ClusterRoleBinding"):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": FULLNAME, "namespace": RELEASE_NAMESPACE}
        ]
        assert not binding["roleRef"]["name"].startswith(("cluster-admin", "admin", "edit"))


def test_default_is_one_replica_namespaced_to_the_release_namespace(
    helm: Helm, tmp_path: Path
) -> None:
    docs = helm.render()
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert one(docs, "Role")["metadata"]["namespace"] == RELEASE_NAMESPACE
    assert grants(one(docs, "Role")) == NAMESPACE_GRANTS
    assert grants(one(docs, "ClusterRole")) == DISCOVERY_GRANTS
    settings = _settings(docs, tmp_path)
    assert settings.namespaces == (RELEASE_NAMESPACE,)
    assert settings.peering is None
    assert settings.resync_interval == 300
    assert settings.log_format == "json"
    assert settings.endpoint_policy.rules is None
    assert not by_kind(docs, "PodDisruptionBudget")
    assert not by_kind(docs, "KopfPeering") and not by_kind(docs, "ClusterKopfPeering")
    assert not by_kind(docs, "ServiceMonitor")
    assert not by_kind(docs, "ConfigMap")
    sa = one(docs, "ServiceAccount")
    assert "annotations" not in sa["metadata"]


def test_namespaced_with_two_namespaces(helm: Helm, tmp_path: Path) -> None:
    docs = helm.render("namespaced-two.yaml")
    roles = {r["metadata"]["namespace"]: r for r in by_kind(docs, "Role")}
    assert set(roles) == {"team-a", "team-b"}
    for role in roles.values():
        assert grants(role) == NAMESPACE_GRANTS
    bindings = {b["metadata"]["namespace"] for b in by_kind(docs, "RoleBinding")}
    assert bindings == {"team-a", "team-b"}
    assert grants(one(docs, "ClusterRole")) == DISCOVERY_GRANTS
    settings = _settings(docs, tmp_path)
    assert settings.namespaces == ("team-a", "team-b")
    assert settings.region == "eu-west-1"
    assert settings.resync_interval == 120
    assert settings.log_format == "text"
    policy = settings.endpoint_policy
    assert policy.permits("team-a", "team-a-gpu")
    assert not policy.permits("team-a", "team-b-gpu")
    assert policy.permits("team-b", "shared-cpu")
    assert not policy.permits("team-c", "team-a-gpu")
    mounts = {m["name"]: m for m in container(docs)["volumeMounts"]}
    assert mounts["endpoint-policy"]["readOnly"] is True
    assert (
        f"{mounts['endpoint-policy']['mountPath']}/endpoint-policy.yaml"
        in container(docs)["args"][-1]
    )


def test_cross_namespace_endpoint_refs(helm: Helm, tmp_path: Path) -> None:
    """Off by default; on, the operator may read (get, no more) ACK Endpoints outside the
    namespaces it watches."""
    assert _settings(helm.render(), tmp_path).cross_namespace_endpoint_refs is False
    docs = helm.render(None, "--set", "crossNamespaceEndpointRefs=true")
    assert _settings(docs, tmp_path).cross_namespace_endpoint_refs is True
    assert grants(one(docs, "ClusterRole")) == DISCOVERY_GRANTS | _expand(
        "sagemaker.services.k8s.aws", ["endpoints"], ["get"]
    )
    assert grants(one(docs, "Role")) == NAMESPACE_GRANTS


def test_cluster_wide(helm: Helm, tmp_path: Path) -> None:
    docs = helm.render("cluster-wide.yaml")
    assert not by_kind(docs, "Role") and not by_kind(docs, "RoleBinding")
    assert grants(one(docs, "ClusterRole")) == NAMESPACE_GRANTS | DISCOVERY_GRANTS
    binding = one(docs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == one(docs, "ClusterRole")["metadata"]["name"]
    settings = _settings(docs, tmp_path)
    assert settings.namespaces == ()  # all namespaces
    assert settings.max_concurrency == 25


def test_peering_with_two_replicas(helm: Helm, tmp_path: Path) -> None:
    docs = helm.render("peering.yaml")
    assert one(docs, "Deployment")["spec"]["replicas"] == 2
    settings = _settings(docs, tmp_path)
    assert settings.peering == "ic-operator-peering"
    peerings = by_kind(docs, "KopfPeering")
    assert {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in peerings} == {
        ("team-a", "ic-operator-peering"),
        ("team-b", "ic-operator-peering"),
    }
    for role in by_kind(docs, "Role"):
        assert grants(role) == NAMESPACE_GRANTS | NAMESPACED_PEERING
    assert grants(one(docs, "ClusterRole")) == DISCOVERY_GRANTS
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    env = {e["name"]: e for e in container(docs)["env"]}
    assert env["POD_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_peering_cluster_wide(helm: Helm, tmp_path: Path) -> None:
    docs = helm.render("peering-cluster.yaml")
    assert _settings(docs, tmp_path).peering == FULLNAME
    assert one(docs, "ClusterKopfPeering")["metadata"]["name"] == FULLNAME
    assert not by_kind(docs, "KopfPeering")
    assert grants(one(docs, "ClusterRole")) == (
        NAMESPACE_GRANTS | DISCOVERY_GRANTS | CLUSTER_PEERING
    )
    assert one(docs, "PodDisruptionBudget")


def test_peering_enabled_with_one_replica(helm: Helm, tmp_path: Path) -> None:
    docs = helm.render(None, "--set", "peering.enabled=true")
    assert _settings(docs, tmp_path).peering == FULLNAME
    assert one(docs, "KopfPeering")["metadata"]["namespace"] == RELEASE_NAMESPACE
    assert not by_kind(docs, "PodDisruptionBudget")


def test_irsa_annotation(helm: Helm) -> None:
    docs = helm.render("irsa.yaml")
    annotations = one(docs, "ServiceAccount")["metadata"]["annotations"]
    assert annotations == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/sagemaker-ic-operator",
        "eks.amazonaws.com/sts-regional-endpoints": "true",
    }
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == one(docs, "ServiceAccount")["metadata"]["name"]


def test_extra_volumes_carry_what_the_eks_webhook_would_add(helm: Helm) -> None:
    """Without the EKS pod identity webhook (tests/node/eks_webhook.py), the projected
    token and its mount come in through extraVolumes / extraVolumeMounts, beside the
    chart's own."""
    mutation = eks_webhook.pod_identity("eu-west-1")
    docs = helm.render(
        None,
        f"--set-json=extraVolumes={json.dumps(mutation.volumes)}",
        f"--set-json=extraVolumeMounts={json.dumps(mutation.mounts)}",
    )
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert [v["name"] for v in pod["volumes"]] == ["tmp", "eks-pod-identity-token"]
    assert pod["volumes"][1] == mutation.volumes[0]
    assert container(docs)["volumeMounts"][-1] == mutation.mounts[0]


def test_service_monitor(helm: Helm, tmp_path: Path) -> None:
    docs = helm.render("servicemonitor.yaml")
    service = one(docs, "Service")
    monitor = one(docs, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"] == "metrics"
    assert endpoint["path"] == "/metrics"
    assert service["spec"]["ports"][0]["port"] == 9191
    assert _settings(docs, tmp_path).metrics_port == 9191
    ports = {p["name"]: p["containerPort"] for p in container(docs)["ports"]}
    assert ports["metrics"] == 9191


def test_metrics_off_removes_service_and_monitor(helm: Helm, tmp_path: Path) -> None:
    docs = helm.render("no-metrics.yaml")
    assert not by_kind(docs, "Service") and not by_kind(docs, "ServiceMonitor")
    assert _settings(docs, tmp_path).metrics_port == 0
    assert "metrics" not in {p["name"] for p in container(docs)["ports"]}


def test_endpoint_policy_change_rolls_the_pods(helm: Helm) -> None:
    def checksum(*extra: str) -> str:
        docs = helm.render("namespaced-two.yaml", *extra)
        annotations = one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
        return str(annotations["checksum/endpoint-policy"])

    assert checksum() != checksum("--set-json", 'endpointPolicy={"team-a":["other-*"]}')


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "scope=cluster", "--set", "watchNamespaces={a}"], "must be empty"),
        (["--set", "scope=everywhere"], "scope must be"),
        (["--set", "watchNamespaces={team-*}"], "not globs"),
        (["--set-json", 'endpointPolicy={"a":"x-*"}'], "must be a list"),
        (["--set", "serviceAccount.create=false"], "serviceAccount.name is required"),
    ],
)
def test_invalid_values_fail_to_render(helm: Helm, extra: list[str], message: str) -> None:
    result = helm.run(*helm.template_args(None, *extra), check=False)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize("values", VALUES_FILES, ids=_id)
def test_the_pod_runs_ic_operator_run_with_the_charts_flags(helm: Helm, values: str | None) -> None:
    """The image's ENTRYPOINT and the chart's args make one command line the operator accepts
    (ENTRYPOINT `ic-operator` + args `run ...`, not `ic-operator run run ...`)."""
    docs = helm.render(values)
    argv = dockerfile.container_argv(
        dockerfile.runtime_exec_form("ENTRYPOINT"),
        dockerfile.runtime_exec_form("CMD"),
        container(docs),
    )
    assert argv[:2] == ["ic-operator", "run"] and "run" not in argv[2:]
    assert _parse_args(docs).health_port == int(container(docs)["ports"][0]["containerPort"])


def test_image_defaults_to_app_version(helm: Helm) -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert container(helm.render())["image"] == f"sagemaker-ic-operator:{chart['appVersion']}"
    image = container(helm.render(None, "--set", "image.tag=1.2.3"))["image"]
    assert image == "sagemaker-ic-operator:1.2.3"


def test_every_value_is_documented_in_the_readme() -> None:
    """The README's values table lists every leaf key of values.yaml."""

    def leaves(tree: dict[str, Any], prefix: str = "") -> set[str]:
        out: set[str] = set()
        for key, value in tree.items():
            path = f"{prefix}{key}"
            if (
                isinstance(value, dict)
                and value
                and key not in {"resources", "podSecurityContext", "securityContext"}
            ):
                out |= leaves(value, f"{path}.")
            else:
                out.add(path)
        return out

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART.parents[1] / "README.md").read_text()
    section = readme.split("## Install with Helm", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))
    assert leaves(values) == documented


def test_argocd_doc_values_render(helm: Helm, tmp_path: Path) -> None:
    """The Application in docs/argocd.md installs the chart with values that work."""
    doc = (CHART.parents[1] / "docs" / "argocd.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", doc, flags=re.DOTALL)
    apps = [
        d
        for block in blocks
        for d in yaml.safe_load_all(block)
        if d and d.get("kind") == "Application" and d["spec"]["source"].get("helm")
    ]
    assert len(apps) == 1
    values = tmp_path / "argocd-values.yaml"
    values.write_text(yaml.safe_dump(apps[0]["spec"]["source"]["helm"]["valuesObject"]))
    docs = helm.render(None, "--values", str(values))
    settings = _settings(docs, tmp_path)
    assert settings.namespaces == ("team-a", "team-b")
    assert settings.peering is not None
    assert not settings.endpoint_policy.permits("team-a", "team-b-gpu")
    annotations = one(docs, "ServiceAccount")["metadata"]["annotations"]
    assert annotations["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
