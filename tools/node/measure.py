#!/usr/bin/env python3
"""Measure the local node's start and stop time, for the README.

Runs N times (default 3): create the node network, start the control plane on its
gateway, then time `Node.start()` (containerd up, pause image built and imported,
every component started, Node Ready) and `Node.stop()` (host effects restored).
Needs root, `make node` and `make controlplane`.
Usage: .venv/bin/python tools/node/measure.py [RUNS]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from ic_sandbox.cluster.binaries import ensure_binaries, ensure_node_binaries
from ic_sandbox.cluster.controlplane import ControlPlane
from ic_sandbox.node.network import NodeNetwork
from ic_sandbox.node.node import Node


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    binaries, node_binaries = ensure_binaries(build=False), ensure_node_binaries(build=False)
    for run in range(1, runs + 1):
        directory = Path(tempfile.mkdtemp(prefix="ic-node-measure-"))
        network = NodeNetwork.create()
        control_plane = ControlPlane(directory / "cp", binaries, address=network.gateway)
        try:
            control_plane.start()
            node = Node(directory / "node", control_plane, network, node_binaries)
            started = time.monotonic()
            node.start()
            ready = time.monotonic() - started
            started = time.monotonic()
            node.stop()
            stopped = time.monotonic() - started
        finally:
            control_plane.stop()
            network.delete()
        shutil.rmtree(directory, ignore_errors=True)
        print(f"run {run}: node Ready in {ready:.1f} s, stopped in {stopped:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
