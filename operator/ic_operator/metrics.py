"""Prometheus metrics.

Counters are process-wide (the default registry) because one operator process
serves one cluster; the component gauges are computed from a small per-object
table so that deleted objects stop counting without label leaks.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter as _Tally

from prometheus_client import Counter, Gauge, Histogram, start_http_server

SAGEMAKER_CALLS = Counter(
    "ic_operator_sagemaker_calls_total",
    "SageMaker API calls (and spec.autoScaling's Application Auto Scaling and CloudWatch "
    "calls, which share the budget) by operation, purpose (write, first_look, poll, "
    "sweep), result code (OK on success), and the account and region called (the account "
    "empty for the operator's own identity when STS could not be asked at start).",
    ["operation", "purpose", "code", "account", "region"],
)
SAGEMAKER_QUEUE = Gauge(
    "ic_operator_sagemaker_queue_depth",
    "Calls waiting for a SageMaker call budget (one per account and region), by purpose.",
    ["purpose", "account", "region"],
)
SAGEMAKER_WAIT = Histogram(
    "ic_operator_sagemaker_wait_seconds",
    "Time a call waited for a token and a slot of its account and region's call budget, "
    "by purpose.",
    ["purpose", "account", "region"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SAGEMAKER_BUDGET_RATE = Gauge(
    "ic_operator_sagemaker_budget_calls_per_second",
    "A SageMaker call budget's rate (0 = unlimited), by account and region.",
    ["account", "region"],
)
SAGEMAKER_BUDGET_CONCURRENCY = Gauge(
    "ic_operator_sagemaker_budget_concurrency",
    "A SageMaker call budget's cap on calls in flight (0 = unlimited), by account and region.",
    ["account", "region"],
)
RECONCILES = Counter(
    "ic_operator_reconciles_total",
    "Reconcile passes by trigger and outcome (the planned action).",
    ["trigger", "outcome"],
)
STATUS_WRITES = Counter(
    "ic_operator_status_writes_total",
    "Status patches sent to the API server, by result (written, gone, failed).",
    ["result"],
)
RECONCILE_SECONDS = Histogram(
    "ic_operator_reconcile_duration_seconds",
    "Wall time of one reconcile pass, by outcome.",
    ["outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
COMPONENTS = Gauge(
    "ic_operator_components",
    "Managed InferenceComponent resources by SageMaker status, Ready condition, and the "
    "account and region they live in (status.account; empty before the first AWS call).",
    ["status", "ready", "account", "region"],
)

COPIES = Gauge(
    "ic_operator_component_copies",
    "Copies of an InferenceComponent with spec.autoScaling, by namespace, resource "
    "(metadata.name) and kind (min and max as registered, desired and current as SageMaker "
    "reports them).",
    ["namespace", "resource", "kind"],
)
COPY_KINDS = ("min", "max", "desired", "current")


def set_copies(resource: str, values: dict[str, int | None]) -> None:
    """``resource`` is namespace/name; a None value drops its series."""
    namespace, _, name = resource.partition("/")
    for kind in COPY_KINDS:
        value = values.get(kind)
        if value is None:
            forget_copies(resource, (kind,))
        else:
            COPIES.labels(namespace, name, kind).set(value)


def forget_copies(resource: str, kinds: tuple[str, ...] = COPY_KINDS) -> None:
    namespace, _, name = resource.partition("/")
    for kind in kinds:
        with contextlib.suppress(KeyError):
            COPIES.remove(namespace, name, kind)


class ComponentTable:
    """Last known (status, ready, account, region) per resource UID, mirrored into the
    COMPONENTS gauge (bounded: accounts and regions are the mappings', never per name).

    Counts are kept incrementally: a pass updates the two series it moves, not a
    tally over every component (a thousand components make thousands of passes).
    """

    def __init__(self) -> None:
        self._rows: dict[str, tuple[str, str, str, str]] = {}
        self._counts: _Tally[tuple[str, str, str, str]] = _Tally()
        self._lock = threading.Lock()

    def set(self, uid: str, status: str, ready: str, account: str = "", region: str = "") -> None:
        row = (status, ready, account, region)
        with self._lock:
            self._move(self._rows.get(uid), row)
            self._rows[uid] = row

    def forget(self, uid: str) -> None:
        with self._lock:
            self._move(self._rows.pop(uid, None), None)

    def _move(
        self, old: tuple[str, str, str, str] | None, new: tuple[str, str, str, str] | None
    ) -> None:
        if old == new:
            return
        for key, step in ((old, -1), (new, 1)):
            if key is not None:
                self._counts[key] += step
                COMPONENTS.labels(*key).set(self._counts[key])


COMPONENT_TABLE = ComponentTable()


def serve(port: int) -> None:
    """Expose /metrics on ``port`` (0 disables)."""
    if port:
        start_http_server(port)
