"""The ack mode end to end at N = 3: `python -m bench --modes ack` with the real control
plane, the emulator and ACK's cached controller (marked `ack`, so `make test` runs it after
the ACK build). About four minutes: the apply phase waits 75 s past the last Create for a
sync that does not come, the quiet wait two of ACK's 30 s intervals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import __main__ as bench_main
from bench import ack

pytestmark = [pytest.mark.ack, pytest.mark.controlplane, pytest.mark.slow]


def test_ack_mode_measures_acks_loop_on_three_components(tmp_path: Path) -> None:
    argv = [
        "--sizes", "3", "--modes", "ack", "--resync", "30", "--windows", "1",
        "--phases", "", "--edits", "2", "--out", str(tmp_path),
    ]  # fmt: skip
    # ACK not converging is a finding recorded in the results, not a failed bench.
    assert bench_main.main(argv) == 0
    (saved,) = tmp_path.glob("*-3.json")
    run = json.loads(saved.read_text())["runs"]["ack"]

    args = run["config"]["controller_args"]
    assert args[args.index("--reconcile-resources") + 1] == "InferenceComponent"
    assert not [a for a in args if "resync" in a or "max-concurrent" in a]  # ACK's defaults

    applied = run["apply"]
    assert applied["created"] == 3
    # With an image in the spec ACK never reports synced (Describe has no Image to compare).
    assert applied["ready_count"] == 0
    assert applied["all_ready_seconds"] is None

    edits = run["edits"]
    assert edits["matched"] == 2, edits["missing"]
    assert edits["from_patch_returned"]["p99"] < 60  # within two of ACK's requeues

    steady = run["steady"]
    assert steady["quiet"]["settled"] is False
    assert steady["calls"].get("UpdateInferenceComponent", 0) >= 1
    assert steady["calls"].get("DescribeInferenceComponent", 0) >= 1
    assert steady["sagemaker_writes"] >= 1 and steady["objects_written"] >= 1
    assert steady["per_component_hour_at_default_resync"] == steady["per_component_hour_total"]
    assert steady["rss_mb"] > 0 and steady["synced_at_end"] == 0

    for phase, reason in ack.NOT_APPLICABLE.items():
        assert run[phase] == {"not_applicable": reason}
