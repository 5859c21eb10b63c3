"""Smithy RPC v2 CBOR: `POST /service/<target prefix>/operation/<Operation>`.

botocore and the AWS CLI v1 do not send it today (they choose AWS JSON 1.0 for CloudWatch,
see protocols.py), but CloudWatch's model lists it first and other SDKs may pick it, so the
same services answer it too: `smithy-protocol: rpc-v2-cbor`, `application/cbor` bodies,
timestamps as tag 1, errors as a `__type`/`message` map with the status and (for CloudWatch)
the `x-amzn-query-error` header of the JSON form. Calls go through the same Front.call as
JSON ones, so validation, faults and the call log are shared.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import cbor
from .protocols import UNREADABLE, render_json11

if TYPE_CHECKING:
    from .server import Front

CBOR = "application/cbor"


def _reply(body: bytes, status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=body,
        status=status,
        headers={
            "Content-Type": CBOR,
            "smithy-protocol": "rpc-v2-cbor",
            "x-amzn-RequestId": str(uuid.uuid4()),
            **(headers or {}),
        },
    )


def add_routes(app: web.Application, front: Front) -> None:
    async def call(request: web.Request) -> web.Response:
        prefix = request.match_info["service"]
        name = request.match_info["operation"]
        raw = await request.read()
        body: Any
        try:
            body = cbor.loads(raw) if raw else {}
        except (cbor.CborError, UnicodeDecodeError, IndexError):
            body = UNREADABLE
        outcome = await front.call(prefix, name, body, f"{prefix}.{name}", "CBOR")
        if outcome.error is not None:
            service = outcome.service if outcome.known else None
            rendered = (service.render_error if service else render_json11)(outcome.error)
            return _reply(cbor.dumps(rendered.body), rendered.status, rendered.headers)
        assert outcome.operation is not None
        return _reply(cbor.dumps(outcome.result, outcome.operation.output_shape), 200)

    app.router.add_post("/service/{service}/operation/{operation}", call)
