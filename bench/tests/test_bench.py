"""The pure parts of the benchmark harness (bench/): arithmetic, parsing, table, matching."""

from __future__ import annotations

import os
import sys
import tracemalloc
from pathlib import Path

import pytest

from bench import baseline, machine, procstat, report, stats, traced, workload


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert stats.percentile(values, 50) == pytest.approx(50.5)
    assert stats.percentile(values, 99) == pytest.approx(99.01)
    assert stats.percentile(values, 0) == 1.0
    assert stats.percentile(values, 100) == 100.0


def test_percentile_ignores_input_order_and_handles_one_value() -> None:
    assert stats.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert stats.percentile([7.0], 99) == 7.0


@pytest.mark.parametrize("q", [-1, 101])
def test_percentile_rejects_out_of_range(q: float) -> None:
    with pytest.raises(ValueError):
        stats.percentile([1.0], q)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        stats.percentile([], 50)


def test_summary() -> None:
    assert stats.summary([]) == {"count": 0}
    s = stats.summary([1.0, 2.0, 3.0, 4.0])
    assert s["count"] == 4
    assert s["p50"] == 2.5
    assert s["max"] == 4.0
    assert s["mean"] == 2.5


def test_per_component_hour_and_extrapolation() -> None:
    # 1,000 components, 60 s window: 50 Lists and 10 Describes.
    rates = stats.per_component_hour(
        {"ListInferenceComponents": 50, "DescribeInferenceComponent": 10},
        components=1000,
        window_seconds=60,
    )
    assert rates == {
        "DescribeInferenceComponent": pytest.approx(0.6),
        "ListInferenceComponents": pytest.approx(3.0),
    }
    # Measured at a 20 s resync, the same per-pass work at 300 s is 15 times rarer.
    assert stats.at_resync(3.0, measured_resync=20, target_resync=300) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        stats.per_component_hour({}, components=0, window_seconds=60)


def test_count_by() -> None:
    calls = [{"operation": "B"}, {"operation": "A"}, {"operation": "B"}]
    assert stats.count_by(calls, "operation") == {"A": 1, "B": 2}


STATUS = """Name:\tpython3
State:\tS (sleeping)
VmHWM:\t  180224 kB
VmRSS:\t  150000 kB
Threads:\t12
"""
# Field 2 holds spaces and a parenthesis; utime=1200 and stime=300 are fields 14 and 15.
STAT = "4242 (python3 (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1200 300 0 0 20 0 12 0"


def test_parse_proc_status_and_stat() -> None:
    fields = procstat.parse_status(STATUS)
    assert fields["VmRSS"] == 150000
    assert fields["VmHWM"] == 180224
    assert "Threads" not in fields
    assert procstat.parse_stat_cpu_ticks(STAT) == 1500


def test_cpu_percent() -> None:
    first = procstat.ProcSample(wall=10.0, rss_kb=1, hwm_kb=1, cpu_ticks=1000)
    last = procstat.ProcSample(wall=20.0, rss_kb=1, hwm_kb=1, cpu_ticks=1500)
    assert procstat.cpu_percent(first, last, 100) == pytest.approx(50.0)
    with pytest.raises(ValueError):
        procstat.cpu_percent(last, first, 100)


def test_sample_reads_this_process() -> None:
    sample = procstat.sample(os.getpid())
    assert 0 < sample.rss_kb <= sample.hwm_kb
    assert sample.cpu_ticks > 0


def test_machine_parsers() -> None:
    assert machine.parse_meminfo_total_kb("MemTotal:       24684544 kB\nMemFree: 1 kB\n") == (
        24684544
    )
    cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n"
    assert machine.parse_cpu_model(cpuinfo) == "AMD EPYC 7B13"
    with pytest.raises(ValueError):
        machine.parse_meminfo_total_kb("MemFree: 1 kB\n")


def test_render_table_aligns_columns() -> None:
    text = report.render_table(["figure", "a", "b"], [["x", "1.00", "22.00"], ["longer", "3", "4"]])
    lines = text.splitlines()
    assert lines[0] == "figure     a      b"
    assert lines[1] == "------  ----  -----"
    assert lines[2] == "x       1.00  22.00"
    assert lines[3] == "longer     3      4"
    with pytest.raises(ValueError):
        report.render_table(["a", "b"], [["only one"]])


def test_fmt_ratio_and_verdict() -> None:
    assert report.fmt(None) == "—"
    assert report.fmt(0.1234) == "0.12"
    assert report.fmt(1234.5) == "1,234"
    assert report.ratio(10.0, 2.0) == "5.0x"
    assert report.ratio(1.0, 0.0) == "∞"
    assert report.ratio(None, 1.0) == "—"
    assert report.verdict("edit_p99", 0.4) == "p99 edit→Update < 1 s: met"
    assert report.verdict("rss", 300.0) == "RSS < 200 MB: missed by 100 (1.5x the target)"
    assert report.verdict("writes_max", 0.0) == "0 SageMaker writes: met"  # at the limit: met
    assert report.verdict("writes_max", 3.0) == "0 SageMaker writes: missed (3.00)"
    assert report.verdict("edit_p50", 0.3).endswith("missed by 0.00 (1.0x the target)")
    assert report.verdict("edit_p99", None).endswith("not measured")
    assert report.verdict("apply", 3.0) == ""


def test_size_table_from_results() -> None:
    def result(p99: float, describe_rate: float) -> dict[str, object]:
        return {
            "apply": {"apply_seconds": 2.0, "all_ready_seconds": 15.0},
            "edits": {"from_patch_returned": {"p50": 0.1, "p99": p99}},
            "steady": {
                "per_component_hour": {"DescribeInferenceComponent": describe_rate},
                "per_component_hour_total": describe_rate,
                "per_component_hour_at_default_resync": describe_rate / 15,
                "rss_mb": 120.0,
            },
        }

    table = report.size_table(result(0.5, 3.0), result(2.0, 180.0))
    describe = next(line for line in table.splitlines() if "DescribeInferenceComponent" in line)
    assert describe.split() == ["DescribeInferenceComponent", "3.00", "180", "60.0x"]
    p99 = next(
        line for line in table.splitlines() if line.startswith("edit → Update") and "p99" in line
    )
    assert p99.split()[-9:] == ["0.50", "2.00", "4.0x", "p99", "edit→Update", "<", "1", "s:", "met"]
    rss = next(line for line in table.splitlines() if line.startswith("operator RSS"))
    assert rss.split()[-8:] == ["120", "120", "1.0x", "RSS", "<", "200", "MB:", "met"]


def test_the_restart_target_depends_on_n() -> None:
    run = {"restart": {"confirmed_seconds": 41.0, "calls_total": 25, "call_budget": 20}}
    table = report.size_table(run, None)
    calls = next(line for line in table.splitlines() if line.startswith("restart: SageMaker"))
    assert calls.endswith("≤ N/100 + 10 = 20: missed by 5.00 (1.2x the target)")
    seconds = next(line for line in table.splitlines() if line.startswith("restart: all N"))
    assert seconds.endswith("≤ 60 s: met")


def test_phase_samples_are_reproducible_and_keep_edits_off_rolling_components() -> None:
    names = [workload.component_name("s", i) for i in range(1000)]
    picked = workload.samples(names, edits=50, rollouts=100, seed=7)
    assert picked == workload.samples(names, edits=50, rollouts=100, seed=7)
    assert {k: len(v) for k, v in picked.items()} == {
        "quiet": 50,
        "rolling": 100,
        "under_rollouts": 50,
        "under_sweep": 50,
    }
    assert not set(picked["under_rollouts"]) & set(picked["rolling"])
    small = workload.samples(names[:10], edits=50, rollouts=100, seed=7)
    assert (len(small["rolling"]), len(small["under_rollouts"])) == (5, 5)  # half roll out


def test_a_background_rollout_is_slow_and_identifiable() -> None:
    doc = workload.manifest("c1", "ns", "ep")
    rolled = workload.rollout(doc, 4)
    assert rolled["spec"]["specification"]["container"]["image"] == workload.edited_image(
        4, "rollout"
    )
    policy = rolled["spec"]["deploymentConfig"]["rollingUpdatePolicy"]
    assert policy["waitIntervalInSeconds"] == workload.ROLLOUT_BAKE_SECONDS
    assert doc["spec"]["specification"]["container"]["image"] == workload.IMAGE  # not mutated
    assert workload.edited_image(4, "rollout") != workload.edited_image(4)


def test_manifests_spread_over_endpoints() -> None:
    docs = workload.manifests("s250", "ns", 250, 100)
    endpoints = [d["spec"]["endpointName"] for d in docs]
    assert workload.endpoint_names("s250", 250, 100) == [
        "s250-ep-000",
        "s250-ep-001",
        "s250-ep-002",
    ]
    assert endpoints.count("s250-ep-000") == 100
    assert endpoints.count("s250-ep-002") == 50
    assert len({d["metadata"]["name"] for d in docs}) == 250
    assert [len(c) for c in workload.chunks(docs, 100)] == [100, 100, 50]
    assert workload.multi_document(docs[:2]).count("kind: InferenceComponent") == 2


def test_is_ready_needs_the_current_generation() -> None:
    ready = {"type": "Ready", "status": "True"}
    obj = {
        "metadata": {"generation": 2},
        "status": {"observedGeneration": 2, "conditions": [ready]},
    }
    assert workload.is_ready(obj)
    stale = {"metadata": {"generation": 3}, "status": obj["status"]}
    assert not workload.is_ready(stale)
    assert not workload.is_ready({"metadata": {"generation": 1}})
    assert workload.ready_reason({"status": {"conditions": [{**ready, "reason": "InSync"}]}}) == (
        "True/InSync"
    )
    assert workload.ready_reason({}) == "none"


def test_update_call_matching() -> None:
    image = workload.edited_image(3)

    def update(name: str, img: str, at: float) -> dict[str, object]:
        return {
            "operation": "UpdateInferenceComponent",
            "at": at,
            "request": {
                "InferenceComponentName": name,
                "Specification": {"Container": {"Image": img}},
            },
        }

    calls = [
        update("c1", image, 5.0),  # before the edit: not it
        {"operation": "DescribeInferenceComponent", "at": 11.0, "request": {}},
        update("c2", image, 11.5),  # another component
        update("c1", workload.IMAGE, 12.0),  # an update with the old image (naive mode)
        update("c1", image, 12.5),
        update("c1", image, 13.0),
    ]
    assert workload.update_call_at(calls, "c1", image, not_before=10.0) == 12.5
    assert workload.update_call_at(calls, "c3", image, not_before=10.0) is None


def test_the_drift_mode_is_chosen_in_one_place() -> None:
    """The naive baseline is an entry point with an injected strategy, not an operator flag."""
    assert baseline.operator_flags("naive") == baseline.operator_flags("sweep") == []
    assert baseline.is_naive("naive") and not baseline.is_naive("sweep")
    assert baseline.available() and baseline.NAIVE_SCRIPT.name == "naive.py"


def test_traced_render_lists_the_top_allocation_sites(tmp_path: Path) -> None:
    tracemalloc.start(2)
    try:
        line = sys._getframe().f_lineno + 1
        hoard = [bytearray(1000) for _ in range(2000)]  # ~2 MB from one line
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    text = traced.render(snapshot, top=5)
    snapshot.dump(str(tmp_path / "t.snapshot"))  # what the operator's wrapper writes
    assert traced.render_file(tmp_path / "t.snapshot").read_text() == traced.render(snapshot)
    assert len(hoard) == 2000
    assert text.startswith("total traced: ")
    by_line = text.split("== top 5 by line ==")[1].split("==")[0].strip().splitlines()
    assert 1 <= len(by_line) <= 5  # only what was allocated since start(): here, few sites
    assert by_line[0].endswith(f"{__file__}:{line}")  # the biggest site comes first
    assert "== top 5 by traceback ==" in text


DEBUGMALLOCSTATS = """Small block threshold = 512, in 32 size classes.

class   size   num pools   blocks in use  avail blocks
-----   ----   ---------   -------------  ------------
    0     16          12            6000          144

# arenas allocated total           =                1,234
# arenas reclaimed                 =                1,000
# arenas highwater mark            =                  400
# arenas allocated current         =                  234
234 arenas * 1048576 bytes/arena   =          245,366,784

# bytes in allocated blocks        =          150,000,000
# bytes in available blocks        =           80,000,000
12 unused pools * 16384 bytes      =              196,608
# bytes lost to pool headers       =            2,000,000
# bytes lost to quantization       =            1,000,000
# bytes lost to arena alignment    =                    0
Total                              =          245,366,784
"""


def test_parse_pymalloc_reads_the_totals() -> None:
    assert traced.parse_pymalloc(DEBUGMALLOCSTATS) == {
        "arenas": 234,
        "arenas_highwater": 400,
        "allocated_blocks_bytes": 150_000_000,
        "available_blocks_bytes": 80_000_000,
        "unused_pools_bytes": 196_608,
        "total_bytes": 245_366_784,
    }


def test_heap_probe_of_this_process() -> None:
    probe = traced.heap(trim=True)
    assert probe["rss_kb"] > 0 and probe["rss_after_trim_kb"] > 0
    assert probe["glibc"]["in_use_kb"] > 0
    # This process's own pymalloc arenas hold at least its live small objects.
    pymalloc = probe["pymalloc"]
    assert pymalloc["arenas"] > 0
    assert pymalloc["total_bytes"] >= pymalloc["allocated_blocks_bytes"] > 0
    assert probe["gc_objects"] > 1000
    assert probe["gc_types"]["dict"] > 100


def test_gc_pauses_are_recorded_by_generation() -> None:
    pauses = traced.GcPauses()
    pauses("start", {"generation": 2})
    pauses("stop", {"generation": 2})
    pauses("start", {"generation": 0})
    pauses("stop", {"generation": 0})
    pauses("start", {"generation": 2})
    pauses("stop", {"generation": 2})
    report = pauses.report()
    assert set(report) == {"0", "2"}
    assert report["2"]["count"] == 2 and report["0"]["count"] == 1
    assert report["2"]["max_seconds"] <= report["2"]["total_seconds"]


def test_traced_difference_names_what_one_snapshot_holds_beyond_another() -> None:
    tracemalloc.start(1)
    try:
        fresh = tracemalloc.take_snapshot()
        kept_alive = [bytearray(4096) for _ in range(64)]  # ~256 KiB at this line
        kept = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    text = traced.render_difference(kept, fresh, top=3)
    first = text.splitlines()[1]
    assert first.split()[0].startswith("+") and float(first.split()[0]) >= 256
    assert "test_bench.py" in first
    assert len(kept_alive) == 64


def test_heap_breakdown_splits_rss_into_its_parts() -> None:
    heap = {
        "rss_kb": 200 * 1024,
        "glibc": {"in_use_kb": 30 * 1024, "free_kb": 10 * 1024, "mmapped_kb": 2 * 1024},
        "pymalloc": {"allocated_blocks_bytes": 90 * 2**20, "total_bytes": 120 * 2**20},
        "rss_after_trim_kb": 190 * 1024,
    }
    parts = dict(report.heap_breakdown(heap))
    assert parts["RSS"] == 200
    assert parts["pymalloc live"] == 90 and parts["pymalloc free in arenas"] == 30
    assert parts["glibc free kept"] == 10
    assert parts["rest (code, libraries, stacks)"] == 200 - 90 - 30 - 30 - 10 - 2
    line = report.heap_line(heap)
    assert line.startswith("RSS 200 MB = pymalloc live 90 + pymalloc free in arenas 30")
    assert line.endswith("; 190 MB after malloc_trim(0)")
    assert report.heap_breakdown(None) == [] and report.heap_line({}) == "no heap probe"


def test_stalls_counts_lag_and_gc_pauses_inside_the_window_only() -> None:
    heap = {
        "loop_lag": {"events": [[5.0, 0.2], [12.0, 1.5], [13.0, 0.3], [30.0, 9.0]]},
        "gc_pause_events": [[11.9, 2, 1.4, 1.2], [13.0, 0, 0.06, 0.01], [1.0, 2, 3.0, 3.0]],
    }
    found = report.stalls(heap, 10.0, 20.0)
    assert found["lag_events"] == 2 and found["lag_max_seconds"] == 1.5
    assert found["lag_total_seconds"] == pytest.approx(1.8)
    assert found["gc_pauses"] == 2 and found["gc_full_pauses"] == 1
    assert found["gc_max_seconds"] == 1.4
    assert found["gc_total_cpu_seconds"] == pytest.approx(1.21)
    assert "max 1.50 s" in report.stalls_line(found)
    assert report.stalls({}, 0, 1)["lag_events"] == 0


def test_loop_lag_records_late_wake_ups_over_the_threshold() -> None:
    lag = traced.LoopLag(interval=0.05, threshold=0.1)
    lag.late(100.0, 100.06)  # 10 ms late: counted, not an event
    lag.late(200.0, 200.55)  # 0.5 s late
    report_ = lag.report()
    assert report_["samples"] == 2
    assert report_["max_seconds"] == pytest.approx(0.5)
    assert len(report_["events"]) == 1
    assert report_["events"][0][0] == pytest.approx(200.05)
    assert report_["events"][0][1] == pytest.approx(0.5)


def test_gc_pause_events_are_kept_past_the_threshold_only() -> None:
    pauses = traced.GcPauses(threshold=0.0)
    pauses("start", {"generation": 2})
    pauses("stop", {"generation": 2})
    assert len(pauses.events) == 1 and pauses.events[0][1] == 2
    quiet = traced.GcPauses(threshold=60.0)
    quiet("start", {"generation": 0})
    quiet("stop", {"generation": 0})
    assert not quiet.events
