"""Start `ic-sandbox up` / `ic-sandbox demo` as real processes and inspect what they left.

The launched command runs in its own process group with a parent-death signal
(ManagedProcess), so a crashed test run cannot leave a sandbox behind. Its output
goes to a log file the tests read: the banner names every child process by PID.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from ic_sandbox.processes import ManagedProcess
from tests.fixtures.emulator import wait_for

REPO = Path(__file__).resolve().parents[2]
_PROCESSES = re.compile(r"processes: (.+)$", re.MULTILINE)


def clean_env() -> dict[str, str]:
    """This environment without anything that could point a child at real AWS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IC_OPERATOR_"))}
    if "IC_OPERATOR_CACHE" in os.environ:
        env["IC_OPERATOR_CACHE"] = os.environ["IC_OPERATOR_CACHE"]
    env["PYTHONUNBUFFERED"] = "1"
    return env


def cmdline(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() or None


@dataclass
class Child:
    name: str
    pid: int
    cmdline: str

    def alive(self) -> bool:
        """Still running: the PID exists with the same command line (not a reused PID)."""
        return cmdline(self.pid) == self.cmdline


class Launched:
    """One `ic-operator` command with its output in ``log``."""

    def __init__(self, tmp_path: Path, *argv: str) -> None:
        self.log = tmp_path / "output.log"
        self.process = ManagedProcess(
            "ic-operator",
            [sys.executable, "-m", "ic_sandbox.cli", *argv],
            self.log,
            env=clean_env(),
            cwd=REPO,
        )
        self.process.start()

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_output(self, text: str, timeout: float) -> None:
        def seen() -> bool:
            if text in self.output():
                return True
            assert self.process.running(), f"exited early:\n{self.output()[-4000:]}"
            return False

        wait_for(seen, timeout=timeout, interval=0.2, what=f"{text!r} in the output")

    def children(self) -> list[Child]:
        """The processes the banner names, with their command lines read while they run."""
        match = _PROCESSES.search(self.output())
        assert match, f"no processes line in:\n{self.output()}"
        found = []
        for item in match.group(1).split(", "):
            name, pid = item.rsplit(" ", 1)
            line = cmdline(int(pid))
            assert line is not None, f"{name} {pid} named in the banner is not running"
            found.append(Child(name, int(pid), line))
        return found

    def interrupt(self) -> None:
        assert self.process.pid is not None
        os.kill(self.process.pid, signal.SIGINT)

    def wait_exit(self, timeout: float) -> int:
        wait_for(
            lambda: self.process.exit_code() is not None,
            timeout=timeout,
            interval=0.2,
            what=f"exit; output tail:\n{self.output()[-3000:]}",
        )
        code = self.process.exit_code()
        assert code is not None
        return code

    def stop(self) -> None:
        self.process.stop()


def read_env(path: Path) -> dict[str, str]:
    """DIR/env's `export NAME=value` lines, as a shell that sources it would see them."""
    values = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line)
        if words and words[0] == "export":
            name, _, value = words[1].partition("=")
            values[name] = value
    return values
