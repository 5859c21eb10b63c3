#!/usr/bin/env python3
"""Measure the sandbox's start and stop time and the servers' memory, for the README.

Runs `ic-sandbox up --no-build` N times (default 3) from the current
environment: seconds from launch until DIR/env exists (the control plane
answered /readyz), the RSS of etcd and kube-apiserver at that moment, and seconds
from SIGINT until the command has exited.
Usage: .venv/bin/python tools/controlplane/measure.py [RUNS]
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def servers(directory: Path) -> dict[str, int]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(directory / "controlplane").encode() in a for a in argv):
            found[Path(argv[0].decode()).name] = int(entry.name)
    return found


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    cli = Path(sys.executable).parent / "ic-sandbox"
    for run in range(1, runs + 1):
        directory = Path(tempfile.mkdtemp(prefix="ic-sandbox-measure-"))
        started = time.monotonic()
        proc = subprocess.Popen(
            # the control plane alone (what the README figures are about)
            [
                str(cli),
                "up",
                "--dir",
                str(directory),
                "--no-build",
                "--no-emulator",
                "--no-operator",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        deadline = started + 120
        while not (directory / "env").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                print(f"run {run}: sandbox did not come up", file=sys.stderr)
                proc.kill()
                return 1
            time.sleep(0.02)
        up = time.monotonic() - started
        memory = {name: rss_mib(pid) for name, pid in servers(directory).items()}
        stopping = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        down = time.monotonic() - stopping
        rss = ", ".join(f"{name} {mib:.0f} MiB" for name, mib in sorted(memory.items()))
        print(f"run {run}: ready in {up:.2f}s, stopped in {down:.2f}s; RSS {rss}")
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
