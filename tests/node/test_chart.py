"""The chart installed on a real node: what a platform team's `helm install` does.

The image `make image` built is imported into the node's containerd; the chart runs it
with its real ServiceAccount, RBAC, probes, security context and projected token; the
operator reaches SageMaker (the emulator, on the node network's gateway) and the API
server from inside a pod. Each claim is read from the pod's status, the operator's
own log (`kubectl logs`) and the emulator's call log.

The tests run in order on one release: install, reconcile, a pod killed mid-rollout,
an upgrade, an uninstall.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml

from ic_sandbox.harness.crds import CRD_NAME
from tests.chart.helm import CHART, Helm, install_helm
from tests.fixtures.emulator import Admin, wait_for
from tests.node.chart_release import (
    Release,
    cluster_values,
    errors,
    example,
    image_values,
    log_records,
    operator_world,
)
from tests.node.conftest import RunningNode

pytestmark = [pytest.mark.node, pytest.mark.slow]

RELEASE, RELEASE_NAMESPACE = "ic", "ic-system"
WATCHED = "ml-serving"  # the examples' namespace


@dataclass
class HelmRelease(Release):
    helm: Helm

    def helm_run(self, *args: str) -> str:
        return self.helm.run(
            *args, f"--kubeconfig={self.node.cluster.kubeconfig}", "--namespace", RELEASE_NAMESPACE
        ).stdout


@pytest.fixture(scope="module")
def release(
    running_node: RunningNode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HelmRelease]:
    with operator_world(running_node) as identity:
        found = HelmRelease(
            running_node, Admin(identity.url), identity.url, RELEASE, RELEASE_NAMESPACE, WATCHED,
            identity.admin, Helm(install_helm()),
        )  # fmt: skip
        found.kubectl("create", "namespace", WATCHED)
        values = tmp_path_factory.mktemp("values") / "values.yaml"
        values.write_text(
            yaml.safe_dump({"image": image_values(), **cluster_values(identity, WATCHED)})
        )
        found.helm_run(
            "install", RELEASE, str(CHART), "--create-namespace", f"--values={values}",
            "--wait", "--timeout=3m",
        )  # fmt: skip
        yield found


def test_install_runs_the_operator_ready_through_its_probes(release: HelmRelease) -> None:
    pod = release.ready_pod()
    (container,) = pod["spec"]["containers"]
    status = pod["status"]["containerStatuses"][0]
    assert status["ready"] and status["restartCount"] == 0, status
    assert "running" in status["state"]
    # The probes that made it Ready are the chart's, and the pod runs as the chart says.
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsUser"] == 65532
    # It signs in with the ServiceAccount's projected token: no other credential exists.
    assert pod["spec"]["serviceAccountName"] == "ic-sagemaker-ic-operator"
    assert "KUBECONFIG" not in {e["name"] for e in container.get("env", [])}
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/var/run/secrets/kubernetes.io/serviceaccount" in mounts
    logs = release.logs(pod["metadata"]["name"])
    records = log_records(logs)
    messages = [r["message"] for r in records]
    # Ready with a readinessProbe defined: the kubelet's probe of /healthz succeeded. The
    # operator does not log those requests (one every few seconds, forever) at INFO.
    conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert conditions["Ready"] == conditions["ContainersReady"] == "True"
    assert "kube-probe/" not in logs
    assert "Activity 'build_registry.<locals>.login' succeeded." in messages
    assert "Initial authentication has finished." in messages
    assert errors(logs) == []


def test_reconciles_an_example_to_ready(release: HelmRelease) -> None:
    release.kubectl("apply", "-f", "-", input=json.dumps(example("basic")))
    obj = release.wait_ready("llama3-8b")
    assert obj["status"]["conditions"]
    assert len(release.calls("CreateInferenceComponent", "llama3-8b")) == 1
    pod = release.ready_pod()
    assert errors(release.logs(pod["metadata"]["name"])) == []


def test_operator_pod_deleted_mid_rollout_resumes_without_duplicates(release: HelmRelease) -> None:
    name = "mistral-7b"
    release.kubectl("apply", "-f", "-", input=json.dumps(example("rolling-update")))
    release.wait_ready(name)
    before = release.ready_pod()

    patch = {"spec": {"specification": {"container": {"environment": {"ROLLOUT": "2"}}}}}
    release.kubectl("patch", CRD_NAME, name, "-n", WATCHED, "--type=merge", "-p", json.dumps(patch))
    wait_for(
        lambda: release.calls("UpdateInferenceComponent", name),
        timeout=60,
        interval=0.2,
        what=f"UpdateInferenceComponent for {name}",
    )
    release.kubectl("delete", "pod", "-n", RELEASE_NAMESPACE, before["metadata"]["name"])
    after = release.ready_pod()  # the only pod: the deleted one is gone
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    successor_calls = len(release.admin.calls())
    # The successor came up while SageMaker was still rolling: it resumed a rollout.
    sm = release.sagemaker()
    state = sm.describe_inference_component(InferenceComponentName=name)
    assert state["InferenceComponentStatus"] == "Updating", state["InferenceComponentStatus"]

    # Ready at the patched generation: written by the successor, the only operator left.
    release.wait_ready(name, timeout=240)
    assert len(release.calls("CreateInferenceComponent", name)) == 1
    assert len(release.calls("UpdateInferenceComponent", name)) == 1
    by_successor = release.admin.calls()[successor_calls:]
    assert any(c["operation"].startswith(("Describe", "List")) for c in by_successor)
    assert not any(c["operation"].startswith(("Create", "Update")) for c in by_successor)
    logs = release.logs(after["metadata"]["name"])
    assert any(r["message"].startswith("starting:") for r in log_records(logs))
    assert errors(logs) == []


def test_helm_upgrade_rolls_the_pod(release: HelmRelease) -> None:
    before = release.ready_pod()
    release.helm_run(
        "upgrade", RELEASE, str(CHART), "--reuse-values",
        "--set=resyncIntervalSeconds=120", "--wait", "--timeout=3m",
    )  # fmt: skip
    after = release.ready_pod()
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert "--resync-interval=120" in after["spec"]["containers"][0]["args"]
    assert errors(release.logs(after["metadata"]["name"])) == []


def test_helm_uninstall_leaves_crd_resources_and_components(release: HelmRelease) -> None:
    names = ("llama3-8b", "mistral-7b")
    release.helm_run("uninstall", RELEASE, "--wait", "--timeout=2m")
    wait_for(lambda: not release.pods(), timeout=60, interval=0.5, what="operator pods gone")
    release.kubectl("get", "crd", CRD_NAME)
    for name in names:
        assert release.ic(name)["metadata"]["name"] == name
    sm = release.sagemaker()
    for name in names:
        state = sm.describe_inference_component(InferenceComponentName=name)
        assert state["InferenceComponentStatus"] == "InService"
    assert release.admin.calls("DeleteInferenceComponent") == []
