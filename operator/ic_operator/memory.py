"""Memory the operator need not hold: the TLS read buffer of every Kubernetes connection.

CPython's asyncio gives each TLS connection a read buffer of
``asyncio.sslproto.SSLProtocol.max_size`` bytes (256 KiB), allocated and zero-filled
when the connection opens. kopf's connection pool to the API server has no limit
(``aiohttp.TCPConnector(limit=0)``), and when a thousand objects appear at once (a
first start, a restart, an Argo CD sync) kopf patches each one's finalizer
concurrently, so hundreds of connections open together: the benchmark's tracemalloc
snapshot after applying 300 components held 27 MiB in these buffers alone, and the
process keeps the high-water mark as RSS long after the connections close.

A TLS record carries at most 16 KiB of data, so a 32 KiB read still takes whole
records; larger bodies (a watch's initial list) take more reads, not more memory.
"""

from __future__ import annotations

import asyncio.sslproto

TLS_READ_BUFFER = 32 * 1024


def shrink_tls_read_buffers(size: int = TLS_READ_BUFFER) -> int:
    """Cap the read buffer of TLS connections opened from now on; returns the cap in
    force (unchanged where this Python's asyncio has no such attribute)."""
    protocol = asyncio.sslproto.SSLProtocol
    current = int(getattr(protocol, "max_size", 0))
    if current > size:
        protocol.max_size = size
        return size
    return current
