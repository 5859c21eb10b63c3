"""The processes a benchmark run needs, each a real server on loopback.

Built on the local world's harness (the emulator and operator processes, the emulator's
admin client), its kubectl runner and its poll helper, as the sandbox and the tests are;
children die with the bench. Nothing here imports tests/: the benchmark is not a test and
must run without pytest.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from ic_operator import API_GROUP, API_VERSION, PLURAL
from ic_sandbox.cluster.controlplane import ControlPlane
from ic_sandbox.cluster.kubectl import Kubectl as SandboxKubectl
from ic_sandbox.harness.crds import CRD_NAME
from ic_sandbox.harness.emulator_process import ROLE_ARN, EmulatorProcess
from ic_sandbox.harness.identity import AwsCredentials
from ic_sandbox.harness.operator_process import OperatorProcess, operator_env
from ic_sandbox.polling import poll

T = TypeVar("T")

RESOURCE = CRD_NAME
REPO = Path(__file__).resolve().parents[1]


class BenchError(RuntimeError):
    """A run could not be measured; the message says which step and why."""


def wait_for(probe: Callable[[], T | None], *, timeout: float, interval: float, what: str) -> T:
    """Poll ``probe`` until it returns something truthy; BenchError after ``timeout``."""
    return poll(probe, timeout=timeout, interval=interval, what=what, error=BenchError)


class Emulator(EmulatorProcess):
    """`ic-sandbox emulator` as a process (the harness's), with its admin API and a boto3 client.

    Two minutes an admin request: the call log of a 1,000-component run is large.
    """

    def __init__(self, log_dir: Path, time_scale: float) -> None:
        super().__init__(
            log_dir / "emulator.log",
            time_scale=time_scale,
            error=BenchError,
            admin_timeout=120,
            admin_error=BenchError,
        )

    def start(self) -> Emulator:
        super().start()
        self.sagemaker = self.client()
        return self

    def calls(self) -> list[dict[str, Any]]:
        return self.admin.calls()

    def clear_calls(self) -> None:
        self.admin.clear_calls()

    def updating(self) -> set[str]:
        """Names of the components in a transition (Updating) right now, every endpoint."""
        pages = self.sagemaker.get_paginator("list_inference_components").paginate(
            StatusEquals="Updating", PaginationConfig={"PageSize": 100}
        )
        return {c["InferenceComponentName"] for page in pages for c in page["InferenceComponents"]}

    def create_endpoints(self, names: list[str], *, instance_type: str, count: int) -> None:
        """Start creating every endpoint at once; `wait_endpoints` waits for them."""
        for name in names:
            self.sagemaker.create_endpoint_config(
                EndpointConfigName=f"{name}-config",
                ExecutionRoleArn=ROLE_ARN,
                ProductionVariants=[
                    {
                        "VariantName": "AllTraffic",
                        "InstanceType": instance_type,
                        "InitialInstanceCount": count,
                    }
                ],
            )
            self.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")

    def wait_endpoints(self, names: list[str], timeout: float) -> None:
        def all_in_service() -> bool:
            return all(
                self.sagemaker.describe_endpoint(EndpointName=n)["EndpointStatus"] == "InService"
                for n in names
            )

        wait_for(all_in_service, timeout=timeout, interval=1.0, what="endpoints InService")


class Kubectl(SandboxKubectl):
    """The real kubectl against the bench control plane (ic_sandbox's runner); a failure
    is a BenchError. Five minutes a call: one apply carries a whole chunk of manifests."""

    def __init__(self, binary: Path, kubeconfig: Path) -> None:
        super().__init__(binary, kubeconfig, timeout=300, error=BenchError)


class Api:
    """A minimal HTTPS client for list reads: polling 1,000 objects through kubectl
    every second would cost the operator's two cores more than the operator does."""

    def __init__(self, control_plane: ControlPlane, collection: str = "") -> None:
        pki = control_plane.pki
        assert pki is not None
        self.control_plane = control_plane
        self.server = control_plane.server
        self.context = ssl.create_default_context(cafile=str(pki.ca.cert))
        self.context.load_cert_chain(str(pki.admin.cert), str(pki.admin.key))
        self.collection = collection or f"/apis/{API_GROUP}/{API_VERSION}"
        self.plural = PLURAL

    def of(self, group: str, version: str, plural: str) -> Api:
        """The same client for another namespaced kind (the ack mode's ACK objects)."""
        other = Api(self.control_plane, f"/apis/{group}/{version}")
        other.plural = plural
        return other

    def get(self, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.server}{path}", headers={"Accept": "application/json"}
        )
        with urllib.request.urlopen(request, context=self.context, timeout=60) as response:
            return json.loads(response.read())

    def list_components(self, namespace: str) -> list[dict[str, Any]]:
        return self.list_with_version(namespace)[0]

    def list_with_version(self, namespace: str) -> tuple[list[dict[str, Any]], str]:
        """Every component in the namespace, and the list's resourceVersion to watch from."""
        items: list[dict[str, Any]] = []
        query: dict[str, str] = {"limit": "500"}
        while True:
            page = self.get(f"{self._components(namespace)}?" + urllib.parse.urlencode(query))
            items.extend(page.get("items", []))
            meta = page.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                return items, str(meta.get("resourceVersion", ""))
            query["continue"] = token

    def watch(self, namespace: str, resource_version: str) -> Iterator[dict[str, Any]]:
        """Watch events (one JSON object a line) from ``resource_version`` until the
        server ends the stream (at most five minutes; the caller watches again)."""
        query = urllib.parse.urlencode(
            {
                "watch": "1",
                "resourceVersion": resource_version,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": "300",
            }
        )
        request = urllib.request.Request(
            f"{self.server}{self._components(namespace)}?{query}",
            headers={"Accept": "application/json"},
        )
        with urllib.request.urlopen(request, context=self.context, timeout=330) as response:
            for line in response:
                if line.strip():
                    yield json.loads(line)

    def _components(self, namespace: str) -> str:
        return f"{self.collection}/namespaces/{namespace}/{self.plural}"

    def version(self) -> str:
        return str(self.get("/version").get("gitVersion", "unknown"))


class Operator(OperatorProcess):
    """`ic-operator run` for one namespace (the harness's), with its /metrics and /healthz.

    Its environment is only what it needs (PATH, HOME, the kubeconfig, the emulator's
    settings and ``extra_env``), so that a run measures the same process on any shell.
    """

    def __init__(
        self,
        log_path: Path,
        kubeconfig: Path,
        emulator_url: str,
        namespace: str,
        flags: list[str],
        *,
        credentials: AwsCredentials,
        extra_env: dict[str, str] | None = None,
        tracemalloc_frames: int = 0,
        naive: bool = False,
    ) -> None:
        base = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
        # The same process runs under bench/traced.py: a heap probe on SIGUSR1/SIGUSR2,
        # and tracemalloc when asked.
        self.trace_dir = log_path.with_suffix(".tracemalloc")
        self._dumps = 0
        self.tracing = tracemalloc_frames > 0
        self.probing = not naive
        wrapper = [str(REPO / "bench" / "traced.py"), str(self.trace_dir), str(tracemalloc_frames)]
        # The naive baseline is the operator with bench/naive.py's strategy injected.
        naive_runner = [str(REPO / "bench" / "naive.py")]
        super().__init__(
            log_path,
            operator_env(kubeconfig, emulator_url, base, credentials, extra_env),
            ["--namespace", namespace, *flags],
            runner=naive_runner if naive else wrapper,
            timeout=60,
            error=BenchError,
        )

    def check_alive(self) -> None:
        if (exited := self.failed()) is not None:
            raise BenchError(exited)

    def metrics(self) -> dict[str, float]:
        """Every sample as `name{k=v,...}` -> value (for before/after differences)."""
        samples: dict[str, float] = {}
        for name, labels, value in self.samples():
            label_text = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
            samples[f"{name}{{{label_text}}}"] = value
        return samples

    def dump_allocations(
        self, *, trim: bool = False, timeout: float = 300.0
    ) -> tuple[dict[str, Any] | None, Path | None]:
        """The heap probe's report (bench/traced.py: RSS by allocator; with ``trim``, RSS
        after malloc_trim(0) too) and, when tracing, a tracemalloc snapshot, which the
        bench renders once the operator has stopped. (None, None) for the naive runner."""
        if not self.probing:
            return None, None
        self._dumps += 1
        stats = self.trace_dir / f"heap-{self._dumps}.json"
        snapshot = self.trace_dir / f"tracemalloc-{self._dumps}.snapshot"
        os.kill(self.pid, signal.SIGUSR2 if trim else signal.SIGUSR1)
        wanted = [stats, snapshot] if self.tracing else [stats]
        wait_for(
            lambda: all(p.exists() for p in wanted),
            timeout=timeout,
            interval=0.5,
            what=f"heap probe {stats.name}",
        )
        return json.loads(stats.read_text()), snapshot if self.tracing else None
