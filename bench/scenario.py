"""One measured run: N components under one operator in one drift mode.

Phases, in order, each with its own deadline:
1. apply: `kubectl apply --server-side` of all N in chunks; poll the list until each
   component has been Ready (for its generation) at least once;
2. edits: patch the image of a sample of components at a fixed pace (open loop) and
   find each edit's UpdateInferenceComponent in the emulator's call log;
3. settle: wait (bounded) until every component is Ready again;
4. edits under rollouts (phase "rollouts"): start slow rollouts of up to 100 other
   components in one apply, then the same edits as in 2 while those are in flight;
   settle;
5. edits under a sweep (phase "sweep"): change every other component out of band
   (a runtime-config update to the same copy count, as a console user might), so the
   next resync pass must look at each of them, then the same edits; settle;
6. steady: a window of whole resync intervals with nothing changing: SageMaker calls
   by operation (and writes: none expected), operator RSS and CPU;
7. restart (phase "restart"): a new operator process over the N settled components;
   how long until it has confirmed every one Ready, and with how many SageMaker calls.
"""

from __future__ import annotations

import json
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import botocore.exceptions

from bench import baseline, procstat, quiet, report, stats, traced, workload
from bench.readiness import ReadyWatch
from bench.world import RESOURCE, Api, BenchError, Emulator, Kubectl, Operator, wait_for
from ic_operator.aws.operations import (
    AUTOSCALING_OPERATIONS,
    AUTOSCALING_WRITE_OPERATIONS,
    WRITE_OPERATIONS,
)

DEFAULT_RESYNC = 300.0  # the operator's default, for the extrapolation
CREATE_SECONDS = 120.0  # the emulator's component create duration (emulated seconds)
ROLLOUT_SECONDS = 60.0 + workload.ROLLOUT_BAKE_SECONDS + 10.0  # one batch, bake, retire
PHASES = ("rollouts", "sweep", "restart")  # beyond apply, edits, settle and steady
AUTOSCALING = frozenset().union(*AUTOSCALING_OPERATIONS.values())
AUTOSCALING_WRITES = AUTOSCALING_WRITE_OPERATIONS
AUTOSCALING_READS = AUTOSCALING - AUTOSCALING_WRITES


@dataclass(frozen=True)
class RunConfig:
    components: int
    # sweep (the operator) | naive (bench/naive.py's strategy injected) | autoscaled (the
    # operator, every component with spec.autoScaling)
    mode: str
    run: str  # short unique prefix for names (one emulator serves every run)
    per_endpoint: int = 100
    time_scale: float = 0.1
    resync: float = 20.0
    windows: int = 6  # resync intervals in the steady-state window (3 full-listing intervals)
    edits: int = 50
    edit_interval: float = 0.5
    apply_chunk: int = 250
    ready_timeout: float = 600.0
    edit_timeout: float = 90.0
    settle_timeout: float = 90.0
    poll_interval: float = 0.5
    seed: int = 7
    extra_flags: tuple[str, ...] = ()
    extra_env: tuple[tuple[str, str], ...] = ()  # e.g. (("MALLOC_ARENA_MAX", "2"),)
    tracemalloc: int = 0  # frames per trace; 0 = the operator runs untraced
    rollouts: int = 100  # components rolling out during the "rollouts" edit phase
    phases: tuple[str, ...] = PHASES
    restart_timeout: float = 180.0
    # The steady window waits for one resync interval without a write, at most this many.
    quiet_bound_resyncs: float = 5.0

    def restart_call_budget(self) -> int:
        """The issue's target for a restart: N / 100 + 10 SageMaker calls."""
        return self.components // 100 + 10

    def operator_flags(self) -> list[str]:
        # Poll bounds scaled like the emulator's clock, so a transition is polled as
        # often, relative to its length, as the defaults (5-60 s) would at real speed.
        flags = [
            "--resync-interval", str(self.resync),
            "--poll-min", f"{5 * self.time_scale:g}",
            "--poll-max", f"{60 * self.time_scale:g}",
        ]  # fmt: skip
        return [*flags, *baseline.operator_flags(self.mode), *self.extra_flags]


@dataclass
class Context:
    """What every run shares: one control plane, one emulator, one kubectl."""

    kubectl: Kubectl
    api: Api
    emulator: Emulator
    kubeconfig: Path
    log_dir: Path
    progress: Callable[[str], None] = field(default=lambda text: print(text, flush=True))


@dataclass
class RunResult:
    config: dict[str, Any]
    apply: dict[str, Any] = field(default_factory=dict)
    edits: dict[str, Any] = field(default_factory=dict)
    settle: dict[str, Any] = field(default_factory=dict)
    edits_under_rollouts: dict[str, Any] = field(default_factory=dict)
    edits_under_sweep: dict[str, Any] = field(default_factory=dict)
    steady: dict[str, Any] = field(default_factory=dict)
    restart: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _operator(ctx: Context, cfg: RunConfig, namespace: str, suffix: str = "") -> Operator:
    return Operator(
        ctx.log_dir / f"operator-{cfg.run}{suffix}.log",
        ctx.kubeconfig,
        ctx.emulator.url,
        namespace,
        cfg.operator_flags(),
        credentials=ctx.emulator.operator_credentials(),
        extra_env=dict(cfg.extra_env),
        tracemalloc_frames=cfg.tracemalloc,
        naive=baseline.is_naive(cfg.mode),
    )


def run(ctx: Context, cfg: RunConfig) -> RunResult:
    result = RunResult(config={**asdict(cfg), "operator_flags": cfg.operator_flags()})
    namespace = f"bench-{cfg.run}-{uuid.uuid4().hex[:6]}"
    ctx.kubectl("create", "namespace", namespace)
    operator = _operator(ctx, cfg, namespace)
    label = f"N={cfg.components} {cfg.mode or 'default'}"
    ctx.progress(f"[{label}] operator up in namespace {namespace}")
    operator.start()
    try:
        docs = workload.manifests(
            cfg.run,
            namespace,
            cfg.components,
            cfg.per_endpoint,
            autoscaled=baseline.is_autoscaled(cfg.mode),
        )
        names = [d["metadata"]["name"] for d in docs]
        picked = workload.samples(names, edits=cfg.edits, rollouts=cfg.rollouts, seed=cfg.seed)
        o, r, lb, ns = operator, result, label, namespace
        applied_at = _apply_phase(ctx, cfg, operator=o, result=r, label=lb, namespace=ns, docs=docs)
        result.edits = _edit_phase(
            ctx, cfg, operator=o, result=r, label=lb, sample=picked["quiet"], namespace=ns
        )
        # Never all Ready (the naive baseline's update loop): nothing to settle, and the
        # later phases would measure the loop, not the phase.
        converges = result.apply.get("all_ready_seconds") is not None
        if converges:
            result.settle = _settle_phase(ctx, cfg, operator=o, label=lb, namespace=ns)
        else:
            result.settle = {"settled": False, "skipped": "never all Ready after apply"}
        if converges and "rollouts" in cfg.phases:
            by_name = {d["metadata"]["name"]: d for d in docs}
            rolling = [workload.rollout(by_name[n], i) for i, n in enumerate(picked["rolling"])]

            started: dict[str, float] = {}

            def start_rollouts() -> None:
                # Forced: the quiet phase's kubectl patch may own some of these images now.
                t0 = time.monotonic()
                ctx.kubectl(
                    "apply", "--server-side", "--force-conflicts", "--field-manager=bench",
                    "-f", "-", input=workload.multi_document(rolling),
                )  # fmt: skip
                # The edits are measured while the rollouts are in flight (SageMaker is
                # rolling every one of them), not while their own Updates are queued.
                wait_for(
                    lambda: set(picked["rolling"]) <= ctx.emulator.updating(),
                    timeout=cfg.edit_timeout,
                    interval=0.2,
                    what="every rollout to be in flight",
                )
                started["seconds"] = time.monotonic() - t0
                ctx.progress(
                    f"[{label}] {len(rolling)} slow rollouts in flight "
                    f"{started['seconds']:.1f}s after their apply"
                )

            phase = _edit_phase(
                ctx, cfg, operator=o, result=r, label=f"{lb} under rollouts",
                sample=picked["under_rollouts"], namespace=ns, tag="r", first=start_rollouts,
            )  # fmt: skip
            phase["rollouts"] = len(rolling)
            phase["rollouts_in_flight_after_seconds"] = started.get("seconds")
            in_flight = set(picked["rolling"]) & ctx.emulator.updating()
            phase["rollouts_in_flight_after_edits"] = len(in_flight)
            # Ready stays True while old copies serve: wait for SageMaker to finish them.
            wait_for(
                lambda: not set(picked["rolling"]) & ctx.emulator.updating(),
                timeout=ROLLOUT_SECONDS * cfg.time_scale + cfg.settle_timeout,
                interval=2.0,
                what="the background rollouts to finish",
            )
            phase["settle"] = _settle_phase(ctx, cfg, operator=o, label=lb, namespace=ns)
            result.edits_under_rollouts = phase
        if converges and "sweep" in cfg.phases:
            edited = set(picked["under_sweep"])
            touched = _touch_out_of_band(ctx.emulator, [n for n in names if n not in edited])
            ctx.progress(f"[{label}] {touched['changed']} components changed out of band")
            phase = _edit_phase(
                ctx, cfg, operator=o, result=r, label=f"{lb} under a sweep",
                sample=picked["under_sweep"], namespace=ns, tag="s",
            )  # fmt: skip
            phase["out_of_band"] = touched
            phase["settle"] = _settle_phase(ctx, cfg, operator=o, label=lb, namespace=ns)
            result.edits_under_sweep = phase
            # The steady window must not see the tail of that sweep: every component's
            # next resync after the change is at most one interval away.
            time.sleep(max(0.0, touched["at"] + 1.5 * cfg.resync - time.monotonic()))
        _steady_phase(ctx, cfg, operator=o, result=r, label=lb, applied_at=applied_at, namespace=ns)
        _stalls_by_phase(ctx, result, label)
        if converges and "restart" in cfg.phases:
            operator.stop()
            operator = _operator(ctx, cfg, namespace, "-restart")
            _restart_phase(ctx, cfg, operator=operator, result=r, label=lb)
    except BenchError as exc:
        result.errors.append(str(exc))
        ctx.progress(f"[{label}] FAILED: {exc}")
    finally:
        operator.stop()
    _render_snapshots(ctx, result)
    return result


def _render_snapshots(ctx: Context, result: RunResult) -> None:
    """Top allocation sites of each tracemalloc dump, now that no operator needs the CPU;
    and what the long-lived process held at the end of the steady window that the
    restarted one, serving the same objects, did not."""
    kept, fresh = result.steady.get("tracemalloc"), result.restart.get("tracemalloc")
    if kept and fresh:
        ctx.progress(f"comparing {kept} with {fresh} ...")
        out = Path(kept).with_suffix(".kept-minus-restarted.txt")
        old, new = tracemalloc.Snapshot.load(kept), tracemalloc.Snapshot.load(fresh)
        out.write_text(traced.render_difference(old, new))
        result.restart["tracemalloc_kept_minus_restarted"] = str(out)
    for phase in (result.apply, result.steady, result.restart):
        path = phase.get("tracemalloc")
        if path:
            ctx.progress(f"rendering {path} ...")
            phase["tracemalloc"] = str(traced.render_file(Path(path)))


def _stalls_by_phase(ctx: Context, result: RunResult, label: str) -> None:
    """Each edit phase's event-loop lag and GC pauses, from the heap probe at the end of
    the steady window (its records cover the whole run, on the bench's clock)."""
    heap = result.steady.get("heap")
    for name, phase in (
        ("quiet", result.edits),
        ("under rollouts", result.edits_under_rollouts),
        ("under a sweep", result.edits_under_sweep),
    ):
        window = phase.get("monotonic_window")
        if heap and window:
            phase["stalls"] = report.stalls(heap, *window)
            ctx.progress(f"[{label}] edits {name}: {report.stalls_line(phase['stalls'])}")


def _touch_out_of_band(emulator: Emulator, names: list[str]) -> dict[str, Any]:
    """Change each component behind the operator's back without changing what it runs:
    a runtime-config update to the copy count it already has (1). Its LastModifiedTime
    moves, so the operator's next resync pass cannot trust the listing and must look."""
    start, failed = time.monotonic(), 0
    for name in names:
        try:
            emulator.sagemaker.update_inference_component_runtime_config(
                InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": 1}
            )
        except botocore.exceptions.ClientError:
            failed += 1  # busy (the operator is acting on it): not changed, not counted
    end = time.monotonic()
    return {"changed": len(names) - failed, "failed": failed, "seconds": end - start, "at": end}


def _restart_phase(
    ctx: Context, cfg: RunConfig, *, operator: Operator, result: RunResult, label: str
) -> None:
    """Start a new operator over N settled components; confirmed = its component gauge
    counts all N Ready (it has looked at each, by whatever means it chose)."""
    ctx.emulator.clear_calls()
    wall0, mono0 = time.time(), time.monotonic()
    operator.start()
    healthy = time.monotonic() - mono0

    def all_confirmed() -> bool:
        operator.check_alive()
        samples = operator.metrics()
        ready = sum(
            value
            for key, value in samples.items()
            if key.startswith("ic_operator_components{") and "ready=True" in key
        )
        return ready >= cfg.components

    confirmed: float | None = None
    try:
        wait_for(all_confirmed, timeout=cfg.restart_timeout, interval=0.5, what="restart")
        confirmed = time.monotonic() - mono0
    except BenchError as exc:
        result.errors.append(f"restart: {exc}")
    wall1 = wall0 + (confirmed if confirmed is not None else time.monotonic() - mono0)
    calls = [c for c in ctx.emulator.calls() if wall0 <= c["at"] <= wall1]
    result.restart = {
        "healthy_seconds": healthy,
        "confirmed_seconds": confirmed,
        "calls": stats.count_by(calls, "operation"),
        "calls_total": len(calls),
        "call_budget": cfg.restart_call_budget(),
        "rss_mb": procstat.sample(operator.pid).rss_kb / 1024,
    }
    # The fresh process's heap (and allocation sites, when traced), to set against the
    # long-lived one's at the end of the steady window.
    heap, snapshot = operator.dump_allocations(trim=True)
    result.restart.update(
        heap=heap,
        heap_parts_mb=dict(report.heap_breakdown(heap)),
        tracemalloc=str(snapshot) if snapshot else None,
    )
    ctx.progress(f"[{label}] heap of the restarted process: {report.heap_line(heap)}")
    ctx.progress(
        f"[{label}] restart: all confirmed Ready after "
        f"{'—' if confirmed is None else round(confirmed, 1)}s with {len(calls)} SageMaker "
        f"calls (target ≤ 60 s, ≤ {cfg.restart_call_budget()} calls)"
    )


def _ready_names(api: Api, namespace: str) -> tuple[set[str], int]:
    items = api.list_components(namespace)
    return {i["metadata"]["name"] for i in items if workload.is_ready(i)}, len(items)


def apply_in_chunks(ctx: Context, cfg: RunConfig, docs: list[dict[str, Any]]) -> float:
    """`kubectl apply --server-side` of every document, apply_chunk at a time; seconds taken."""
    start = time.monotonic()
    for chunk in workload.chunks(docs, cfg.apply_chunk):
        ctx.kubectl(
            "apply", "--server-side", "--field-manager=bench", "-f", "-",
            input=workload.multi_document(chunk),
        )  # fmt: skip
    return time.monotonic() - start


def _apply_phase(
    ctx: Context,
    cfg: RunConfig,
    *,
    operator: Operator,
    namespace: str,
    docs: list[dict[str, Any]],
    result: RunResult,
    label: str,
) -> float:
    ctx.emulator.clear_calls()
    before = procstat.sample(operator.pid)
    watch = ReadyWatch(ctx.api, namespace)
    wall0, mono0 = time.time(), time.monotonic()
    applied = apply_in_chunks(ctx, cfg, docs)
    ctx.progress(f"[{label}] applied {len(docs)} in {applied:.1f}s; waiting for Ready")
    deadline = mono0 + cfg.ready_timeout
    try:
        while len(watch.first_ready()) < len(docs) and time.monotonic() < deadline:
            operator.check_alive()
            if watch.failure is not None:
                raise BenchError(f"apply: the Ready watch failed: {watch.failure!r}")
            time.sleep(cfg.poll_interval)  # how often to look at the watch's record
    finally:
        watch.stop()
    first_ready = {name: at - mono0 for name, at in watch.first_ready().items()}
    added = watch.first_added()
    if len(first_ready) < len(docs):
        result.errors.append(
            f"apply: only {len(first_ready)}/{len(docs)} Ready within {cfg.ready_timeout:.0f}s"
        )
    after = procstat.sample(operator.pid)
    heap, traced = operator.dump_allocations()
    calls = [c for c in ctx.emulator.calls() if c["at"] >= wall0]
    creates = [c["at"] - wall0 for c in calls if c["operation"] == "CreateInferenceComponent"]
    all_ready = max(first_ready.values()) if len(first_ready) == len(docs) else None
    result.apply = {
        "apply_seconds": applied,
        "all_ready_seconds": all_ready,
        "all_ready_emulated_seconds": all_ready / cfg.time_scale if all_ready else None,
        # Operator-side time (kubectl, rate limit, polling) is real time at any scale; the
        # SageMaker part is one create (all run in parallel), which at real speed takes
        # 120 s instead of 120 s x scale.
        "all_ready_real_speed_estimate_seconds": (
            all_ready + CREATE_SECONDS * (1 - cfg.time_scale) if all_ready else None
        ),
        "ready_count": len(first_ready),
        "ready_measured_by": "watch",
        "first_object_seconds": None if added is None else added - mono0,
        "first_call_seconds": min(c["at"] for c in calls) - wall0 if calls else None,
        "first_create_seconds": min(creates) if creates else None,
        "last_create_seconds": max(creates) if creates else None,
        "ready_seconds": stats.summary(list(first_ready.values())),
        "calls": stats.count_by(calls, "operation"),
        "errors": stats.count_by([c for c in calls if c.get("error")], "error"),
        "operator_cpu_seconds": (after.cpu_ticks - before.cpu_ticks) / procstat.clock_ticks(),
        "operator_peak_rss_mb": after.hwm_kb / 1024,
        "tracemalloc": str(traced) if traced else None,
        "heap": heap,
        "heap_parts_mb": dict(report.heap_breakdown(heap)),
    }
    ctx.progress(f"[{label}] heap after the apply: {report.heap_line(heap)}")
    ctx.progress(
        f"[{label}] all Ready after {all_ready if all_ready is None else round(all_ready, 1)}s "
        f"(last Create at {result.apply['last_create_seconds']}s)"
    )
    return mono0 + applied


def _edit_phase(
    ctx: Context,
    cfg: RunConfig,
    *,
    operator: Operator,
    sample: list[str],
    namespace: str,
    result: RunResult,
    label: str,
    tag: str = "edit",
    first: Callable[[], None] | None = None,
    resource: str = RESOURCE,
) -> dict[str, Any]:
    ctx.emulator.clear_calls()
    metrics_before = operator.metrics()
    if first is not None:  # background work whose calls belong to this phase's log
        first()
    edits: list[dict[str, Any]] = []
    start = time.monotonic()
    for index, name in enumerate(sample):
        image = workload.edited_image(index, tag)
        before = time.time()
        ctx.kubectl(
            "patch", resource, name, "-n", namespace, "--type=merge",
            "-p", json.dumps(workload.image_patch(image)),
        )  # fmt: skip
        after = time.time()
        edits.append({"name": name, "image": image, "before": before, "after": after})
        pause = start + (index + 1) * cfg.edit_interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    deadline = time.monotonic() + cfg.edit_timeout
    while True:
        operator.check_alive()
        calls = ctx.emulator.calls()
        for edit in edits:
            if edit.get("at") is None:
                edit["at"] = workload.update_call_at(
                    calls, edit["name"], edit["image"], edit["before"]
                )
        missing = [e for e in edits if e["at"] is None]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    found = [e for e in edits if e["at"] is not None]
    # The last Update's time on the monotonic clock: the window whose loop lag and GC
    # pauses (bench/traced.py) belong to this phase.
    last_at = max((e["at"] for e in found), default=time.time())
    window = (start, time.monotonic() - max(0.0, time.time() - last_at))
    phase_calls = [c for c in calls if c["at"] >= edits[0]["before"]] if edits else []
    upper = [e["at"] - e["before"] for e in found]
    lower = [e["at"] - e["after"] for e in found]
    kubectl_rtt = [e["after"] - e["before"] for e in edits]
    metrics_after = operator.metrics()
    rollout_image = workload.edited_image(0, "rollout").removesuffix("0")
    phase: dict[str, Any] = {
        "monotonic_window": window,
        # Updates carrying a background rollout's image (what the rollout phase started).
        "rollout_updates": sum(
            1
            for c in calls
            if c.get("operation") == "UpdateInferenceComponent"
            and str(
                ((c.get("request") or {}).get("Specification") or {})
                .get("Container", {})
                .get("Image", "")
            ).startswith(rollout_image)
        ),
        "count": len(edits),
        "matched": len(found),
        "missing": [e["name"] for e in edits if e["at"] is None],
        "pace_seconds": cfg.edit_interval,
        "from_before_patch": stats.summary(upper),
        "from_patch_returned": stats.summary(lower),
        "kubectl_patch_seconds": stats.summary(kubectl_rtt),
        # What shared the operator's rate limit while the edits waited for it.
        "calls": stats.count_by(phase_calls, "operation"),
        "calls_per_second": len(phase_calls)
        / max(1e-9, max(c["at"] for c in phase_calls) - edits[0]["before"])
        if phase_calls
        else 0.0,
        # The operator's own view: calls and time waited for the budget, by purpose.
        "operator_calls": _delta(
            metrics_before, metrics_after, "ic_operator_sagemaker_calls_total"
        ),
        "operator_wait_seconds": _delta(
            metrics_before, metrics_after, "ic_operator_sagemaker_wait_seconds_sum"
        ),
    }
    if len(found) < len(edits):
        result.errors.append(
            f"{label}: {len(edits) - len(found)}/{len(edits)} edits reached no "
            f"UpdateInferenceComponent within {cfg.edit_timeout:.0f}s"
        )
    summary = phase["from_patch_returned"]
    ctx.progress(
        f"[{label}] edit→Update p50 {summary.get('p50', float('nan')):.3f}s "
        f"p99 {summary.get('p99', float('nan')):.3f}s ({len(found)}/{len(edits)})"
    )
    return phase


def _settle_phase(
    ctx: Context,
    cfg: RunConfig,
    *,
    operator: Operator,
    namespace: str,
    label: str,
    timeout: float | None = None,
) -> dict[str, Any]:
    timeout = cfg.settle_timeout if timeout is None else timeout
    start = time.monotonic()
    while True:
        operator.check_alive()
        ready, total = _ready_names(ctx.api, namespace)
        settled = len(ready) == total
        if settled or time.monotonic() - start > timeout:
            break
        time.sleep(cfg.poll_interval)
    if not settled:
        ctx.progress(
            f"[{label}] not settled after {timeout:.0f}s "
            f"({len(ready)}/{total} Ready); going on anyway"
        )
    return {
        "settled": settled,
        "ready": len(ready),
        "total": total,
        "seconds": time.monotonic() - start,
    }


def _steady_phase(
    ctx: Context,
    cfg: RunConfig,
    *,
    operator: Operator,
    applied_at: float,
    namespace: str,
    result: RunResult,
    label: str,
    until_quiet: Callable[[], dict[str, Any]] | None = None,
) -> None:
    # Every component's resync timer starts at most one interval after it appeared.
    wait = applied_at + cfg.resync - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    settled = until_quiet() if until_quiet else _until_quiet(ctx, cfg, operator)
    ctx.progress(f"[{label}] {quiet.describe(settled)}")
    if not settled["settled"]:
        result.errors.append(f"steady: {quiet.describe(settled)}")
    window = cfg.resync * cfg.windows
    versions = {
        o["metadata"]["name"]: o["metadata"]["resourceVersion"]
        for o in ctx.api.list_components(namespace)
    }
    metrics_before = operator.metrics()
    first = procstat.sample(operator.pid)
    ctx.emulator.clear_calls()
    wall0 = time.time()
    ctx.progress(f"[{label}] steady-state window of {window:.0f}s")
    end = time.monotonic() + window
    while time.monotonic() < end:
        operator.check_alive()
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
    last = procstat.sample(operator.pid)
    wall1 = time.time()
    metrics_after = operator.metrics()
    # Last: the trim gives memory back, and later phases measure a fresh process.
    heap, traced = operator.dump_allocations(trim=True)
    objects = ctx.api.list_components(namespace)
    calls = [c for c in ctx.emulator.calls() if wall0 <= c["at"] <= wall1]
    counts = stats.count_by(calls, "operation")
    seconds = wall1 - wall0
    rates = stats.per_component_hour(counts, components=cfg.components, window_seconds=seconds)
    # SageMaker's calls and the autoscaling ones (the autoscaled mode) are two budgets.
    total = sum(r for op, r in rates.items() if op not in AUTOSCALING)
    scaling_reads = sum(r for op, r in rates.items() if op in AUTOSCALING_READS)
    result.steady = {
        "window_seconds": seconds,
        "resync_seconds": cfg.resync,
        "calls": counts,
        "sagemaker_writes": sum(n for op, n in counts.items() if op in WRITE_OPERATIONS),
        "errors": stats.count_by([c for c in calls if c.get("error")], "error"),
        "per_component_hour": rates,
        "per_component_hour_total": total,
        "per_component_hour_at_default_resync": stats.at_resync(
            total, measured_resync=cfg.resync, target_resync=DEFAULT_RESYNC
        ),
        # The autoscaling listings' interval defaults to the full listing interval, 2 R,
        # as the bench runs it: the rate scales with R like the SageMaker one.
        "autoscaling_reads_per_component_hour": scaling_reads,
        "autoscaling_reads_per_component_hour_at_default_resync": stats.at_resync(
            scaling_reads, measured_resync=cfg.resync, target_resync=DEFAULT_RESYNC
        ),
        "autoscaling_writes": sum(n for op, n in counts.items() if op in AUTOSCALING_WRITES),
        "per_component_hour_at_default_resync_by_operation": {
            op: stats.at_resync(r, measured_resync=cfg.resync, target_resync=DEFAULT_RESYNC)
            for op, r in rates.items()
        },
        "rss_mb": last.rss_kb / 1024,
        "peak_rss_mb": last.hwm_kb / 1024,
        "cpu_percent": procstat.cpu_percent(first, last, procstat.clock_ticks()),
        "tracemalloc": str(traced) if traced else None,
        "heap": heap,
        "heap_parts_mb": dict(report.heap_breakdown(heap)),
        "reconciles": _delta(metrics_before, metrics_after, "ic_operator_reconciles_total"),
        "status_writes": _delta(metrics_before, metrics_after, "ic_operator_status_writes_total"),
        # Whether the window began after a whole resync without a write (bench/quiet.py),
        # and what the operator still did before it: an earlier phase's tail.
        "quiet": settled,
        # Objects whose resourceVersion moved: status (or other) writes by the operator.
        "objects_written": sum(
            1
            for o in objects
            if versions.get(o["metadata"]["name"]) != o["metadata"]["resourceVersion"]
        ),
        "ready_conditions": stats.count_by(
            [{"ready": workload.ready_reason(o)} for o in objects], "ready"
        ),
    }
    ctx.progress(f"[{label}] heap after the steady window: {report.heap_line(heap)}")
    ctx.progress(
        f"[{label}] steady: {total:.2f} calls/component/h at resync {cfg.resync:g}s "
        f"({result.steady['per_component_hour_at_default_resync']:.3f} at 300 s); "
        f"RSS {result.steady['rss_mb']:.0f} MB, CPU {result.steady['cpu_percent']:.1f}%; "
        f"autoscaling {scaling_reads:.2f} reads/component/h "
        f"({result.steady['autoscaling_reads_per_component_hour_at_default_resync']:.3f} "
        f"at defaults), {result.steady['autoscaling_writes']} writes"
    )


def _status_writes(operator: Operator) -> float:
    return sum(
        value
        for key, value in operator.metrics().items()
        if key.startswith("ic_operator_status_writes_total{")
    )


def _until_quiet(ctx: Context, cfg: RunConfig, operator: Operator) -> dict[str, Any]:
    """Wait (bounded) for a whole resync interval with no status write and no SageMaker
    or autoscaling write (bench/quiet.py); the wait's report, with the calls made
    during it by operation (what the window would otherwise have measured)."""
    writes = WRITE_OPERATIONS | AUTOSCALING_WRITES
    ctx.emulator.clear_calls()

    def probe() -> quiet.Writes | None:
        operator.check_alive()
        made = sum(1 for c in ctx.emulator.calls() if c["operation"] in writes)
        try:
            return quiet.Writes(status=_status_writes(operator), sagemaker=made)
        except OSError:  # /metrics did not answer in time (urllib's timeouts are OSErrors)
            return None

    wait = quiet.QuietWait(need=cfg.resync, bound=cfg.quiet_bound_resyncs * cfg.resync)
    waited = wait.run(probe)
    waited["calls_while_waiting"] = stats.count_by(ctx.emulator.calls(), "operation")
    return waited


def _delta(before: dict[str, float], after: dict[str, float], prefix: str) -> dict[str, float]:
    return {
        key: after[key] - before.get(key, 0.0)
        for key in sorted(after)
        if key.startswith(prefix + "{") and after[key] - before.get(key, 0.0)
    }
