"""Run a Python module under tracemalloc and dump allocation sites on SIGUSR1.

`python bench/traced.py OUT_DIR FRAMES MODULE ARGS...` starts tracemalloc with
FRAMES frames per trace, then runs MODULE as ``__main__`` in this same process (so
the bench's /proc samples still see the operator). Each SIGUSR1 writes
``OUT_DIR/tracemalloc-<k>.txt``: the total traced, then the top allocation sites by
line, by file, and (when FRAMES > 1) by traceback. The product carries no such hook;
tracing is opt-in per run (`python -m bench --tracemalloc 1`).

It is run as a script, not as ``-m bench.traced``, so the operator's environment needs
no PYTHONPATH pointing into the repository.
"""

from __future__ import annotations

import linecache
import runpy
import signal
import sys
import threading
import tracemalloc
from pathlib import Path
from types import FrameType

TOP = 25

# Files whose allocations are the tracer's own bookkeeping, not the operator's.
_IGNORED = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, linecache.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
)


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
    out_dir, frames, module, *rest = argv
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(int(frames))
    dumps = iter(range(1, 1_000_000))

    def dump() -> None:
        path = directory / f"tracemalloc-{next(dumps)}.snapshot"
        partial = path.with_suffix(".part")
        current, peak = tracemalloc.get_traced_memory()
        path.with_suffix(".memory").write_text(
            f"traced now: {current / 2**20:.1f} MiB; traced peak so far: {peak / 2**20:.1f} MiB\n"
        )
        tracemalloc.take_snapshot().dump(str(partial))
        partial.replace(path)  # the bench waits for the final name only

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        # Off the signal handler: pickling a big snapshot takes seconds.
        threading.Thread(target=dump, name="tracemalloc-dump", daemon=True).start()

    signal.signal(signal.SIGUSR1, on_signal)
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
