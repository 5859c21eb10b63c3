"""ic_sandbox.cluster.background: `make test`'s builds beside pytest, with real processes.

A fixture needing a binary that the background is building waits for that build and never
starts a second one; a failed build fails it with the build's own error; the builder's
death ends the wait; a failed build fails the run; failed tests kill the builds (no orphan).
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ic_sandbox.cluster import background
from ic_sandbox.cluster.binaries import CACHE_ENV, BinariesMissing, ensure_cached
from ic_sandbox.polling import poll


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(background.ENV, raising=False)
    return tmp_path / "cache"


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _write_after(path: Path, seconds: float) -> list[str]:
    """A build: the binary appears after `seconds`."""
    return _python(
        f"import pathlib, time; time.sleep({seconds}); "
        f"p = pathlib.Path({str(path)!r}); p.parent.mkdir(parents=True, exist_ok=True); "
        "p.write_text('built')"
    )


def _start(tmp_path: Path, builds: list[tuple[str, list[str]]], tests: list[str]) -> int:
    return background.run(tmp_path / "state", tmp_path / "builds.log", builds, tests, niceness=0)


def _ensure_in_tests(binary: Path, make_log: Path, *, build: bool) -> list[str]:
    """The test command: what a fixture does, ensure_cached for `ack`, as a child process."""
    return _python(
        "import pathlib, sys\n"
        "from ic_sandbox.cluster.binaries import BinariesMissing, ensure_cached\n"
        f"log = pathlib.Path({str(make_log)!r})\n"
        "try:\n"
        f"    ensure_cached(pathlib.Path({str(binary)!r}), build={build}, missing='missing',\n"
        "                  make=lambda: log.write_text('second build'), make_target='ack')\n"
        "except BinariesMissing as exc:\n"
        "    print('ERROR:', exc); sys.exit(3)\n"
        f"print('FOUND', pathlib.Path({str(binary)!r}).read_text())\n"
    )


def test_without_background_builds_nothing_waits(cache: Path) -> None:
    assert background.wait_for("ack") is None
    with pytest.raises(BinariesMissing, match="not here"):
        ensure_cached(
            cache / "x", build=False, missing="not here", make=lambda: None, make_target="ack"
        )


def test_a_fixture_waits_for_the_background_build_and_starts_no_second(
    cache: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    binary = cache / "ack" / "controller"
    make_log = tmp_path / "make.log"
    for build in (False, True):
        binary.unlink(missing_ok=True)
        code = _start(
            tmp_path,
            [("ack", _write_after(binary, 1.5))],
            _ensure_in_tests(binary, make_log, build=build),
        )
        assert code == 0
        assert "FOUND built" in capfd.readouterr().out
        assert not make_log.exists()  # the fixture's own build never ran
    assert (tmp_path / "state" / "ack.done").is_file()


def test_a_failed_background_build_fails_the_fixture_with_its_error_and_the_run(
    cache: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    binary = cache / "ack" / "controller"
    make_log = tmp_path / "make.log"
    failing = _python("print('go: compile error in cmd/controller'); raise SystemExit(2)")
    code = _start(tmp_path, [("ack", failing)], _ensure_in_tests(binary, make_log, build=True))
    out, err = capfd.readouterr()
    assert code == 3  # the tests' own exit code comes first
    assert "ERROR: the background build" in out
    assert "go: compile error in cmd/controller" in out
    assert not make_log.exists()  # no second build attempt after the failure
    assert "go: compile error in cmd/controller" in err  # the run shows the log's tail too


def test_a_failed_build_fails_the_run_even_when_the_tests_pass(
    cache: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    failing = _python("print('podman: no space left'); raise SystemExit(1)")
    code = _start(tmp_path, [("image", failing)], _python("pass"))
    assert code == 1
    assert "podman: no space left" in capfd.readouterr().err


def test_builds_run_in_order_beside_the_tests(cache: Path, tmp_path: Path) -> None:
    """The tests start while the builds are still pending, and the builds keep their order."""
    order = tmp_path / "order"
    step = "import pathlib; p = pathlib.Path({!r}); p.write_text(p.read_text() + '{}')"
    order.write_text("")
    builds = [
        ("image", _python("import time; time.sleep(1); " + step.format(str(order), "i"))),
        ("ack", _python(step.format(str(order), "a"))),
    ]
    seen = tmp_path / "seen"
    tests = _python(
        "import os, pathlib; d = pathlib.Path(os.environ['IC_OPERATOR_BACKGROUND_BUILDS']); "
        f"pathlib.Path({str(seen)!r}).write_text("
        "' '.join(sorted(p.name for p in d.glob('*.pending'))))"
    )
    assert _start(tmp_path, builds, tests) == 0
    assert seen.read_text() == "ack.pending image.pending"
    assert order.read_text() == "ia"


def test_failed_tests_kill_the_builds_and_leave_no_orphan(cache: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    # A build that starts its own child (as make starts go), which would outlive a plain kill.
    build = _python(
        "import subprocess, sys, pathlib\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(child.pid))\n"
        "child.wait()\n"
    )
    tests = _python(
        f"import pathlib, time\np = pathlib.Path({str(pid_file)!r})\n"
        "deadline = time.monotonic() + 30\n"
        "while not p.exists() and time.monotonic() < deadline: time.sleep(0.05)\n"
        "raise SystemExit(1)\n"
    )
    started = time.monotonic()
    assert _start(tmp_path, [("argocd", build)], tests) == 1
    assert time.monotonic() - started < 60  # killed, not waited for
    grandchild = int(pid_file.read_text())
    poll(
        lambda: not background._pid_alive(grandchild),
        timeout=10,
        what="the build's child to be gone",
    )


@pytest.mark.parametrize("reaped", [True, False], ids=["gone", "zombie"])
def test_a_dead_builder_ends_the_wait_with_an_error(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reaped: bool
) -> None:
    """Gone, or exited and not yet reaped by `make test` (which waits on pytest meanwhile)."""
    state = tmp_path / "state"
    background._announce(state, ["ack"])
    builder = subprocess.Popen(_python("pass"))
    if reaped:
        builder.wait()
    else:
        poll(lambda: Path(f"/proc/{builder.pid}/stat").read_text().split(") ")[1][0] == "Z",
             timeout=10, what="the builder to exit")  # fmt: skip
    (state / "builder.pid").write_text(f"{builder.pid}\n")
    monkeypatch.setenv(background.ENV, str(state))
    failure = background.wait_for("ack", poll=0.05)
    builder.wait()
    assert failure is not None
    assert "ended before `make ack` finished" in failure


def test_a_test_on_another_cache_does_not_wait(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test of the build code on its own temporary cache is not waiting for `make test`'s."""
    state = tmp_path / "state"
    background._announce(state, ["ack"])  # pending for the cache in $IC_OPERATOR_CACHE now
    (state / "builder.pid").write_text(f"{os.getpid()}\n")  # alive: a wait would last
    monkeypatch.setenv(background.ENV, str(state))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "another-cache"))
    assert background.wait_for("ack") is None


def _build_once(binary: str, calls: str) -> None:
    def make() -> None:
        with Path(calls).open("a") as out:
            out.write("build\n")
        time.sleep(0.5)
        Path(binary).write_text("built")

    ensure_cached(Path(binary), build=True, missing="", make=make, make_target="ack")


def test_two_processes_building_at_once_build_once(cache: Path, tmp_path: Path) -> None:
    """The cache's file lock, re-checked after acquiring it: the second builder finds the
    first one's binary."""
    binary = cache / "ack" / "controller"
    binary.parent.mkdir(parents=True)
    calls = tmp_path / "calls"
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_build_once, args=(str(binary), str(calls))) for _ in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    assert calls.read_text() == "build\n"
    assert binary.read_text() == "built"


def test_make_test_entry_point_runs_make_targets_beside_the_tests(tmp_path: Path) -> None:
    """`python -m ic_sandbox.cluster.background -- TESTS` as the Makefile calls it: the
    builder is the module run by name, its builds are make targets, in the given order."""
    (tmp_path / "Makefile").write_text(
        "first:\n\t@echo built first > first.out\n"
        "second:\n\t@test -f first.out && echo built second > second.out\n"
        "broken:\n\t@echo the broken build said this; exit 7\n"
    )
    env = {k: v for k, v in os.environ.items() if k != background.ENV}
    command = [sys.executable, "-m", "ic_sandbox.cluster.background", "--builds"]
    tests = ["--", sys.executable, "-c", "pass"]
    passed = subprocess.run([*command, "first,second", *tests], cwd=tmp_path, env=env, check=False)
    assert passed.returncode == 0
    assert (tmp_path / "second.out").read_text() == "built second\n"
    assert (tmp_path / "build" / "ci-builds" / "second.done").is_file()
    failed = subprocess.run(
        [*command, "broken", *tests], cwd=tmp_path, env=env, check=False, capture_output=True,
        text=True,
    )  # fmt: skip
    assert failed.returncode == 1
    assert "the broken build said this" in failed.stderr
