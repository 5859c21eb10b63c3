"""The chart installed by Argo CD: what a platform team that runs GitOps does.

examples/argocd/operator.yaml (as docs/gitops.md shows it, with only the repository URL
and the image replaced) is applied to the real node's cluster; a real Argo CD (its
application controller and repo-server, rendering with the pinned helm) syncs the chart
and this cluster's values file from a git repository the test makes onto that cluster.
Each claim about Argo CD is read from the Application's own status (sync status, health,
operationState, history); the rest from the operator's pod, its log, its components'
status and the emulator's call log.

The tests run in order on one Application: install, reconcile, a values commit, quiet
resyncs.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ic_sandbox import image
from ic_sandbox.cluster.binaries import BinariesMissing
from ic_sandbox.harness.crds import CRD_NAME
from ic_sandbox.peers.argocd import ArgoCd, ensure_argocd, install
from tests.argocd.gitops import Application, GitRepo, Recorder, collapse, health, sync_status
from tests.chart.helm import CHART, install_helm
from tests.fixtures.emulator import Admin
from tests.node.chart_release import (
    ROOT,
    Release,
    cluster_values,
    errors,
    image_values,
    log_records,
    operator_world,
)
from tests.node.conftest import RunningNode

pytestmark = [pytest.mark.node, pytest.mark.slow, pytest.mark.argocd]

EXAMPLE = ROOT / "examples" / "argocd" / "operator.yaml"
WATCHED = "team-a"  # the namespace whose components the installed operator reconciles
# Argo CD compares the Application with git this often (seconds; upstream's default 120).
APP_RESYNC = 10
TRACKING_ID = "argocd.argoproj.io/tracking-id"
# A first sync renders the chart, creates the CRDs and waits for the pod to be Ready.
INSTALL_TIMEOUT = 300


@dataclass
class ChartApp:
    """The Application, the git repository it syncs from and the release it installed."""

    app: Application
    repo: GitRepo
    values_file: Path
    release: Release
    revisions: list[str]
    argocd: ArgoCd

    def commit_values(self, values: dict[str, Any], message: str) -> str:
        self.values_file.write_text(yaml.safe_dump(values, sort_keys=False))
        self.revisions.append(self.repo.commit_all(message))
        return self.revisions[-1]

    def values(self) -> dict[str, Any]:
        found: dict[str, Any] = yaml.safe_load(self.values_file.read_text())
        return found


def application(repo_url: str) -> dict[str, Any]:
    """The example Application with this test's repository and the image `make image`
    built (in containerd; nothing to pull); every other field as users read it."""
    manifest: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    source = manifest["spec"]["source"]
    source["repoURL"] = repo_url
    source["helm"]["valuesObject"]["image"] = image_values()
    return manifest


@pytest.fixture(scope="module")
def chart_app(
    running_node: RunningNode,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ChartApp]:
    try:
        build = ensure_argocd(build=False)  # `make argocd` builds it, once
    except BinariesMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    kubectl = running_node.kubectl
    install(kubectl, build)
    workdir = tmp_path_factory.mktemp("argocd-chart")
    argocd = ArgoCd(
        workdir / "argocd",
        build,
        running_node.cluster.kubeconfig,
        app_resync=APP_RESYNC,
        helm=install_helm(),
    )
    with operator_world(running_node) as identity, argocd:
        repo = GitRepo(workdir / "repo")
        manifest = application(repo.url)
        source = manifest["spec"]["source"]
        # The repository holds the chart where the example's path says, and this
        # cluster's values file where its valueFiles say (relative to the chart).
        chart_dir = repo.path / source["path"]
        shutil.copytree(CHART, chart_dir)
        values_file = Path(chart_dir, source["helm"]["valueFiles"][0]).resolve()
        values_file.parent.mkdir(parents=True)
        release = Release(
            running_node,
            Admin(identity.url),
            identity.url,
            instance=source["helm"]["releaseName"],
            namespace=manifest["spec"]["destination"]["namespace"],
            watched=WATCHED,
            credentials=identity.admin,
        )
        values_file.write_text(yaml.safe_dump(cluster_values(identity, WATCHED)))
        revisions = [repo.commit_all("the chart and prod's values")]
        # The team's namespace exists before the chart grants the operator a Role in it.
        kubectl("create", "namespace", WATCHED)
        kubectl("apply", "-f", "-", input=json.dumps(manifest))
        name = manifest["metadata"]["name"]
        found = ChartApp(
            Application(name, kubectl, Recorder(kubectl, name)),
            repo,
            values_file,
            release,
            revisions,
            argocd,
        )
        try:
            yield found
        finally:
            found.app.recorder.stop()
            _uninstall(found)


@pytest.fixture(autouse=True)
def report_failure(request: pytest.FixtureRequest, chart_app: ChartApp) -> Iterator[None]:
    """A failed test's Application status and the tail of Argo CD's logs, in its report."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed:
        return
    operations: dict[str, Any] = {}
    for version in chart_app.app.versions():
        operation = (version.get("status") or {}).get("operationState")
        if operation:
            operations[operation["startedAt"]] = operation
    for started, operation in operations.items():
        print(f"---- operation started {started} ----\n{json.dumps(operation)}", file=sys.stderr)
    status = chart_app.app.get().get("status")
    print(f"---- Application status ----\n{json.dumps(status, indent=2)[-8000:]}", file=sys.stderr)
    for name in ("controller", "repo-server"):
        tail = chart_app.argocd.log(name).read_text(errors="replace")[-6000:]
        print(f"---- Argo CD {name} log (tail) ----\n{tail}", file=sys.stderr)


def _uninstall(found: ChartApp) -> None:
    """Leave the node as test_chart.py expects it: the Application deleted without its
    resources (it has no resources finalizer), the components deleted while their operator
    still runs, then the operator's objects; the CRDs stay, as after a helm uninstall."""
    kubectl, release = found.release.kubectl, found.release
    kubectl("delete", "applications.argoproj.io", found.app.name, "-n", "argocd", check=False)
    kubectl("delete", CRD_NAME, "--all", "-n", WATCHED, "--timeout=120s", check=False)
    kubectl("delete", "namespace", release.namespace, WATCHED, "--timeout=120s", check=False)
    selector = f"app.kubernetes.io/instance={release.instance}"
    kubectl("delete", "clusterrole,clusterrolebinding", "-l", selector, check=False)


def live(release: Release, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    scope = ["-n", namespace] if namespace else []
    found: dict[str, Any] = json.loads(
        release.kubectl("get", kind, name, *scope, "-o", "json").stdout
    )
    return found


def tracking_id(obj: dict[str, Any]) -> str | None:
    """Argo CD's tracking annotation: what marks a live object as an Application's."""
    return (obj["metadata"].get("annotations") or {}).get(TRACKING_ID)


def test_the_application_installs_the_chart_and_the_operator_pod_is_ready(
    chart_app: ChartApp,
) -> None:
    release = chart_app.release
    app = chart_app.app.wait_deployed(chart_app.revisions[0], timeout=INSTALL_TIMEOUT)
    status = app["status"]
    assert status["sourceType"] == "Helm"
    assert [h["revision"] for h in status["history"]] == chart_app.revisions
    assert all(r["status"] == "Synced" for r in status["operationState"]["syncResult"]["resources"])
    # Every object the chart renders is the Application's and in sync, its CRDs included
    # (skipCrds: false renders crds/); the Deployment Healthy by Argo CD's rollout check.
    managed = {(r["kind"], r["name"]): r for r in status["resources"]}
    crds = {
        doc["metadata"]["name"]
        for path in (CHART / "crds").glob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    }
    assert CRD_NAME in crds and len(crds) == 4  # ours (components, mappings), kopf's two peerings
    assert {("CustomResourceDefinition", name) for name in crds} <= set(managed)
    assert {r["status"] for r in status["resources"]} == {"Synced"}
    assert managed[("Deployment", release.instance)]["health"]["status"] == "Healthy"

    # Argo CD, not helm, applied them: its tracking annotation on every object but the
    # CRDs (its repo-server leaves CRDs untracked: docs/gitops.md), no helm record.
    deployment = live(release, "deployment", release.instance, release.namespace)
    assert (tracking_id(deployment) or "").startswith(f"{chart_app.app.name}:apps/Deployment:")
    for crd in crds:
        assert tracking_id(live(release, "crd", crd)) is None
    # Argo CD's automated re-apply right after its first sync changed nothing.
    assert deployment["metadata"]["generation"] == 1
    helm_records = release.kubectl(
        "get", "secrets", "-n", release.namespace, "-l", "owner=helm", "-o", "name"
    )
    assert helm_records.stdout.strip() == ""

    pod = release.ready_pod()
    (container,) = pod["spec"]["containers"]
    container_status = pod["status"]["containerStatuses"][0]
    assert container_status["ready"] and container_status["restartCount"] == 0
    assert container["image"] == image.reference()
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    logs = release.logs(pod["metadata"]["name"])
    assert "Initial authentication has finished." in [r["message"] for r in log_records(logs)]
    assert errors(logs) == []


def test_the_installed_operator_reconciles_a_component_to_ready(chart_app: ChartApp) -> None:
    release = chart_app.release
    release.apply_example("basic")
    release.wait_ready("llama3-8b")
    assert len(release.calls("CreateInferenceComponent", "llama3-8b")) == 1
    assert errors(release.logs(release.ready_pod()["metadata"]["name"])) == []


def test_a_values_commit_rolls_the_deployment_and_the_app_returns_synced_healthy(
    chart_app: ChartApp,
) -> None:
    release, app = chart_app.release, chart_app.app
    before = release.ready_pod()
    since = app.mark()
    values = chart_app.values()
    values["resources"] = {"requests": {"cpu": "150m", "memory": "160Mi"}}
    values["resyncIntervalSeconds"] = 120
    revision = chart_app.commit_values(values, "prod: more CPU, a shorter resync")
    app.refresh()
    status = app.wait_deployed(revision, timeout=INSTALL_TIMEOUT)["status"]
    assert [h["revision"] for h in status["history"]] == chart_app.revisions

    after = release.ready_pod()
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    (container,) = after["spec"]["containers"]
    assert container["resources"]["requests"] == {"cpu": "150m", "memory": "160Mi"}
    assert "--resync-interval=120" in container["args"]
    # Argo CD followed the rollout: Progressing while the new pod came up, then Healthy.
    healths = collapse([health(v) for v in app.versions(since)])
    assert healths[-1] == "Healthy" and "Progressing" in healths, healths
    # The successor took over the component without writing to SageMaker.
    release.wait_ready("llama3-8b")
    assert len(release.calls("CreateInferenceComponent", "llama3-8b")) == 1
    assert release.calls("UpdateInferenceComponent", "llama3-8b") == []
    assert errors(release.logs(after["metadata"]["name"])) == []


def test_no_perpetual_out_of_sync_and_no_sync_over_three_resyncs(chart_app: ChartApp) -> None:
    release, app = chart_app.release, chart_app.app
    pod = release.ready_pod()
    start = app.get()["status"]
    versions = app.wait_reconciles(3, period=APP_RESYNC)
    assert {sync_status(v) for v in versions} == {"Synced"}
    assert {health(v) for v in versions} == {"Healthy"}
    end = app.get()["status"]
    # No sync started (automated, selfHeal): same operation, same history.
    assert end["operationState"]["startedAt"] == start["operationState"]["startedAt"]
    assert end["history"] == start["history"]
    still = release.ready_pod()
    assert still["metadata"]["uid"] == pod["metadata"]["uid"]
    assert still["status"]["containerStatuses"][0]["restartCount"] == 0
