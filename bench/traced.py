"""Run a Python module with a heap probe, optionally under tracemalloc.

`python bench/traced.py OUT_DIR FRAMES MODULE ARGS...` starts tracemalloc with
FRAMES frames per trace (none when FRAMES is 0), then runs MODULE as ``__main__`` in
this same process (so the bench's /proc samples still see the operator). Each
SIGUSR1 writes ``OUT_DIR/heap-<k>.json`` (:func:`heap`: where the resident memory is,
allocator by allocator) and, when tracing, ``OUT_DIR/tracemalloc-<k>.snapshot`` (the
bench renders it: the total traced, then the top allocation sites by line, by file,
and (when FRAMES > 1) by traceback). SIGUSR2 does the same and then gives the C
allocator's free memory back (``malloc_trim(0)``), recording the resident set before
and after: how much of RSS was memory freed but kept. The product carries no such
hook; tracing is opt-in per run (`python -m bench --tracemalloc 1`).

It is run as a script, not as ``-m bench.traced``, so the operator's environment needs
no PYTHONPATH pointing into the repository.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import gc
import json
import linecache
import os
import re
import runpy
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from types import FrameType
from typing import Any

TOP = 25

# Files whose allocations are the tracer's own bookkeeping, not the operator's.
_IGNORED = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, linecache.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
)


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
            "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _libc() -> Any:
    return ctypes.CDLL("libc.so.6")


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def glibc_heap() -> dict[str, int]:
    """glibc's own accounting (mallinfo2, summed over its arenas), in KiB: bytes in use
    by malloc's callers, free but kept by malloc (what ``malloc_trim`` can give back),
    and mmapped large blocks (returned to the system as soon as they are freed)."""
    libc = _libc()
    libc.mallinfo2.restype = _Mallinfo2
    info = libc.mallinfo2()
    return {
        "heap_kb": info.arena // 1024,
        "in_use_kb": info.uordblks // 1024,
        "free_kb": info.fordblks // 1024,
        "mmapped_kb": info.hblkhd // 1024,
    }


_PYMALLOC_FIELDS = {
    "arenas": r"# arenas allocated current\s*=\s*([\d,]+)",
    "arenas_highwater": r"# arenas highwater mark\s*=\s*([\d,]+)",
    "allocated_blocks_bytes": r"# bytes in allocated blocks\s*=\s*([\d,]+)",
    "available_blocks_bytes": r"# bytes in available blocks\s*=\s*([\d,]+)",
    "unused_pools_bytes": r"\d+ unused pools \* \d+ bytes\s*=\s*([\d,]+)",
    "total_bytes": r"^Total\s*=\s*([\d,]+)",
}


def parse_pymalloc(text: str) -> dict[str, int]:
    """The totals of ``sys._debugmallocstats()``: pymalloc's arenas (small objects, 256 KiB
    each, given back only when entirely empty), bytes in live blocks, and bytes free
    inside arenas still held (fragmentation)."""
    found: dict[str, int] = {}
    for key, pattern in _PYMALLOC_FIELDS.items():
        match = re.search(pattern, text, re.MULTILINE)
        if match:
            found[key] = int(match.group(1).replace(",", ""))
    return found


def pymalloc_stats() -> dict[str, int]:
    """``sys._debugmallocstats()`` writes to the C stderr: sent to a file for the moment
    it takes (a log line written meanwhile by another thread lands there too)."""
    with tempfile_fd() as (fd, path):
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(fd, 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        return parse_pymalloc(Path(path).read_text())


@contextlib.contextmanager
def tempfile_fd() -> Any:
    fd, path = tempfile.mkstemp(prefix="pymalloc-", suffix=".txt")
    try:
        yield fd, path
    finally:
        os.close(fd)
        Path(path).unlink()


class GcPauses:
    """The cyclic collector's pauses by generation (``gc.callbacks``): a full collection
    walks every tracked object, and with thousands of objects' bodies held that is the
    event loop stopped for as long as it takes. Wall time and the collecting thread's
    CPU time: on a machine shared with other work the wall time includes waiting for a
    core, the CPU time does not."""

    def __init__(self, *, keep: int = 5000, threshold: float = 0.05) -> None:
        self._started = (0.0, 0.0, 0.0)
        self.by_generation: dict[int, dict[str, float]] = {}
        # (monotonic start, generation, wall, cpu) of each pause of ``threshold`` s or more,
        # on the clock the bench reads (CLOCK_MONOTONIC is system-wide): what the bench
        # sets against each phase's edits.
        self.events: collections.deque[tuple[float, int, float, float]] = collections.deque(
            maxlen=keep
        )
        self.threshold = threshold

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = (time.perf_counter(), time.thread_time(), time.monotonic())
            return
        wall = time.perf_counter() - self._started[0]
        cpu = time.thread_time() - self._started[1]
        if wall >= self.threshold:
            self.events.append((self._started[2], info["generation"], wall, cpu))
        stats = self.by_generation.setdefault(
            info["generation"],
            {"count": 0, "total_seconds": 0.0, "max_seconds": 0.0, "cpu_seconds": 0.0,
             "max_cpu_seconds": 0.0},
        )  # fmt: skip
        stats["count"] += 1
        stats["total_seconds"] += wall
        stats["max_seconds"] = max(stats["max_seconds"], wall)
        stats["cpu_seconds"] += cpu
        stats["max_cpu_seconds"] = max(stats["max_cpu_seconds"], cpu)

    def report(self) -> dict[str, dict[str, float]]:
        return {str(g): dict(s) for g, s in sorted(self.by_generation.items())}


GC_PAUSES = GcPauses()


class LoopLag:
    """How late the event loop runs a callback: a task sleeps ``interval`` s over and
    over and records by how much each wake-up was late. Every watch event, every pass
    and every SageMaker answer waits behind the same delay, so a lag spike is an edit's
    latency spike; with :class:`GcPauses`' events on the same clock, a spike that a
    collection explains can be told from one that it does not."""

    def __init__(self, *, interval: float = 0.05, threshold: float = 0.1, keep: int = 5000) -> None:
        self.interval, self.threshold = interval, threshold
        self.samples = 0
        self.max_seconds = 0.0
        self.events: collections.deque[tuple[float, float]] = collections.deque(maxlen=keep)

    def late(self, started: float, woke: float) -> None:
        lag = max(0.0, woke - started - self.interval)
        self.samples += 1
        self.max_seconds = max(self.max_seconds, lag)
        if lag >= self.threshold:
            self.events.append((started + self.interval, lag))

    async def run(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(self.interval)
            self.late(started, time.monotonic())

    def report(self) -> dict[str, Any]:
        return {
            "interval_seconds": self.interval,
            "samples": self.samples,
            "max_seconds": self.max_seconds,
            "events": [list(e) for e in self.events],
        }


LOOP_LAG = LoopLag()


def monitor_event_loop() -> None:
    """Run :data:`LOOP_LAG` beside whatever ``asyncio.run`` runs from now on (the
    operator's one event loop: ``ic_operator.kube.boot.run``)."""
    original = asyncio.run

    def run(main: Any, **kwargs: Any) -> Any:
        async def monitored() -> Any:
            monitor = asyncio.ensure_future(LOOP_LAG.run())
            try:
                return await main
            finally:
                monitor.cancel()

        return original(monitored(), **kwargs)

    asyncio.run = run


def heap(*, trim: bool) -> dict[str, Any]:
    """Where the resident set is: RSS, glibc's heap, pymalloc's arenas, the number of
    live Python objects the GC tracks; with ``trim``, RSS after ``malloc_trim(0)``."""
    report: dict[str, Any] = {
        "rss_kb": rss_kb(),
        "glibc": glibc_heap(),
        "pymalloc": pymalloc_stats(),
        # Tracked objects a full pass walks, and those frozen out of it (gc.freeze()).
        "gc_objects": len(gc.get_objects()),
        "gc_frozen": gc.get_freeze_count(),
        # What the collector walks, by type: the per-object state that makes a full pass long.
        "gc_types": dict(
            collections.Counter(type(o).__qualname__ for o in gc.get_objects()).most_common(20)
        ),
        "gc_pauses": GC_PAUSES.report(),
        "gc_pause_events": [list(e) for e in GC_PAUSES.events],
        "loop_lag": LOOP_LAG.report(),
        "threads": threading.active_count(),
    }
    if trim:
        report["malloc_trim_released"] = bool(_libc().malloc_trim(0))
        report["rss_after_trim_kb"] = rss_kb()
        report["glibc_after_trim"] = glibc_heap()
    return report


def render(snapshot: tracemalloc.Snapshot, *, top: int = TOP) -> str:
    """Top allocation sites of a snapshot as text: what the bench README quotes."""
    snapshot = snapshot.filter_traces(_IGNORED)
    lines: list[str] = []
    by_line = snapshot.statistics("lineno")
    total = sum(stat.size for stat in by_line)
    lines.append(f"total traced: {total / 2**20:.1f} MiB in {sum(s.count for s in by_line)} blocks")
    for title, key in (("by line", "lineno"), ("by file", "filename")):
        lines.append(f"\n== top {top} {title} ==")
        for stat in snapshot.statistics(key)[:top]:
            frame = stat.traceback[0]
            where = f"{frame.filename}:{frame.lineno}" if key == "lineno" else frame.filename
            lines.append(f"{stat.size / 2**10:10.1f} KiB {stat.count:9d} blocks  {where}")
    if snapshot.traceback_limit > 1:
        lines.append(f"\n== top {top} by traceback ==")
        for stat in snapshot.statistics("traceback")[:top]:
            lines.append(f"{stat.size / 2**10:10.1f} KiB {stat.count:9d} blocks")
            lines.extend(f"    {frame.filename}:{frame.lineno}" for frame in stat.traceback)
    return "\n".join(lines) + "\n"


def render_difference(
    kept: tracemalloc.Snapshot, fresh: tracemalloc.Snapshot, *, top: int = TOP
) -> str:
    """What one process holds that another does not, by allocation site, largest first:
    the long-lived operator after a burst against a restarted one serving the same
    objects. Each line: the difference in KiB and in blocks, then the site."""
    kept, fresh = kept.filter_traces(_IGNORED), fresh.filter_traces(_IGNORED)
    lines: list[str] = []
    for title, key in (("by line", "lineno"), ("by file", "filename")):
        diffs = kept.compare_to(fresh, key)
        total = sum(d.size_diff for d in diffs)
        lines.append(f"== kept minus fresh {title}: {total / 2**20:+.1f} MiB in all ==")
        for diff in sorted(diffs, key=lambda d: -abs(d.size_diff))[:top]:
            frame = diff.traceback[0]
            where = f"{frame.filename}:{frame.lineno}" if key == "lineno" else frame.filename
            lines.append(
                f"{diff.size_diff / 2**10:+10.1f} KiB {diff.count_diff:+9d} blocks  {where}"
            )
        lines.append("")
    return "\n".join(lines)


def render_file(path: Path) -> Path:
    """Render a dumped snapshot next to it (``.txt``); returns the text file. The traced
    current and peak at the dump (``.memory``, when written) come first: the peak is
    what the process's RSS high-water mark follows."""
    out = path.with_suffix(".txt")
    memory = path.with_suffix(".memory")
    head = memory.read_text() if memory.exists() else ""
    out.write_text(head + render(tracemalloc.Snapshot.load(str(path))))
    return out


def main(argv: list[str]) -> None:
    if argv[:1] == ["--render"]:
        for name in argv[1:]:
            print(render_file(Path(name)))
        return
    if argv[:1] == ["--compare"]:  # --compare KEPT FRESH
        kept, fresh = (tracemalloc.Snapshot.load(name) for name in argv[1:3])
        print(render_difference(kept, fresh))
        return
    out_dir, frames, module, *rest = argv
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    if int(frames) > 0:
        tracemalloc.start(int(frames))
    gc.callbacks.append(GC_PAUSES)
    monitor_event_loop()
    dumps = iter(range(1, 1_000_000))

    def dump(trim: bool) -> None:
        k = next(dumps)
        stats = directory / f"heap-{k}.json"
        stats.with_suffix(".part").write_text(json.dumps(heap(trim=trim), indent=1))
        stats.with_suffix(".part").replace(stats)  # the bench waits for the final name only
        if tracemalloc.is_tracing():
            snapshot(directory / f"tracemalloc-{k}.snapshot")

    def snapshot(path: Path) -> None:
        partial = path.with_suffix(".part")
        current, peak = tracemalloc.get_traced_memory()
        path.with_suffix(".memory").write_text(
            f"traced now: {current / 2**20:.1f} MiB; traced peak so far: {peak / 2**20:.1f} MiB\n"
        )
        tracemalloc.take_snapshot().dump(str(partial))
        partial.replace(path)  # the bench waits for the final name only

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        # Off the signal handler: pickling a big snapshot takes seconds.
        trim = signum == signal.SIGUSR2
        threading.Thread(target=dump, args=(trim,), name="heap-dump", daemon=True).start()

    signal.signal(signal.SIGUSR1, on_signal)
    signal.signal(signal.SIGUSR2, on_signal)
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
