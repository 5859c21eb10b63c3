"""The component gauge: counts by (status, ready) that follow each resource's last pass."""

from __future__ import annotations

from prometheus_client import REGISTRY

from ic_operator.metrics import ComponentTable


def gauge(status: str, ready: str, account: str = "", region: str = "") -> float | None:
    labels = {"status": status, "ready": ready, "account": account, "region": region}
    return REGISTRY.get_sample_value("ic_operator_components", labels)


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


def test_components_count_by_the_account_and_region_they_live_in() -> None:
    table = ComponentTable()
    table.set("x", "InService", "True", "111111111111", "us-east-1")
    table.set("y", "InService", "True", "222222222222", "eu-west-1")
    table.set("z", "InService", "True", "222222222222", "eu-west-1")
    assert gauge("InService", "True", "111111111111", "us-east-1") == 1
    assert gauge("InService", "True", "222222222222", "eu-west-1") == 2
    table.forget("y")
    table.forget("z")
    assert gauge("InService", "True", "222222222222", "eu-west-1") == 0
