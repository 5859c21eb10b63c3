"""The component gauge: counts by (status, ready) that follow each resource's last pass."""

from __future__ import annotations

from prometheus_client import REGISTRY

from ic_operator.metrics import ComponentTable


def gauge(status: str, ready: str) -> float | None:
    return REGISTRY.get_sample_value("ic_operator_components", {"status": status, "ready": ready})


def test_a_resource_counts_once_under_its_latest_status_and_not_after_it_is_forgotten() -> None:
    table = ComponentTable()
    table.set("a", "Creating", "False")
    table.set("b", "Creating", "False")
    assert gauge("Creating", "False") == 2
    table.set("a", "InService", "True")
    table.set("a", "InService", "True")  # an unchanged pass moves nothing
    assert (gauge("Creating", "False"), gauge("InService", "True")) == (1, 1)
    table.forget("b")
    table.forget("b")  # forgetting twice is harmless
    table.forget("never-seen")
    assert (gauge("Creating", "False"), gauge("InService", "True")) == (0, 1)
    table.forget("a")
    assert gauge("InService", "True") == 0  # the series stays, at zero: no label leak
