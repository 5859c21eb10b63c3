"""Memory the operator need not hold: Kubernetes connections opened all at once, the
TLS read buffer of each, and every object's ``metadata.managedFields``.

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

kopf keeps the latest body of every object it watches (a daemon's ``body`` is a view
of it), and each carries ``metadata.managedFields``: one entry per field manager
(kubectl or Argo CD, kopf's finalizer and annotations, the operator's status), each a
tree of small dicts naming every field it owns. Decoded, that is more than half of an
InferenceComponent: 26 KB of Python objects per body against 11.5 KB without (three
managers; bench/README.md), and every one of those small dicts is another object for
the garbage collector's full passes to walk. Nothing in kopf or the operator reads it,
so it is dropped from every watch event before kopf stores the body
(:func:`slim_watch_events`) and from the API server's answers to the status client
(:func:`without_managed_fields`).
"""

from __future__ import annotations

import asyncio.sslproto
import contextlib
import functools
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from kopf._cogs.clients import watching

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


def without_managed_fields(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """``body`` without ``metadata.managedFields`` (removed in place: the caller has the
    only reference to a body just decoded from the API server)."""
    meta = body.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return body


def slim_watch_events() -> bool:
    """Drop ``metadata.managedFields`` from every object kopf's watch streams (and their
    initial listings) yield from now on, before kopf stores it. kopf (pinned in
    constraints.txt) calls ``watching.infinite_watch`` through its module, which is
    what is wrapped. Returns False when already done."""
    original: Any = watching.infinite_watch
    if getattr(original, "ic_operator_slim", False):
        return False

    @functools.wraps(original)
    async def infinite_watch(**kwargs: Any) -> AsyncIterator[Any]:
        async with contextlib.aclosing(original(**kwargs)) as stream:
            async for event in stream:
                if isinstance(event, dict) and isinstance(event.get("object"), dict):
                    without_managed_fields(event["object"])
                yield event

    infinite_watch.ic_operator_slim = True  # type: ignore[attr-defined]
    watching.infinite_watch = infinite_watch
    return True
