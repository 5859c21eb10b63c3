"""`python -m bench`: start the world, run every (N, drift mode), print and save the table.

Every process is a child of this one (ManagedProcess: own process group, killed when
this process dies), and every wait has a deadline, so a run always ends by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any

from bench import accounts, ack, baseline, machine, report, scenario, workload
from bench.world import REPO, Api, BenchError, Emulator, Kubectl
from ic_sandbox.cluster.binaries import ensure_binaries, find_kubectl
from ic_sandbox.cluster.controlplane import ControlPlane
from ic_sandbox.harness.crds import install_crds

INSTANCE_TYPE = "ml.m5.24xlarge"  # 96 vCPU, 384 GiB: 100 components of 0.25 CPU, twice over
INSTANCES_PER_ENDPOINT = 2


def parse_sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError("sizes: comma-separated positive integers")
    return sizes


def parse_phases(text: str) -> tuple[str, ...]:
    phases = tuple(part for part in text.split(",") if part.strip())
    unknown = set(phases) - set(scenario.PHASES)
    if unknown:
        raise argparse.ArgumentTypeError(f"phases: unknown {', '.join(sorted(unknown))}")
    return phases


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", type=parse_sizes, default=[100, 1000])
    parser.add_argument(
        "--modes",
        default="sweep,naive",
        help="modes to compare: sweep (the operator), naive (bench/naive.py injected), "
        "autoscaled (the operator, every component with spec.autoScaling), "
        "ack (ACK's SageMaker controller v1.9.1 at its defaults, bench/ack.py); "
        "default sweep,naive",
    )
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--resync", type=float, default=20.0, help="operator resync, real s")
    parser.add_argument(
        "--windows",
        type=int,
        default=6,
        help="resync intervals measured (default 6: three of the full listings, made every 2 R)",
    )
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--edit-interval", type=float, default=0.5)
    parser.add_argument("--per-endpoint", type=int, default=100)
    parser.add_argument("--ready-timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument(
        "--operator-flag",
        action="append",
        default=[],
        help="extra flag for ic-operator run (repeatable): --operator-flag=--max-concurrency=20",
    )
    parser.add_argument(
        "--operator-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment variable for the operator (repeatable), e.g. MALLOC_ARENA_MAX=2",
    )
    parser.add_argument(
        "--phases",
        type=parse_phases,
        default=scenario.PHASES,
        help="optional phases after apply, edits and steady (default all: "
        f"{','.join(scenario.PHASES)}; empty for none)",
    )
    parser.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        metavar="FRAMES",
        help="run the operator under bench/traced.py (tracemalloc, FRAMES frames per trace) "
        "and dump its top allocation sites after the apply and the steady phases",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=0,
        metavar="K",
        help="split each N across K namespaces mapped to K accounts, one operator "
        "(bench/accounts.py); reports edit latency and calls per account",
    )
    parser.add_argument(
        "--throttle-account",
        action="store_true",
        help="with --accounts: the first account throttles 50 %% of its calls during the edits",
    )
    return parser.parse_args(argv)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def _get_ready(result: dict[str, Any] | None) -> float | None:
    value = ((result or {}).get("apply") or {}).get("all_ready_seconds")
    return float(value) if value is not None else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_stop)
    modes = [m for m in args.modes.split(",") if m]
    if not baseline.available():
        print("bench: no naive baseline script; measuring the operator only", flush=True)
        modes = [""]
    started = time.monotonic()
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    workdir = Path(tempfile.mkdtemp(prefix="ic-operator-bench-"))
    print(f"bench: logs in {workdir}", flush=True)
    # Run prefixes name the components (one emulator, global names): ack is "k", since
    # autoscaled has "a".
    prefix = {ack.MODE: "k"}
    plan = [
        (n, mode, f"{prefix.get(mode, (mode or 'd')[0])}{n}") for n in args.sizes for mode in modes
    ]
    results: dict[int, dict[str, Any]] = {}
    with contextlib.ExitStack() as stack:
        try:
            emulator = Emulator(workdir, args.time_scale)
            stack.callback(emulator.stop)
            emulator.start()
            endpoints = [
                name
                for n, _, run in ([] if args.accounts else plan)
                for name in workload.endpoint_names(run, n, args.per_endpoint)
            ]
            emulator.create_endpoints(
                endpoints, instance_type=INSTANCE_TYPE, count=INSTANCES_PER_ENDPOINT
            )
            control_plane = ControlPlane(workdir / "controlplane", ensure_binaries(build=True))
            stack.callback(control_plane.stop)
            control_plane.start()
            kubectl = Kubectl(find_kubectl(), control_plane.kubeconfig)
            api = Api(control_plane)
            # Established and served: the operator's first list must not meet the API
            # server's 429 of a cold watch cache, or kopf's retry is measured as its time.
            install_crds(kubectl, error=BenchError)
            ack_build = ack.prepare(kubectl) if ack.MODE in modes else None
            info = machine.describe(api.version())
            print(report.machine_line(info), flush=True)
            emulator.wait_endpoints(endpoints, timeout=600 * args.time_scale + 60)
            print(
                f"bench: world up in {time.monotonic() - started:.0f}s "
                f"({len(endpoints)} endpoints of {INSTANCES_PER_ENDPOINT}x {INSTANCE_TYPE})",
                flush=True,
            )
            ctx = scenario.Context(kubectl, api, emulator, control_plane.kubeconfig, workdir)
            for n, mode, run in plan:
                ready_timeout = args.ready_timeout
                sweep_ready = _get_ready(results.get(n, {}).get("sweep"))
                if mode == "naive" and sweep_ready is not None:
                    # The naive baseline is never all Ready (its raw comparison re-updates
                    # every component as soon as the last update ends): give it what sweep
                    # needed and 30 s more, then move on.
                    ready_timeout = min(ready_timeout, sweep_ready + 30.0)
                cfg = scenario.RunConfig(
                    components=n,
                    mode=mode,
                    run=run,
                    per_endpoint=args.per_endpoint,
                    time_scale=args.time_scale,
                    resync=args.resync,
                    windows=args.windows,
                    edits=args.edits,
                    edit_interval=args.edit_interval,
                    ready_timeout=ready_timeout,
                    extra_flags=tuple(args.operator_flag),
                    tracemalloc=args.tracemalloc,
                    phases=args.phases,
                    extra_env=tuple(
                        (name, value)
                        for name, _, value in (e.partition("=") for e in args.operator_env)
                    ),
                )
                if args.accounts:
                    split = accounts.run(ctx, cfg, args.accounts, throttle=args.throttle_account)
                    results.setdefault(n, {})["accounts"] = split
                    continue
                if mode == ack.MODE and ack_build is not None:
                    outcome = ack.run(ctx, cfg, ack_build)
                else:
                    outcome = scenario.run(ctx, cfg)
                results.setdefault(n, {})[mode or "default"] = asdict(outcome)
                print(f"bench: {time.monotonic() - started:.0f}s elapsed", flush=True)
        except (BenchError, _Stop, KeyboardInterrupt) as exc:
            print(f"bench: stopped: {exc!r}", file=sys.stderr, flush=True)
            if not results:
                return 1
            info = locals().get("info") or {}
    elapsed = time.monotonic() - started
    print()
    print(report.machine_line(info))
    print(
        f"emulator time scale {args.time_scale:g} (1 real s = {1 / args.time_scale:g} emulated s); "
        f"operator resync R = {args.resync:g} s, poll {5 * args.time_scale:g}-"
        f"{60 * args.time_scale:g} s; steady window {args.windows} x R; "
        f"{args.edits} edits, one per {args.edit_interval:g} s; "
        f"{args.per_endpoint} components per endpoint; total {elapsed:.0f} s"
    )
    for n, runs in results.items():
        if "accounts" in runs:
            accounts.report(args, runs["accounts"], argv=argv, date=date, n=n, info=info)
            continue
        table = report.size_table(
            runs.get("sweep") or runs.get("default") or runs.get("autoscaled"),
            runs.get("naive"),
            ack=runs.get(ack.MODE),
        )
        print(f"\nN = {n}\n{table}")
        naive_rate = ((runs.get("naive") or {}).get("steady") or {}).get("per_component_hour_total")
        if naive_rate is not None:
            print(
                f"  naive's calls come from its update loop, paced by SageMaker's clock (x"
                f"{args.time_scale:g} here), not by the resync: at real speed about "
                f"{naive_rate * args.time_scale:,.0f} calls/component/h, not the R = 300 s row"
            )
        for line in report.ack_notes(runs.get(ack.MODE)):
            print(f"  {line}")
        errors = [f"{mode}: {e}" for mode, r in runs.items() for e in r.get("errors", [])]
        for error in errors:
            print(f"  ! {error}")
        path = report.write_json(
            args.out,
            date,
            n,
            {
                "date": date,
                "command": " ".join(["python -m bench", *(argv or sys.argv[1:])]),
                "machine": info,
                "runs": runs,
                "table": table,
                "errors": errors,
                "total_seconds": elapsed,
            },
        )
        print(f"  (saved {path.relative_to(REPO) if path.is_relative_to(REPO) else path})")
    # The naive baseline or ACK failing to converge is a finding, not a failure of the bench.
    failed = [
        e
        for runs in results.values()
        for m, r in runs.items()
        if m not in ("naive", ack.MODE)
        for e in r["errors"]
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
