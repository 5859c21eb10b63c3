"""Memory the operator need not hold: Kubernetes connections opened all at once, and
the TLS read buffer of each.

CPython's asyncio gives each TLS connection a read buffer of
``asyncio.sslproto.SSLProtocol.max_size`` bytes (256 KiB), allocated and zero-filled
when the connection opens. kopf's connection pool to the API server has no limit
(``aiohttp.TCPConnector(limit=0)``), and when a thousand objects appear at once (a
first start, a restart, an Argo CD sync) kopf patches each one's finalizer
concurrently, so hundreds of connections open together: in the benchmark these
buffers were the largest allocation site after an apply (bench/README.md, "Figures
the code rests on"), and the process keeps the high-water mark as RSS long after the
connections close.

A TLS record carries at most 16 KiB of data, so a 32 KiB read still takes whole
records; larger bodies (a watch's initial list) take more reads, not more memory.

Each connection also costs OpenSSL's own buffers and a decoded response, so the pool
itself is capped (:func:`cap_client_connections`): requests beyond the cap wait for a
free connection instead of opening one: a few dozen connections however many objects
appear at once.
"""

from __future__ import annotations

import asyncio.sslproto
import functools
from typing import Any

import aiohttp

TLS_READ_BUFFER = 32 * 1024
SPARE_CONNECTIONS = 32  # for requests, beyond the long-lived watch streams


def shrink_tls_read_buffers(size: int = TLS_READ_BUFFER) -> int:
    """Cap the read buffer of TLS connections opened from now on; returns the cap in
    force (unchanged where this Python's asyncio has no such attribute)."""
    protocol = asyncio.sslproto.SSLProtocol
    current = int(getattr(protocol, "max_size", 0))
    if current > size:
        protocol.max_size = size
        return size
    return current


def connection_cap(namespaces: int) -> int:
    """Enough for every watch stream kopf keeps open (the resource and peering, per
    namespace watched; one set when cluster-wide) plus :data:`SPARE_CONNECTIONS`, so a
    watch can never take the last connection a request needs."""
    return SPARE_CONNECTIONS + 4 * max(1, namespaces)


def cap_client_connections(limit: int) -> int:
    """Give every aiohttp client pool created from now on that asks for no limit
    (kopf's: ``TCPConnector(limit=0)``) this limit instead; returns the cap in force.
    Only kopf's API client uses aiohttp's client in this process (boto3 has its own)."""
    init: Any = aiohttp.TCPConnector.__init__
    if getattr(init, "ic_operator_cap", None) is not None:
        return int(init.ic_operator_cap)
    original = init

    @functools.wraps(original)
    def capped(self: aiohttp.TCPConnector, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("limit") == 0:
            kwargs["limit"] = limit
        original(self, *args, **kwargs)

    capped.ic_operator_cap = limit  # type: ignore[attr-defined]
    aiohttp.TCPConnector.__init__ = capped  # type: ignore[method-assign]
    return limit
