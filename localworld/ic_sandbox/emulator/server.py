"""The HTTP front: AWS JSON 1.1 on `POST /` and the admin API under `/_emulator/`.

Requests are accepted signed or unsigned; signatures are never checked. Every SageMaker
call, accepted or rejected (including injected faults), is recorded for `GET /_emulator/calls`.
A write whose response is lost on purpose is applied first and recorded as accepted, with
`lost` saying what the client got instead (an error code, or "dropped"); a read that
served a version from before a recent write is recorded with `stale: true`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import botocore.session
from aiohttp import web
from botocore.model import OperationModel, ServiceModel

from .errors import ApiError
from .faults import COMPONENT_WRITES, DROPPED, Faults, server_error
from .service import SageMaker
from .validation import validate_request
from .world import World

JSON_11 = "application/x-amz-json-1.1"
WORLD_KEY = web.AppKey("world", World)
SERVICE_KEY = web.AppKey("service", SageMaker)


def load_model() -> ServiceModel:
    model: ServiceModel = botocore.session.get_session().get_service_model("sagemaker")
    return model


def _error(err: ApiError) -> web.Response:
    return _reply({"__type": err.code, "message": err.message}, err.status)


def _reply(payload: dict[str, Any], status: int = 200) -> web.Response:
    """A JSON 1.1 response with the exact content type (no charset suffix) and a request id."""
    return web.Response(
        body=json.dumps(payload).encode(),
        status=status,
        headers={"Content-Type": JSON_11, "x-amzn-RequestId": str(uuid.uuid4())},
    )


def _admin_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class Front:
    def __init__(self, world: World, service: SageMaker, model: ServiceModel) -> None:
        self.world = world
        self.service = service
        self.model = model
        self._operations: dict[str, OperationModel] = {}

    def _operation(self, name: str) -> OperationModel | None:
        op = self._operations.get(name)
        if op is None and name in self.service.handlers:
            op = self.model.operation_model(name)
            self._operations[name] = op
        return op

    async def api(self, request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        prefix, _, name = target.partition(".")
        raw = await request.read()
        body: Any = None
        error: ApiError | None = None
        lost: str | None = None
        stale = False
        result: dict[str, Any] = {}
        try:
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError as exc:
                raise ApiError("SerializationException", "Request body is not valid JSON") from exc
            op = self._operation(name) if prefix == "SageMaker" else None
            if op is None:
                raise ApiError(
                    "UnknownOperationException",
                    f"Operation {target or '(none)'} is not supported by the emulator.",
                )
            if not isinstance(body, dict):
                raise ApiError("SerializationException", "Request body must be a JSON object")
            faults = self.world.faults
            delay = faults.latency_seconds(name)
            if delay:
                await asyncio.sleep(delay)
            faults.check(name)
            validate_request(op, body)
            self.world.served_stale = False
            try:
                result, lost = self._handle(name, body)
            finally:
                stale = self.world.served_stale
        except ApiError as exc:
            error = exc
        self.world.calls.append(
            {
                "operation": name or target,
                "request": body,
                "error": error.code if error else None,
                "lost": lost,
                "stale": stale,
                "at": self.world.clock.now(),
            }
        )
        if error is not None:
            return _error(error)
        if lost == DROPPED:
            # Applied, and the client never hears: close the TCP connection without a
            # response (botocore reports ConnectionClosedError and retries).
            if request.transport is not None:
                request.transport.abort()
            return _reply({})
        if lost is not None:
            return _error(server_error(lost))
        return _reply(result)

    def _handle(self, name: str, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Run the operation; for a component write, keep the version a lagging read serves
        and decide whether its response is lost (None, an error code, or DROPPED)."""
        faults = self.world.faults
        component = self.service.component_named(body) if name in COMPONENT_WRITES else None
        lag = faults.lag_seconds(component)
        before = self.service.snapshot(component) if component and lag else None
        result = self.service.handlers[name](body)
        if component is None:
            return result, None
        if lag:
            self.world.remember(component, before, lag)
        return result, faults.lose(name, component)

    # ---- admin ------------------------------------------------------------------------------
    async def calls(self, request: web.Request) -> web.Response:
        return web.json_response(self.world.calls)

    async def clear_calls(self, request: web.Request) -> web.Response:
        self.world.calls.clear()
        return web.json_response({"cleared": True})

    async def put_alarm(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _admin_error(400, "body must be JSON")
        state = body.get("state") if isinstance(body, dict) else None
        if state not in ("ALARM", "OK", "INSUFFICIENT_DATA"):
            return _admin_error(400, 'state must be "ALARM", "OK" or "INSUFFICIENT_DATA"')
        name = request.match_info["name"]
        self.world.set_alarm(name, state)
        return web.json_response({"name": name, "state": state})

    async def get_alarms(self, request: web.Request) -> web.Response:
        return web.json_response(self.world.alarms)

    async def put_faults(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            self.world.faults = Faults.from_json(body)
        except (ValueError, TypeError) as exc:
            return _admin_error(400, str(exc))
        return web.json_response(self.world.faults.to_json())

    async def history(self, request: web.Request) -> web.Response:
        rec = self.world.components.get(request.match_info["name"])
        if rec is None:
            return _admin_error(404, "no such inference component")
        return web.json_response(rec.history)

    async def get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.world.faults.to_json())

    async def reset(self, request: web.Request) -> web.Response:
        await reset_world(self.world)
        return web.json_response({"reset": True})

    async def health(self, request: web.Request) -> web.Response:
        w = self.world
        return web.json_response(
            {
                "status": "ok",
                "region": w.region,
                "account_id": w.account_id,
                "time_scale": w.clock.time_scale,
                "components": len(w.components),
                "endpoints": len(w.endpoints),
                "calls": len(w.calls),
            }
        )


async def reset_world(world: World) -> None:
    """Forget every resource, call, alarm and fault (tasks are cancelled first)."""
    await world.cancel_all()
    world.models.clear()
    world.endpoint_configs.clear()
    world.endpoints.clear()
    world.components.clear()
    world.by_arn.clear()
    world.alarms.clear()
    world.calls.clear()
    world.versions.clear()
    world.faults = Faults()


def build_app(world: World, model: ServiceModel | None = None) -> web.Application:
    service = SageMaker(world)
    front = Front(world, service, model or load_model())
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[WORLD_KEY] = world
    app[SERVICE_KEY] = service
    app.router.add_post("/", front.api)
    app.router.add_get("/_emulator/calls", front.calls)
    app.router.add_delete("/_emulator/calls", front.clear_calls)
    app.router.add_get("/_emulator/alarms", front.get_alarms)
    app.router.add_put("/_emulator/alarms/{name}", front.put_alarm)
    app.router.add_get("/_emulator/components/{name}/history", front.history)
    app.router.add_get("/_emulator/faults", front.get_faults)
    app.router.add_put("/_emulator/faults", front.put_faults)
    app.router.add_post("/_emulator/reset", front.reset)
    app.router.add_get("/_emulator/health", front.health)
    return app
