"""The ack mode's pure parts (bench/ack.py, report.py's ack column): the ACK manifest made
from the bench's own, ACK's synced condition, the write counter of its quiet wait, the
rates at its own resync, and the table's ack column with its "n/a" phases."""

from __future__ import annotations

from typing import Any

from bench import ack, report, workload


def test_the_ack_manifest_carries_what_the_bench_manifest_carries() -> None:
    ours = workload.manifests("k5", "ns", 5, 2)[4]
    theirs = ack.manifest(ours)
    assert theirs["apiVersion"] == "sagemaker.services.k8s.aws/v1alpha1"
    assert theirs["kind"] == "InferenceComponent"
    assert theirs["metadata"] == {"name": "k5-00004", "namespace": "ns"}
    assert theirs["spec"] == {
        "inferenceComponentName": "k5-00004",
        "endpointName": "k5-ep-002",
        "variantName": "AllTraffic",
        "specification": {
            "container": {"image": workload.IMAGE},
            # ACK spells it CPU where the API and our CRD say Cpu
            "computeResourceRequirements": {
                "numberOfCPUCoresRequired": 0.25,
                "minMemoryRequiredInMb": 128,
            },
        },
        "runtimeConfig": {"copyCount": 1},
        "tags": [{"key": "team", "value": "bench"}],
    }


def test_the_edit_patch_is_the_same_path_in_the_ack_object() -> None:
    """The edit phase patches ACK's objects with the bench's own image patch."""
    patch = workload.image_patch("img:2")
    doc = ack.manifest(workload.manifests("k1", "ns", 1, 1)[0])
    doc["spec"]["specification"]["container"].update(patch["spec"]["specification"]["container"])
    assert doc["spec"]["specification"]["container"] == {"image": "img:2"}


def synced(status: str, kind: str = ack.SYNCED) -> dict[str, Any]:
    return {"status": {"conditions": [{"type": "ACK.Terminal", "status": "False"},
                                      {"type": kind, "status": status}]}}  # fmt: skip


def test_synced_is_ack_resource_synced_true_only() -> None:
    assert ack.is_synced(synced("True"))
    assert not ack.is_synced(synced("False"))
    assert not ack.is_synced(synced("True", kind="Ready"))
    assert not ack.is_synced({"metadata": {}})
    assert ack.synced_count([synced("True"), synced("False"), {}]) == 1


def objects(**versions: str) -> list[dict[str, Any]]:
    return [{"metadata": {"name": n, "resourceVersion": v}} for n, v in versions.items()]


def test_the_write_counter_counts_objects_whose_version_moved() -> None:
    counter = ack.WriteCounter()
    assert counter.see(objects(a="1", b="2")) == 0  # the first look is the baseline
    assert counter.see(objects(a="1", b="2")) == 0
    assert counter.see(objects(a="5", b="2", c="6")) == 1  # a new object is not a write
    assert counter.see(objects(a="7", b="8", c="6")) == 3


def test_ack_rates_are_at_its_own_resync_not_extrapolated() -> None:
    steady = {
        "per_component_hour": {
            "DescribeInferenceComponent": 120.0,
            "UpdateInferenceComponent": 60.0,
        },
        "per_component_hour_total": 180.0,
        "per_component_hour_at_default_resync": 180.0 * 300 / 300 / 15,  # scenario's R/300
        "per_component_hour_at_default_resync_by_operation": {},
        "resync_seconds": 300.0,
    }
    ack.at_own_resync(steady)
    assert steady["resync_seconds"] == 30.0
    assert steady["per_component_hour_at_default_resync"] == 180.0
    assert steady["per_component_hour_at_default_resync_by_operation"] == {
        "DescribeInferenceComponent": 120.0,
        "UpdateInferenceComponent": 60.0,
    }


def run(p99: float, rate: float, **phases: Any) -> dict[str, Any]:
    return {
        "config": {"components": 20, "time_scale": 0.1},
        "apply": {"apply_seconds": 2.0, "all_ready_seconds": 15.0, "ready_count": 20},
        "edits": {"from_patch_returned": {"p50": 0.1, "p99": p99}},
        "edits_under_rollouts": {"from_patch_returned": {"p50": 0.1, "p99": 0.2}},
        "restart": {"confirmed_seconds": 4.0, "calls_total": 3, "call_budget": 10},
        "steady": {
            "per_component_hour": {"DescribeInferenceComponent": rate},
            "per_component_hour_total": rate,
            "per_component_hour_at_default_resync": rate,
            "rss_mb": 100.0,
        },
        **phases,
    }


def row(table: str, start: str) -> list[str]:
    return next(line for line in table.splitlines() if line.startswith(start)).split()


def test_the_table_has_an_ack_column_with_its_ratio_and_n_a_phases() -> None:
    sweep = run(0.5, 0.1)
    theirs = run(
        5.0,
        120.0,
        edits_under_rollouts={"not_applicable": "no deploymentConfig"},
        restart={"not_applicable": "never synced"},
        apply={"apply_seconds": 2.0, "all_ready_seconds": None, "ready_count": 0},
    )
    table = report.size_table(sweep, None, ack=theirs)
    assert table.splitlines()[0].split()[:6] == ["figure", "sweep", "naive", "naive/sweep", "ack",
                                                 "ack/sweep"]  # fmt: skip
    assert row(table, "edit → UpdateInferenceComponent p99")[-11:-5] == [
        "0.50", "—", "—", "5.00", "10.0x", "p99",
    ]  # fmt: skip
    assert row(table, "  DescribeInferenceComponent") == [
        "DescribeInferenceComponent", "0.10", "—", "—", "120", "1200.0x",
    ]  # fmt: skip
    # Not applicable is "n/a", never zero, and not the "—" of a figure not measured
    rollouts = row(table, "  p99 while 100 slow rollouts")
    assert rollouts[-9:-5] == ["—", "—", "n/a", "n/a"]
    assert row(table, "restart: all N confirmed")[-6:-4] == ["n/a", "n/a"]
    # never all synced: no figure, no ratio
    assert row(table, "apply → all Ready (s, real)")[6:11] == ["15.00", "—", "—", "—", "—"]


def test_without_ack_the_table_is_as_before() -> None:
    table = report.size_table(run(0.5, 0.1), None)
    assert "ack" not in table.splitlines()[0]
    assert report.ack_notes(None) == []


def test_the_notes_say_how_many_synced_and_why_each_phase_is_n_a() -> None:
    theirs = run(5.0, 120.0, restart={"not_applicable": "never synced"})
    theirs["apply"]["ready_count"] = 0
    theirs["steady"]["synced_at_end"] = 0
    notes = report.ack_notes(theirs)
    assert notes[0].startswith("ack: 0/20 objects ever ACK.ResourceSynced=True (0 at the end")
    assert notes[1:] == ["ack: restart n/a: never synced"]
