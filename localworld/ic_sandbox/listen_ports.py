"""Ports for child servers that no outgoing connection can take before the child binds.

A port from bind(("127.0.0.1", 0)) is drawn from the kernel's ephemeral range, the same
range every outgoing TCP connection takes its local port from. Between the pick and the
child's own bind (a Python start-up, a second or more) any client socket of the run
(boto3 to the emulator, kubectl, a watch) can be given that port, and the child dies
with EADDRINUSE: CI lost a run to exactly that (the operator's health port 42003,
"address already in use"). Ports outside the ephemeral range are only ever taken by an
explicit bind, so the competitors left are other listeners, which the probe bind sees,
and this process's own earlier picks, which it remembers. An emulator restarted on its
old port is safe for the same reason.

Two pytest-xdist workers of one `make test` pick ports at the same moments (each starts its
own control plane, emulator and operators), and neither remembers the other's picks: each
worker (and the processes it starts, which inherit its environment) draws from its own
residue class of ports, so their picks cannot meet.
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 20000  # above the fixed ports a node's daemons listen on (10248-10259, 2379-2380)
_HIGHEST = 65535
_MIN_CHOICE = 1000  # fewer candidates than this: the bind(0) pick, with its race
_TRIES = 200

_given: set[int] = set()


def ephemeral_range(path: Path | None = None) -> tuple[int, int]:
    """The kernel's ephemeral port range; Linux's default where the file is absent."""
    try:
        low, high = (path or _RANGE_FILE).read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def candidates(ephemeral: tuple[int, int]) -> list[range]:
    """The stretches of [_LOWEST, _HIGHEST] outside the ephemeral range, widest first."""
    low, high = ephemeral
    below = range(_LOWEST, max(_LOWEST, low))
    above = range(max(_LOWEST, high + 1), _HIGHEST + 1)
    return sorted((r for r in (below, above) if len(r)), key=len, reverse=True)


def worker_share(pool: list[int], env: dict[str, str] | os._Environ[str]) -> list[int]:
    """The ports of `pool` this pytest-xdist worker may hand out (all of them outside xdist)."""
    worker, count = env.get("PYTEST_XDIST_WORKER", ""), env.get("PYTEST_XDIST_WORKER_COUNT")
    if not (worker.startswith("gw") and count):
        return pool
    index, workers = int(worker[2:]), int(count)
    return [port for port in pool if port % workers == index % workers]


def _bindable(port: int) -> bool:
    # No SO_REUSEADDR: a port with sockets still in TIME_WAIT is refused too, so a
    # child that binds without the option cannot trip over one either. Binding the
    # wildcard address conflicts with a listener on any address, loopback included.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _kernel_pick() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port() -> int:
    """A port nothing listens on, outside the ephemeral range, not handed out before."""
    pool = worker_share([p for s in candidates(ephemeral_range()) for p in s], os.environ)
    if len(pool) < _MIN_CHOICE:
        return _kernel_pick()
    for _ in range(_TRIES):
        port = random.choice(pool)
        if port not in _given and _bindable(port):
            _given.add(port)
            return port
    raise RuntimeError(f"no free port among {len(pool)} outside the ephemeral range")
