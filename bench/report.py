"""The printed table and the JSON results: pure functions of the measured dictionaries."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

Figure = Callable[[Mapping[str, Any]], float | None]

# The targets, checked on the sweep (default) mode at 1,000 components. Keys
# ending in "_max" are met at the limit itself (≤); the others below it (<).
TARGETS: dict[str, tuple[str, float]] = {
    "edit_p50": ("p50 edit→Update < 0.3 s", 0.3),
    "edit_p99": ("p99 edit→Update < 1 s", 1.0),
    "rollouts_edit_p50": ("p50 < 0.3 s", 0.3),
    "rollouts_edit_p99": ("p99 < 1 s", 1.0),
    "sweep_edit_p50": ("p50 < 0.3 s", 0.3),
    "sweep_edit_p99": ("p99 < 1 s", 1.0),
    "calls_default": ("≤ 0.1 calls/component/h", 0.1),
    "writes_max": ("0 SageMaker writes", 0.0),
    "objects_written_max": ("0 object writes", 0.0),
    "rss": ("RSS < 200 MB", 200.0),
    # the autoscaled mode's (0 where nothing is autoscaled)
    "autoscaling_reads_default_max": ("≤ 0.5 autoscaling reads/component/h", 0.5),
    "autoscaling_writes_max": ("0 autoscaling writes", 0.0),
    "restart_seconds_max": ("≤ 60 s", 60.0),
}


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [len(h) for h in header]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row {row!r} has {len(row)} cells, header has {len(header)}")
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def ratio(naive: float | None, sweep: float | None) -> str:
    if naive is None or sweep is None:
        return "—"
    if sweep == 0:
        return "∞" if naive else "1.0x"
    return f"{naive / sweep:.1f}x"


def _get(result: Mapping[str, Any], *path: str) -> Any:
    node: Any = result
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def figures(result: Mapping[str, Any]) -> dict[str, float | None]:
    """The headline numbers of one run, by stable key."""
    steady_ops: Mapping[str, float] = _get(result, "steady", "per_component_hour") or {}
    out: dict[str, float | None] = {
        "apply": _get(result, "apply", "apply_seconds"),
        "first_object": _get(result, "apply", "first_object_seconds"),
        "first_call": _get(result, "apply", "first_call_seconds"),
        "first_create": _get(result, "apply", "first_create_seconds"),
        "last_create": _get(result, "apply", "last_create_seconds"),
        "ready_max": _get(result, "apply", "all_ready_seconds"),
        "ready_emulated": _get(result, "apply", "all_ready_emulated_seconds"),
        "ready_real_speed_max": _get(result, "apply", "all_ready_real_speed_estimate_seconds"),
        "edit_p50": _get(result, "edits", "from_patch_returned", "p50"),
        "edit_p99": _get(result, "edits", "from_patch_returned", "p99"),
        "edit_p99_before": _get(result, "edits", "from_before_patch", "p99"),
        "rollouts_edit_p50": _get(result, "edits_under_rollouts", "from_patch_returned", "p50"),
        "rollouts_edit_p99": _get(result, "edits_under_rollouts", "from_patch_returned", "p99"),
        "sweep_edit_p50": _get(result, "edits_under_sweep", "from_patch_returned", "p50"),
        "sweep_edit_p99": _get(result, "edits_under_sweep", "from_patch_returned", "p99"),
        "restart_seconds_max": _get(result, "restart", "confirmed_seconds"),
        "restart_calls_max": _get(result, "restart", "calls_total"),
        "quiet_waited": _get(result, "steady", "quiet", "waited_seconds")
        if _get(result, "steady", "quiet", "settled")
        else None,
        "writes_max": _get(result, "steady", "sagemaker_writes"),
        "calls_measured": _get(result, "steady", "per_component_hour_total"),
        "calls_default": _get(result, "steady", "per_component_hour_at_default_resync"),
        "objects_written_max": _get(result, "steady", "objects_written"),
        "autoscaling_reads_default_max": _get(
            result, "steady", "autoscaling_reads_per_component_hour_at_default_resync"
        ),
        "autoscaling_writes_max": _get(result, "steady", "autoscaling_writes"),
        "rss": _get(result, "steady", "rss_mb"),
        "peak_rss": _get(result, "steady", "peak_rss_mb"),
        "cpu": _get(result, "steady", "cpu_percent"),
    }
    for op, rate in steady_ops.items():
        out[f"op:{op}"] = rate
    return out


ROWS: list[tuple[str, str]] = [
    ("apply", "kubectl apply of all N (s)"),
    ("first_object", "apply → first object stored (s)"),
    ("first_call", "apply → first SageMaker call (s)"),
    ("first_create", "apply → first CreateInferenceComponent (s)"),
    ("last_create", "apply → last CreateInferenceComponent (s)"),
    ("ready_max", "apply → all Ready (s, real)"),
    ("ready_emulated", "apply → all Ready (s, emulated = real / scale)"),
    ("ready_real_speed_max", "apply → all Ready at real speed (s, estimate)"),
    ("edit_p50", "edit → UpdateInferenceComponent p50 (s)"),
    ("edit_p99", "edit → UpdateInferenceComponent p99 (s)"),
    ("edit_p99_before", "  p99 from before kubectl patch started (s)"),
    ("rollouts_edit_p50", "  p50 while 100 slow rollouts are in flight (s)"),
    ("rollouts_edit_p99", "  p99 while 100 slow rollouts are in flight (s)"),
    ("sweep_edit_p50", "  p50 while a resync sweep looks at all N (s)"),
    ("sweep_edit_p99", "  p99 while a resync sweep looks at all N (s)"),
    ("restart_seconds_max", "restart: all N confirmed Ready (s)"),
    ("restart_calls_max", "restart: SageMaker calls until then"),
    ("quiet_waited", "wait for a whole resync without a write (s; — never)"),
    ("calls_measured", "steady calls/component/h at resync R"),
]
TAIL_ROWS: list[tuple[str, str]] = [
    ("calls_default", "steady calls/component/h at R = 300 s (extrap.)"),
    ("writes_max", "SageMaker writes during the steady window"),
    ("autoscaling_reads_default_max", "steady autoscaling reads/component/h at defaults"),
    ("autoscaling_writes_max", "autoscaling writes during the steady window"),
    ("objects_written_max", "objects written during the steady window"),
    ("rss", "operator RSS, steady (MB)"),
    ("peak_rss", "operator peak RSS (MB)"),
    ("cpu", "operator CPU, steady (% of one core)"),
]


def verdict(
    key: str, value: float | None, targets: Mapping[str, tuple[str, float]] = TARGETS
) -> str:
    if key not in targets:
        return ""
    text, limit = targets[key]
    if value is None:
        return f"{text}: not measured"
    if value < limit or ((key.startswith("ready") or key.endswith("_max")) and value <= limit):
        return f"{text}: met"
    if limit == 0:
        return f"{text}: missed ({fmt(value)})"
    return f"{text}: missed by {fmt(value - limit)} ({fmt(value / limit, 1)}x the target)"


CREATE_SECONDS = 120.0  # the emulator's modelled component create (emulated seconds)
DEFAULT_RATE = 20.0  # the operator's default --max-calls-per-second


def call_rate(config: Mapping[str, Any]) -> float:
    """The operator's SageMaker calls per second in this run (its flag, or the default)."""
    flags = [str(f) for f in config.get("operator_flags") or []]
    for i, flag in enumerate(flags):
        if flag.startswith("--max-calls-per-second="):
            return float(flag.split("=", 1)[1])
        if flag == "--max-calls-per-second" and i + 1 < len(flags):
            return float(flags[i + 1])
    return DEFAULT_RATE


def targets_for(result: Mapping[str, Any] | None) -> dict[str, tuple[str, float]]:
    """TARGETS plus those that depend on the run: the restart's call budget (N/100 + 10)
    and all Ready within the modelled create time plus N / rate (one call per Create)."""
    targets = dict(TARGETS)
    budget = _get(result or {}, "restart", "call_budget")
    if budget is not None:
        targets["restart_calls_max"] = (f"≤ N/100 + 10 = {budget}", float(budget))
    config = (result or {}).get("config") or {}
    if config.get("components"):
        n, rate, scale = config["components"], call_rate(config), config["time_scale"]
        creates = n / rate
        targets["ready_max"] = (
            f"≤ create {CREATE_SECONDS * scale:g} s + N/rate {creates:g} s",
            CREATE_SECONDS * scale + creates,
        )
        targets["ready_real_speed_max"] = (
            f"≤ create {CREATE_SECONDS:g} s + N/rate {creates:g} s",
            CREATE_SECONDS + creates,
        )
    return targets


# The phase each figure comes from, where a mode can declare a phase not applicable (the
# ack mode: {"not_applicable": reason} in place of the phase's figures).
PHASE_OF: dict[str, str] = {
    "rollouts_edit_p50": "edits_under_rollouts",
    "rollouts_edit_p99": "edits_under_rollouts",
    "sweep_edit_p50": "edits_under_sweep",
    "sweep_edit_p99": "edits_under_sweep",
    "restart_seconds_max": "restart",
    "restart_calls_max": "restart",
}
NOT_APPLICABLE = "n/a"


def not_applicable(result: Mapping[str, Any] | None, key: str) -> bool:
    phase = PHASE_OF.get(key)
    return bool(phase and _get(result or {}, phase, "not_applicable"))


def size_table(
    sweep: Mapping[str, Any] | None,
    naive: Mapping[str, Any] | None,
    *,
    ack: Mapping[str, Any] | None = None,
) -> str:
    """One table for one N: sweep, naive, their ratio, ACK and its ratio when it ran, and
    the target verdict for sweep. A phase a mode has no meaning for shows "n/a"."""
    a = figures(sweep) if sweep else {}
    b = figures(naive) if naive else {}
    c = figures(ack) if ack else {}
    targets = targets_for(sweep)
    ops = sorted({k for k in (*a, *b, *c) if k.startswith("op:")})
    rows = [
        *ROWS,
        *((op, f"  {op.removeprefix('op:')}") for op in ops),
        *TAIL_ROWS,
    ]

    def ack_cells(key: str) -> list[str]:
        if ack is None:
            return []
        if not_applicable(ack, key):
            return [NOT_APPLICABLE, NOT_APPLICABLE]
        return [fmt(c.get(key)), ratio(c.get(key), a.get(key))]

    body = [
        [
            title,
            fmt(a.get(key)),
            fmt(b.get(key)),
            ratio(b.get(key), a.get(key)),
            *ack_cells(key),
            verdict(key, a.get(key), targets),
        ]
        for key, title in rows
    ]
    header = ["figure", "sweep", "naive", "naive/sweep"]
    header += ["ack", "ack/sweep"] if ack is not None else []
    return render_table([*header, "target (sweep)"], body)


def ack_notes(ack: Mapping[str, Any] | None) -> list[str]:
    """What the ack column means, under the table: how many objects ACK ever reported
    synced, its clock, and why each "n/a" is one."""
    if not ack:
        return []
    applied = ack.get("apply") or {}
    steady = ack.get("steady") or {}
    lines = [
        f"ack: {applied.get('ready_count', 0)}/{(ack.get('config') or {}).get('components')} "
        f"objects ever ACK.ResourceSynced=True ({steady.get('synced_at_end', '—')} at the end "
        "of the steady window); its rates are at its own default resync (30 s), not R / 300",
    ]
    for phase in sorted(set(PHASE_OF.values())):
        reason = _get(ack, phase, "not_applicable")
        if reason:
            lines.append(f"ack: {phase} n/a: {reason}")
    return lines


def machine_line(machine: Mapping[str, Any]) -> str:
    return (
        f"machine: {machine.get('cores')} cores, {machine.get('ram_gib')} GiB RAM, "
        f"{machine.get('cpu_model')}, Linux {machine.get('kernel')}, "
        f"Python {machine.get('python')}, kube-apiserver {machine.get('kube_apiserver')}"
    )


def write_json(directory: Path, date: str, components: int, document: Mapping[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{date}-{components}.json"
    path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    return path


def heap_breakdown(heap: Mapping[str, Any] | None) -> list[tuple[str, float]]:
    """The heap probe's report (bench/traced.py) as the parts of RSS, in MB: live small
    Python objects (pymalloc's blocks in use), pymalloc's free space inside the arenas
    it still holds (fragmentation: an arena goes back only when wholly empty), glibc's
    memory in use (larger objects, C libraries), glibc's free memory it keeps (what
    malloc_trim gives back), large mmapped blocks, and the rest (code, libraries,
    thread stacks: RSS minus the others). Empty when there is no report."""
    if not heap or "pymalloc" not in heap or "glibc" not in heap:
        return []
    mb = 1024 * 1024
    pym, libc = heap["pymalloc"], heap["glibc"]
    live = pym.get("allocated_blocks_bytes", 0) / mb
    arenas = pym.get("total_bytes", 0) / mb
    parts = [
        ("pymalloc live", live),
        ("pymalloc free in arenas", max(0.0, arenas - live)),
        ("glibc in use", libc.get("in_use_kb", 0) / 1024),
        ("glibc free kept", libc.get("free_kb", 0) / 1024),
        ("mmapped", libc.get("mmapped_kb", 0) / 1024),
    ]
    rss = heap.get("rss_kb", 0) / 1024
    parts.append(("rest (code, libraries, stacks)", rss - sum(v for _, v in parts)))
    return [("RSS", rss), *parts]


def heap_line(heap: Mapping[str, Any] | None) -> str:
    """One line: RSS = its parts (MB), then what malloc_trim gave back when it ran."""
    parts = heap_breakdown(heap)
    if not parts:
        return "no heap probe"
    (_, rss), rest = parts[0], parts[1:]
    text = f"RSS {rss:.0f} MB = " + " + ".join(f"{name} {value:.0f}" for name, value in rest)
    after = (heap or {}).get("rss_after_trim_kb")
    if after is not None:
        text += f"; {after / 1024:.0f} MB after malloc_trim(0)"
    return text


def stalls(heap: Mapping[str, Any], start: float, end: float) -> dict[str, Any]:
    """The event loop's lag and the GC's pauses between ``start`` and ``end`` (monotonic
    seconds) from a heap probe's records: how long the loop stood still, and how much
    of it a collection explains."""
    lag = [e for e in (heap.get("loop_lag") or {}).get("events", []) if start <= e[0] <= end]
    pauses = [e for e in heap.get("gc_pause_events", []) if start <= e[0] <= end]
    return {
        "seconds": end - start,
        "lag_events": len(lag),
        "lag_max_seconds": max((e[1] for e in lag), default=0.0),
        "lag_total_seconds": sum(e[1] for e in lag),
        "gc_pauses": len(pauses),
        "gc_full_pauses": sum(1 for e in pauses if e[1] == 2),
        "gc_max_seconds": max((e[2] for e in pauses), default=0.0),
        "gc_total_seconds": sum(e[2] for e in pauses),
        "gc_total_cpu_seconds": sum(e[3] for e in pauses),
    }


def stalls_line(found: Mapping[str, Any]) -> str:
    return (
        f"loop late by >= 0.1 s {found['lag_events']} times in {found['seconds']:.0f} s "
        f"(max {found['lag_max_seconds']:.2f} s, {found['lag_total_seconds']:.1f} s in all); "
        f"GC pauses >= 0.05 s: {found['gc_pauses']} ({found['gc_full_pauses']} full, max "
        f"{found['gc_max_seconds']:.2f} s, {found['gc_total_seconds']:.1f} s wall, "
        f"{found['gc_total_cpu_seconds']:.1f} s CPU)"
    )
