"""The TLS read-buffer cap: connections opened after it hold 32 KiB, and a body many
times that size still arrives whole over real TLS (aiohttp client and server). The
connection cap. The managedFields that kopf's watch would store with every body."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from kopf._cogs.clients import watching

from ic_operator.kube import memory
from ic_sandbox.cluster import certs

BODY = bytes(range(256)) * (4 * 1024 * 16)  # 16 MiB, every byte value


@pytest.fixture
def restore_buffer() -> object:
    original = asyncio.sslproto.SSLProtocol.max_size
    yield original
    asyncio.sslproto.SSLProtocol.max_size = original


def test_connections_opened_after_the_cap_read_large_bodies_through_a_small_buffer(
    tmp_path: Path, restore_buffer: object
) -> None:
    pki = certs.generate(tmp_path / "pki")
    assert memory.shrink_tls_read_buffers() == memory.TLS_READ_BUFFER
    assert memory.shrink_tls_read_buffers(1 << 20) == memory.TLS_READ_BUFFER  # never grows

    async def scenario() -> None:
        async def body(_: web.Request) -> web.Response:
            return web.Response(body=BODY)

        app = web.Application()
        app.router.add_get("/", body)
        runner = web.AppRunner(app)
        await runner.setup()
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(pki.apiserver_server.cert, pki.apiserver_server.key)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        client_ctx = ssl.create_default_context(cafile=str(pki.ca.cert))
        try:
            url = f"https://localhost:{port}/"
            async with aiohttp.ClientSession() as session, session.get(url, ssl=client_ctx) as resp:
                transport = resp.connection.transport  # type: ignore[union-attr]
                buffer = len(transport._ssl_protocol._ssl_buffer)  # type: ignore[union-attr]
                received = await resp.read()
        finally:
            await runner.cleanup()
        assert buffer == memory.TLS_READ_BUFFER
        assert hashlib.sha256(received).digest() == hashlib.sha256(BODY).digest()

    asyncio.run(scenario())


def test_pools_that_ask_for_no_limit_get_the_cap_and_the_others_keep_theirs() -> None:
    original = aiohttp.TCPConnector.__init__
    try:
        cap = memory.connection_cap(namespaces=3)
        assert cap == memory.SPARE_CONNECTIONS + 12
        assert memory.cap_client_connections(cap) == cap
        assert memory.cap_client_connections(999) == cap  # once per process

        async def limits() -> tuple[int, int]:
            unlimited = aiohttp.TCPConnector(limit=0)  # what kopf asks for
            explicit = aiohttp.TCPConnector(limit=7)
            try:
                return unlimited.limit, explicit.limit
            finally:
                await unlimited.close()
                await explicit.close()

        assert asyncio.run(limits()) == (cap, 7)
    finally:
        aiohttp.TCPConnector.__init__ = original  # type: ignore[method-assign]


def _obj(name: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "resourceVersion": "7",
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:x": {}}}}],
        },
        "spec": {"x": 1},
    }


def test_watch_events_reach_kopf_without_managed_fields_and_the_stream_closes_through() -> None:
    closed: list[bool] = []

    async def fake_watch(**kwargs: Any) -> AsyncIterator[Any]:
        assert kwargs == {"namespace": "ns"}
        try:
            yield watching.Bookmark.LISTED
            yield {"type": "ADDED", "object": _obj("a")}
            yield {"type": "MODIFIED", "object": _obj("b")}
        finally:
            closed.append(True)

    original = watching.infinite_watch
    watching.infinite_watch = fake_watch  # type: ignore[assignment]
    try:
        assert memory.slim_watch_events() is True
        assert memory.slim_watch_events() is False  # once per process

        async def first_two() -> list[Any]:
            seen = []
            # kopf looks the function up through the module at every (re)connect
            stream = watching.infinite_watch(namespace="ns")  # type: ignore[call-arg]
            async for event in stream:
                seen.append(event)
                if len(seen) == 2:
                    await stream.aclose()  # type: ignore[attr-defined]
                    break
            return seen

        seen = asyncio.run(first_two())
    finally:
        watching.infinite_watch = original  # type: ignore[assignment]
    assert seen[0] is watching.Bookmark.LISTED
    assert seen[1]["object"]["metadata"] == {"name": "a", "resourceVersion": "7"}
    assert seen[1]["object"]["spec"] == {"x": 1}
    assert closed == [True]  # the wrapped stream's own clean-up ran


def test_without_managed_fields_leaves_other_bodies_alone() -> None:
    assert memory.without_managed_fields(_obj("a"))["metadata"] == {
        "name": "a",
        "resourceVersion": "7",
    }
    assert memory.without_managed_fields({"kind": "Status"}) == {"kind": "Status"}
