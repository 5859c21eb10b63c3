"""The chart's operator on the real node, whoever installs it (helm in test_chart.py, an
Argo CD Application in test_argocd_chart.py): its image in containerd, the emulator it
talks to, the values that point it there, and what the tests read back (the pod's status,
the operator's own log, its components' status, the emulator's call log).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ic_sandbox import image
from ic_sandbox.emulator import EmulatorThread
from ic_sandbox.harness.crds import CRD_NAME
from ic_sandbox.harness.emulator_process import REGION, aws_client
from ic_sandbox.harness.identity import AwsCredentials, EmulatorIdentity
from ic_sandbox.sandbox import seed
from tests.fixtures.emulator import Admin, wait_for
from tests.node.conftest import RunningNode, import_operator_image

ROOT = Path(__file__).resolve().parents[2]
# 300 s rollout wait intervals (examples/rolling-update.yaml) pass in 15 s: long enough
# to kill the operator's pod in the middle of a rollout and have its successor resume.
TIME_SCALE = 0.05


@contextmanager
def operator_world(node: RunningNode) -> Iterator[EmulatorIdentity]:
    """The operator's image imported into the node's containerd (there is no registry) and
    the emulator, with the examples' endpoints, on the node network's gateway, where pods
    reach it; the emulator verifies signatures, so what is yielded is the credentials it
    issued (the test's admin user, seeding the endpoints, and the operator's role) and its
    URL."""
    import_operator_image(node)
    with EmulatorThread(host=node.network.gateway, time_scale=TIME_SCALE) as emulator:
        identity = EmulatorIdentity.establish(Admin(emulator.url), emulator.url, REGION)
        seed.seed_endpoints(emulator.url, identity.admin)
        yield identity


def image_values() -> dict[str, Any]:
    """The image `make image` built, as chart values."""
    repository, tag = image.reference().rsplit(":", 1)
    # The image is in containerd's store; there is no registry to pull from.
    return {"repository": repository, "tag": tag, "pullPolicy": "Never"}


def cluster_values(identity: EmulatorIdentity, watched: str) -> dict[str, Any]:
    """What this cluster's install sets besides the image: the emulator as SageMaker (and
    as STS, for the operator's GetCallerIdentity at start), the region, the one namespace
    it watches, and the operator's own session of the role ic-operator, which the emulator
    issued (it verifies signatures; on EKS the pod's role gives them, test_eks_credentials)."""
    env = {**identity.operator().env(), "AWS_ENDPOINT_URL_STS": identity.url}
    return {
        "sagemakerEndpointUrl": identity.url,
        "region": REGION,
        "watchNamespaces": [watched],
        "extraEnv": [{"name": name, "value": value} for name, value in env.items()],
    }


@dataclass
class Release:
    """One installed release: its pods (in `namespace`, labelled with `instance`) and the
    components it reconciles in `watched`."""

    node: RunningNode
    admin: Admin
    emulator_url: str
    instance: str
    namespace: str
    watched: str
    credentials: AwsCredentials  # the test's own (the admin user), not the operator's

    def kubectl(self, *args: str, **kw: Any) -> Any:
        return self.node.kubectl(*args, **kw)

    def sagemaker(self) -> Any:
        """The test's own SageMaker client of the emulator."""
        return aws_client(self.emulator_url, credentials=self.credentials)

    def pods(self) -> list[dict[str, Any]]:
        selector = f"app.kubernetes.io/instance={self.instance}"
        out = self.kubectl("get", "pods", "-n", self.namespace, "-l", selector, "-o", "json")
        items: list[dict[str, Any]] = json.loads(out.stdout)["items"]
        return items

    def ready_pod(self) -> dict[str, Any]:
        """The one Ready operator pod, once there is exactly one pod and it is Ready."""

        def probe() -> dict[str, Any] | None:
            pods = self.pods()
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            if len(pods) == 1 and len(live) == 1 and ready(live[0]):
                return live[0]
            return None

        return wait_for(probe, timeout=180, interval=0.5, what="one Ready operator pod")

    def logs(self, pod: str) -> str:
        return str(self.kubectl("logs", "-n", self.namespace, pod).stdout)

    def ic(self, name: str) -> dict[str, Any]:
        out = self.kubectl("get", CRD_NAME, name, "-n", self.watched, "-o", "json")
        obj: dict[str, Any] = json.loads(out.stdout)
        return obj

    def apply_example(self, name: str) -> None:
        """examples/NAME.yaml into the watched namespace (the examples name their own)."""
        doc = example(name)
        doc["metadata"]["namespace"] = self.watched
        self.kubectl("apply", "-f", "-", input=json.dumps(doc))

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


def ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "examples" / f"{name}.yaml").read_text())
    return doc


def log_records(text: str) -> list[dict[str, Any]]:
    """The operator's log, one JSON object per line (the chart's default logFormat):
    a line that is not one fails here, since log pipelines would choke on it too."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def errors(text: str) -> list[dict[str, Any]]:
    """Records at ERROR or above (kopf's JSON formatter names the level `severity`)."""
    records = log_records(text)
    assert records and all("severity" in r for r in records), text[-2000:]
    return [r for r in records if r["severity"] in ("error", "fatal")]
