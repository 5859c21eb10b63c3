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
from pathlib import Path
from typing import Any

import pytest
import yaml

from ic_sandbox import image
from ic_sandbox.emulator import EmulatorThread
from ic_sandbox.harness.crds import CRD_NAME
from ic_sandbox.harness.emulator_process import REGION, aws_client
from ic_sandbox.harness.identity import AwsCredentials, EmulatorIdentity
from ic_sandbox.sandbox import seed
from tests.chart.helm import CHART, Helm, install_helm
from tests.fixtures.emulator import Admin, wait_for
from tests.node.conftest import RunningNode

pytestmark = [pytest.mark.node, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
RELEASE, RELEASE_NAMESPACE = "ic", "ic-system"
WATCHED = "ml-serving"  # the examples' namespace
SELECTOR = "app.kubernetes.io/instance=ic"
# 300 s rollout wait intervals (examples/rolling-update.yaml) pass in 15 s: long enough
# to kill the operator's pod in the middle of a rollout and have its successor resume.
TIME_SCALE = 0.05


@dataclass
class Release:
    node: RunningNode
    helm: Helm
    admin: Admin
    emulator_url: str
    credentials: AwsCredentials  # the test's own, not the operator's

    def kubectl(self, *args: str, **kw: Any) -> Any:
        return self.node.kubectl(*args, **kw)

    def helm_run(self, *args: str) -> str:
        return self.helm.run(
            *args, f"--kubeconfig={self.node.cluster.kubeconfig}", "--namespace", RELEASE_NAMESPACE
        ).stdout

    def pods(self) -> list[dict[str, Any]]:
        out = self.kubectl("get", "pods", "-n", RELEASE_NAMESPACE, "-l", SELECTOR, "-o", "json")
        items: list[dict[str, Any]] = json.loads(out.stdout)["items"]
        return items

    def ready_pod(self) -> dict[str, Any]:
        """The one Ready operator pod, once there is exactly one pod and it is Ready."""

        def probe() -> dict[str, Any] | None:
            pods = self.pods()
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            if len(pods) == 1 and len(live) == 1 and _ready(live[0]):
                return live[0]
            return None

        return wait_for(probe, timeout=180, interval=0.5, what="one Ready operator pod")

    def logs(self, pod: str) -> str:
        return str(self.kubectl("logs", "-n", RELEASE_NAMESPACE, pod).stdout)

    def ic(self, name: str) -> dict[str, Any]:
        out = self.kubectl("get", CRD_NAME, name, "-n", WATCHED, "-o", "json")
        obj: dict[str, Any] = json.loads(out.stdout)
        return obj

    def wait_ready(self, name: str, timeout: float = 180) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            obj = self.ic(name)
            status = obj.get("status") or {}
            if status.get("observedGeneration") != obj["metadata"]["generation"]:
                return None
            ready = [c for c in status.get("conditions", []) if c["type"] == "Ready"]
            return obj if ready and ready[0]["status"] == "True" else None

        return wait_for(probe, timeout=timeout, interval=0.5, what=f"{name} Ready")

    def calls(self, operation: str, component: str) -> list[dict[str, Any]]:
        return [
            c
            for c in self.admin.calls(operation)
            if (c.get("request") or {}).get("InferenceComponentName") == component
            and not c.get("error")
        ]


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "examples" / f"{name}.yaml").read_text())
    return doc


def _log_records(text: str) -> list[dict[str, Any]]:
    """The operator's log, one JSON object per line (the chart's default logFormat):
    a line that is not one fails here, since log pipelines would choke on it too."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _errors(text: str) -> list[dict[str, Any]]:
    """Records at ERROR or above (kopf's JSON formatter names the level `severity`)."""
    records = _log_records(text)
    assert records and all("severity" in r for r in records), text[-2000:]
    return [r for r in records if r["severity"] in ("error", "fatal")]


@pytest.fixture(scope="module")
def release(running_node: RunningNode) -> Iterator[Release]:
    archive = image.archive_path()
    if not archive.is_file():
        pytest.fail(f"{archive} not found: run `make image` first", pytrace=False)
    running_node.node.import_image(archive)
    repository, tag = image.reference().rsplit(":", 1)
    with EmulatorThread(host=running_node.network.gateway, time_scale=TIME_SCALE) as emulator:
        identity = EmulatorIdentity.establish(Admin(emulator.url), emulator.url, REGION)
        seed.seed_endpoints(emulator.url, identity.admin)
        helm = Helm(install_helm())
        found = Release(running_node, helm, Admin(emulator.url), emulator.url, identity.admin)
        found.kubectl("create", "namespace", WATCHED)
        # The operator's own session of the role ic-operator (the emulator verifies
        # signatures), and STS at the emulator for its GetCallerIdentity at start.
        extra_env = [
            {"name": name, "value": value} for name, value in identity.operator().env().items()
        ] + [{"name": "AWS_ENDPOINT_URL_STS", "value": emulator.url}]
        found.helm_run(
            "install", RELEASE, str(CHART), "--create-namespace",
            f"--set=image.repository={repository}", f"--set=image.tag={tag}",
            # The image is in containerd's store; there is no registry to pull from.
            "--set=image.pullPolicy=Never",
            f"--set=sagemakerEndpointUrl={emulator.url}", "--set=region=us-east-1",
            f"--set=watchNamespaces={{{WATCHED}}}",
            f"--set-json=extraEnv={json.dumps(extra_env)}",
            "--wait", "--timeout=3m",
        )  # fmt: skip
        yield found


def test_install_runs_the_operator_ready_through_its_probes(release: Release) -> None:
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
    records = _log_records(logs)
    messages = [r["message"] for r in records]
    # Ready with a readinessProbe defined: the kubelet's probe of /healthz succeeded. The
    # operator does not log those requests (one every few seconds, forever) at INFO.
    conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert conditions["Ready"] == conditions["ContainersReady"] == "True"
    assert "kube-probe/" not in logs
    assert "Activity 'build_registry.<locals>.login' succeeded." in messages
    assert "Initial authentication has finished." in messages
    assert _errors(logs) == []


def test_reconciles_an_example_to_ready(release: Release) -> None:
    release.kubectl("apply", "-f", "-", input=json.dumps(_example("basic")))
    obj = release.wait_ready("llama3-8b")
    assert obj["status"]["conditions"]
    assert len(release.calls("CreateInferenceComponent", "llama3-8b")) == 1
    pod = release.ready_pod()
    assert _errors(release.logs(pod["metadata"]["name"])) == []


def test_operator_pod_deleted_mid_rollout_resumes_without_duplicates(release: Release) -> None:
    name = "mistral-7b"
    release.kubectl("apply", "-f", "-", input=json.dumps(_example("rolling-update")))
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
    sm = aws_client(release.emulator_url, credentials=release.credentials)
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
    assert any(r["message"].startswith("starting:") for r in _log_records(logs))
    assert _errors(logs) == []


def test_helm_upgrade_rolls_the_pod(release: Release) -> None:
    before = release.ready_pod()
    release.helm_run(
        "upgrade", RELEASE, str(CHART), "--reuse-values",
        "--set=resyncIntervalSeconds=120", "--wait", "--timeout=3m",
    )  # fmt: skip
    after = release.ready_pod()
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert "--resync-interval=120" in after["spec"]["containers"][0]["args"]
    assert _errors(release.logs(after["metadata"]["name"])) == []


def test_helm_uninstall_leaves_crd_resources_and_components(release: Release) -> None:
    names = ("llama3-8b", "mistral-7b")
    release.helm_run("uninstall", RELEASE, "--wait", "--timeout=2m")
    wait_for(lambda: not release.pods(), timeout=60, interval=0.5, what="operator pods gone")
    release.kubectl("get", "crd", CRD_NAME)
    for name in names:
        assert release.ic(name)["metadata"]["name"] == name
    sm = aws_client(release.emulator_url, credentials=release.credentials)
    for name in names:
        state = sm.describe_inference_component(InferenceComponentName=name)
        assert state["InferenceComponentStatus"] == "InService"
    assert release.admin.calls("DeleteInferenceComponent") == []
