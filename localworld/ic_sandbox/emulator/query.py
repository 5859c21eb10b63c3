"""The AWS query protocol: form-encoded `Action=…&Version=…` requests, XML replies.

The request's `Version` (the API version) picks the service, among those whose model lists
`query`. Today that is CloudWatch, which neither boto3 1.44.5 nor the AWS CLI 1.46.2 sends it
to (they choose JSON 1.0, see protocols.py); STS, which both send only query to, is the user
this codec is kept for (docs/emulator.md, "Wire protocol"). Parameters are flattened as
botocore's QuerySerializer writes them (`AlarmNames.member.1`, `Dimensions.member.1.Name`);
replies are `<OpResponse><OpResult>…</OpResult>` with ISO-8601 timestamps, errors
`<ErrorResponse><Error><Type/><Code/><Message/></Error>`. Calls go through the front's
dispatch like every other encoding, so validation, faults and the call log are shared.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from aiohttp import web
from botocore.model import ListShape, MapShape, Shape, StructureShape

from .protocols import UNREADABLE, Dispatch, JsonService, render_json11

FORM = "application/x-www-form-urlencoded"


def _scalar(shape: Shape, raw: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        return int(raw)
    if kind in ("float", "double"):
        return float(raw)
    if kind == "boolean":
        return raw.lower() == "true"
    return raw


def _member_name(shape: Shape) -> str:
    return str(shape.serialization.get("name", "member"))


def _unflatten(shape: Shape, params: dict[str, str], prefix: str) -> Any:
    """The value at `prefix` for `shape`, or None when nothing was sent for it."""
    if isinstance(shape, StructureShape):
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            value = _unflatten(member, params, f"{prefix}.{key}" if prefix else key)
            if value is not None:
                out[name] = value
        return out if out or not prefix else None
    if isinstance(shape, ListShape):
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.member"
        items = []
        i = 1
        while True:
            item = _unflatten(shape.member, params, f"{base}.{i}")
            if item is None:
                break
            items.append(item)
            i += 1
        return items if items or prefix in params else None
    if isinstance(shape, MapShape):
        entries: dict[str, Any] = {}
        i = 1
        while f"{prefix}.entry.{i}.key" in params:
            entries[params[f"{prefix}.entry.{i}.key"]] = _unflatten(
                shape.value, params, f"{prefix}.entry.{i}.value"
            )
            i += 1
        return entries or None
    raw = params.get(prefix)
    return None if raw is None else _scalar(shape, raw)


def _xml(shape: Shape | None, value: Any) -> str:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return "".join(
            f"<{name}>{_xml(shape.members.get(name), v)}</{name}>"
            for name, v in value.items()
            if v is not None
        )
    if isinstance(shape, ListShape) and isinstance(value, list):
        tag = _member_name(shape.member)
        return "".join(f"<{tag}>{_xml(shape.member, v)}</{tag}>" for v in value)
    if shape is not None and shape.type_name == "timestamp" and isinstance(value, int | float):
        moment = datetime.datetime.fromtimestamp(value, datetime.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _reply(body: str, status: int) -> web.Response:
    return web.Response(body=body.encode(), status=status, content_type="text/xml")


def speaks_query(service: JsonService) -> bool:
    """Whether a client may send this service the query protocol (its model lists it)."""
    metadata = service.model.metadata
    return "query" in (metadata.get("protocols") or [metadata.get("protocol")])


async def handle(
    request: web.Request, call: Dispatch, by_version: Callable[[str], JsonService | None]
) -> web.Response:
    """Decode one query request, dispatch it, and encode the outcome as XML."""
    raw = (await request.read()).decode("utf-8", "replace")
    params = dict(parse_qsl(raw, keep_blank_values=True))
    action = params.get("Action", "")
    service = by_version(params.get("Version", ""))
    prefix = service.prefix if service is not None else ""
    namespace = service.model.metadata.get("xmlNamespace", "") if service is not None else ""
    op = service.operation(action) if service is not None else None
    body: Any = {}
    try:
        if op is not None and op.input_shape is not None:
            body = _unflatten(op.input_shape, params, "")
    except ValueError:
        body = UNREADABLE
    outcome = await call(prefix, action, body, f"{prefix}.{action}", "query")
    request_id = str(uuid.uuid4())
    if outcome.error is not None:
        service = outcome.service
        rendered = (service.render_error if service is not None else render_json11)(outcome.error)
        code, _, fault = rendered.headers.get("x-amzn-query-error", "").partition(";")
        return _reply(
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault or "Sender"}</Type>'
            f"<Code>{escape(code or outcome.error.code)}</Code>"
            f"<Message>{escape(outcome.error.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>",
            rendered.status,
        )
    assert outcome.operation is not None
    result = _xml(outcome.operation.output_shape, outcome.result)
    wrapped = f"<{action}Result>{result}</{action}Result>" if result else ""
    return _reply(
        f'<{action}Response xmlns="{namespace}">{wrapped}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{action}Response>",
        200,
    )
