"""Child processes that cannot outlive the Python process that started them.

Each child gets its own process group (so stop() reaches anything it spawns and a
Ctrl-C in the terminal is not delivered to it before we decide to stop it), and on
Linux a parent-death signal, so even a SIGKILLed test runner leaves no etcd or
kube-apiserver behind. stop() is terminate, then kill after a deadline.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1
_KILL_WAIT = 10.0  # SIGKILL cannot be ignored; this only bounds an unkillable (D-state) child


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """preexec hook: SIGKILL this child when the parent thread dies (Linux only).

    SIGKILL, not SIGTERM: every child gets the signal at once, and a kube-apiserver
    told to shut down gracefully while its etcd vanishes waits for etcd forever.
    A parent that died abnormally has nothing left worth a graceful shutdown.
    """

    def hook() -> None:
        if not sys.platform.startswith("linux"):
            return
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return hook


class ManagedProcess:
    """One long-running server with its output in a log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        if self._popen is not None:
            raise RuntimeError(f"{self.name} already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        # The hook must be set up in the thread that will stay alive: PDEATHSIG fires
        # when the *thread* that forked exits. Callers start processes from the main thread.
        self._popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),  # noqa: PLW1509 - prctl needs it
        )

    def exit_code(self) -> int | None:
        """None while running (or never started), else the exit status."""
        return self._popen.poll() if self._popen else None

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self._popen is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, sig)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it if still there after timeout. Idempotent."""
        popen = self._popen
        if popen is not None and popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                popen.wait(_KILL_WAIT)
        if self._log is not None:
            self._log.close()
            self._log = None


def pid_alive(pid: int) -> bool:
    """Whether pid runs: a zombie still answers kill(0), yet has stopped running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def processes_mentioning(text: str) -> list[int]:
    """Running PIDs (not this one) whose command line contains text: how a stray server
    started from a working directory shows, whoever its parent now is."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if text in cmdline and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def numbered_log(first: Path, start: int) -> Path:
    """The log file of a process's ``start``-th start: ``first``, then `<stem>-<n><suffix>`,
    so the log of a restart never overwrites that of the crash it follows."""
    return first if start == 1 else first.with_name(f"{first.stem}-{start}{first.suffix}")


def first_exit(processes: Sequence[ManagedProcess]) -> str | None:
    """A description (name, status, log tail) of the first of processes that has exited."""
    for process in processes:
        code = process.exit_code()
        if code is not None:
            return f"{process.name} exited with {code}:\n{process.log_tail()}"
    return None
