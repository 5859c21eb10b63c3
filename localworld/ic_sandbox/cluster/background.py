"""`make test`'s slow builds in the background while the tests run.

Why: on a fresh machine the image, the node binaries, Argo CD and ACK are each a
multi-minute 2-core build, and built one after the other before pytest they pushed a cold
`make test` past an hour, while the tests leave the cores mostly idle (they wait on
operator polls, emulator clocks and processes). So `make test` builds the control plane
first (nearly every cluster test needs it), then runs this: the remaining builds start in
the background at low priority, in the order the tests need them (BUILDS), with pytest
beside them; tests/fixtures/build_order.py runs the tests needing none of them first.

The protocol between the two is a directory of state files ($IC_OPERATOR_BACKGROUND_BUILDS,
set for pytest only): `<target>.pending` for every build not yet finished, replaced by
`<target>.done` or `<target>.failed` (holding the error and the log's tail), and `builder.pid`.
A test needing a build waits until it leaves pending (wait_for), so it never starts a
second build, and a failed build fails it with the build's own error. The builder itself
runs without the variable: it is the producer. Without the variable (a developer's
`pytest`, a warm `make image` ...) nothing here waits.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

ENV = "IC_OPERATOR_BACKGROUND_BUILDS"
CACHE_ENV = "IC_OPERATOR_CACHE"
# The `make` targets run in the background, in the order the tests need them: the image
# (the image and node suites), the node binaries (the node suites, Argo CD's garbage
# collector), Argo CD (and next to it the `go` health build, which shares its Go cache), ACK.
BUILDS: tuple[str, ...] = ("image", "node-binaries", "argocd", "ack")
TAIL_LINES = 30
KILL_GRACE = 10.0  # seconds between SIGTERM and SIGKILL for the builds' process group


def cache_root() -> Path:
    """Machine-wide cache, overridable for CI or a shared disk with $IC_OPERATOR_CACHE.

    Here, not in binaries.py, because a wait is only for builds into the builder's cache.
    """
    if explicit := os.environ.get(CACHE_ENV):
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "sagemaker-ic-operator"


def state_dir() -> Path | None:
    explicit = os.environ.get(ENV)
    return Path(explicit) if explicit else None


def _pid_alive(pid: int) -> bool:
    """Running: a zombie is not (the builder exited and `make test` has not reaped it yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: signal 0's answer is all there is
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(
    target: str, *, poll: float = 1.0, on_wait: Callable[[], None] | None = None
) -> str | None:
    """Wait while `target` is being built in the background; its error if that build failed.

    Returns None at once when no background builds are announced ($IC_OPERATOR_BACKGROUND_BUILDS
    unset), `target` is not one of them, or this process's cache is not the builder's (a
    test of the build code on a temporary cache). Ends, never hangs, if the builder died
    without finishing `target` (its pid is gone). on_wait is called once, before waiting.
    """
    directory = state_dir()
    if directory is None:
        return None
    with contextlib.suppress(FileNotFoundError):
        if (directory / "cache-root").read_text() != str(cache_root()):
            return None
    pending = directory / f"{target}.pending"
    failed = directory / f"{target}.failed"
    waited = False
    while pending.exists():
        if not waited and on_wait is not None:
            on_wait()
        waited = True
        pid_file = directory / "builder.pid"
        pid = int(pid_file.read_text()) if pid_file.is_file() else None
        if pid is None or not _pid_alive(pid):
            if not pending.exists():  # it finished between the two looks
                break
            return f"the background builds (pid {pid}) ended before `make {target}` finished"
        time.sleep(poll)
    if failed.is_file():
        return failed.read_text(errors="replace")
    return None


# ------------------------------------------------------------------------ the builder


def _announce(directory: Path, targets: Sequence[str]) -> None:
    """A fresh state directory: every target pending (a previous run's states are gone)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.iterdir():
        if stale.suffix in {".pending", ".done", ".failed", ".pid"}:
            stale.unlink()
    (directory / "cache-root").write_text(str(cache_root()))
    for target in targets:
        (directory / f"{target}.pending").touch()


def _finish(directory: Path, target: str, suffix: str, text: str) -> None:
    final = directory / f"{target}{suffix}"
    partial = final.with_name(f".{final.name}.partial")
    partial.write_text(text)
    partial.replace(final)  # written before pending goes: a waiter never sees neither
    (directory / f"{target}.pending").unlink(missing_ok=True)


def build_chain(directory: Path, commands: Sequence[tuple[str, Sequence[str]]], log: Path) -> int:
    """Run each (target, command) in turn, appending to log; record each one's outcome.

    A failure does not stop the chain: the builds are independent, and the tests that
    need only the others still run. Returns the number of failed builds.
    """
    failures = 0
    for target, command in commands:
        started = time.monotonic()
        with log.open("a") as out:
            out.write(f"== {target}: {' '.join(command)}\n")
            out.flush()
            offset = out.tell()
            result = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False
            )
        seconds = time.monotonic() - started
        if result.returncode == 0:
            _finish(directory, target, ".done", f"{seconds:.0f}\n")
            continue
        failures += 1
        with log.open("rb") as read:
            read.seek(offset)
            lines = read.read().decode(errors="replace").splitlines()[-TAIL_LINES:]
        _finish(
            directory,
            target,
            ".failed",
            f"the background build `{' '.join(command)}` failed (exit {result.returncode} "
            f"after {seconds:.0f}s; log: {log}):\n" + "\n".join(lines) + "\n",
        )
    return failures


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """End the builder and everything it started (its own process group), TERM then KILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(KILL_GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def _terminate_as_exception() -> Iterator[None]:
    """SIGTERM (a CI time limit, a killed make) raises, so the builds get killed on the way out."""

    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(
    directory: Path,
    log: Path,
    builds: Sequence[tuple[str, Sequence[str]]],
    tests: Sequence[str],
    *,
    niceness: int = 10,
) -> int:
    """Start builds in the background, run tests meanwhile; the exit code for `make test`.

    After the tests: wait for the builds if they passed, kill them if they failed. A failed
    build fails the run with its error, even when the tests passed.
    """
    directory = directory.resolve()
    _announce(directory, [target for target, _ in builds])
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    builder_env = {k: v for k, v in os.environ.items() if k != ENV}
    spec = json.dumps([[target, list(command)] for target, command in builds])
    chain = [
        sys.executable,
        "-m",
        "ic_sandbox.cluster.background",
        "--chain",
        str(directory),
        str(log),
        spec,
    ]
    with _terminate_as_exception():
        builder = subprocess.Popen(
            chain,
            env=builder_env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=lambda: os.nice(niceness),  # noqa: PLW1509 (no threads here yet)
        )
        (directory / "builder.pid").write_text(f"{builder.pid}\n")
        _say(f"building {', '.join(t for t, _ in builds)} in the background (log: {log})")
        try:
            code = subprocess.run(
                list(tests), env={**os.environ, ENV: str(directory)}, check=False
            ).returncode
            if code == 0:
                _say("tests passed; waiting for the background builds")
                builder.wait()
        finally:
            _kill_group(builder)
    failed = sorted(directory.glob("*.failed"))
    for failure in failed:
        print(failure.read_text(errors="replace"), file=sys.stderr)
    for done in sorted(directory.glob("*.done")):
        _say(f"background build {done.stem}: {done.read_text().strip()}s")
    if code == 0 and not failed and (unfinished := sorted(directory.glob("*.pending"))):
        names = ", ".join(p.stem for p in unfinished)
        _say(f"the background builds exited {builder.returncode} before building {names}")
        return 1
    return code or (1 if failed else 0)


def _say(message: str) -> None:
    print(f"ic-operator: {message}", file=sys.stderr, flush=True)


def _make(target: str) -> tuple[str, list[str]]:
    return target, ["make", "--no-print-directory", target]


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ic_sandbox.cluster.background [--builds a,b] -- PYTEST...` (make test)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--chain"]:  # the background half, started by run()
        directory, log, spec = args[1:]
        commands = [(str(target), list(command)) for target, command in json.loads(spec)]
        return 1 if build_chain(Path(directory), commands, Path(log)) else 0
    parser = argparse.ArgumentParser(prog="python -m ic_sandbox.cluster.background")
    parser.add_argument("--builds", default=",".join(BUILDS), help="make targets, in order")
    parser.add_argument("--state", default="build/ci-builds", type=Path)
    parser.add_argument("--log", default="build/ci-builds.log", type=Path)
    parser.add_argument("tests", nargs=argparse.REMAINDER, help="-- then the test command")
    parsed = parser.parse_args(args)
    tests = parsed.tests[1:] if parsed.tests[:1] == ["--"] else parsed.tests
    if not tests:
        parser.error("give the test command after --")
    builds = [_make(target) for target in parsed.builds.split(",") if target]
    return run(parsed.state, parsed.log, builds, tests)


if __name__ == "__main__":
    sys.exit(main())
