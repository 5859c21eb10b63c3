"""The HTTP front: AWS JSON on `POST /` and the admin API under `/_emulator/`.

`POST /` serves SageMaker and Application Auto Scaling (JSON 1.1) and CloudWatch (JSON 1.0),
told apart by the X-Amz-Target prefix (see protocols.py); a form-encoded body without one is
the query protocol (query.py), which reaches the same `Front.call`. With verification off (the
default) requests are accepted signed or unsigned; with it on, each must carry a SigV4
signature by a credential the emulator issued (sigv4.py). Every call, accepted or rejected
(including injected faults), is recorded for `GET /_emulator/calls`. With `authorize` on,
a SageMaker, Application Auto Scaling or CloudWatch call is checked against the caller's
identity policies before faults and validation (authorization.py). A SageMaker component
write whose response is lost on purpose is applied first and recorded as accepted, with
`lost` saying what the client got instead (an error code, or "dropped"); a read that served
a version from before a recent write is recorded with `stale: true`.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

from aiohttp import web
from botocore.model import OperationModel, ServiceModel

from . import query, scaler
from .application_autoscaling import ApplicationAutoScaling
from .authorization import Authorizer
from .cloudwatch import CloudWatch
from .components import InferenceComponents
from .errors import ApiError
from .faults import COMPONENT_WRITES, DROPPED, Faults, resource_arn, server_error
from .hosting import Hosting
from .identity import CALLER, Principal
from .identity_admin import add_routes as add_identity_routes
from .pod_identity import add_routes as add_pod_identity_routes
from .protocols import (
    JSON_10,
    JSON_11,
    UNREADABLE,
    JsonService,
    Outcome,
    load_model,
    render_cloudwatch,
)
from .sagemaker_tags import SageMakerTags
from .sigv4 import Authorization, Signed, parse_authorization, verify
from .state import EmulatorState
from .sts import SecurityTokenService, render_sts
from .validation import validate_request
from .worlds import Services, Worlds

SAGEMAKER = "SageMaker"  # its X-Amz-Target prefix
STS = "STS"  # query only: reached by its Version, never by an X-Amz-Target
# How far a signature's time may be from ours: the windows AWS's messages name (obs; see
# docs/emulator.md "Credentials and signatures"): JSON services 5 minutes, query ones 15.
SKEW_MINUTES = {"JSON": 5, "query": 15}
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
WORLDS = web.AppKey("worlds", Worlds)
NO_WORLD = "no such account and region here yet (a call of that account's makes it)"


def _error(service: JsonService | None, err: ApiError) -> web.Response:
    if service is None:
        return _reply({"__type": err.code, "message": err.message}, err.status)
    rendered = service.render_error(err)
    return _reply(rendered.body, rendered.status, service.content_type, rendered.headers)


def _reply(
    payload: dict[str, Any],
    status: int = 200,
    content_type: str = JSON_11,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A JSON response with the exact content type (no charset suffix) and a request id."""
    return web.Response(
        body=json.dumps(payload).encode(),
        status=status,
        headers={
            "Content-Type": content_type,
            "x-amzn-RequestId": str(uuid.uuid4()),
            **(headers or {}),
        },
    )


def _admin_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class Front:
    def __init__(self, worlds: Worlds) -> None:
        self.worlds = worlds
        self.world = worlds.primary  # the admin routes' default world
        home = worlds.home.services
        self.services = home
        self.by_version = {s.model.api_version: s for s in home.values() if query.speaks_query(s)}

    async def api(self, request: web.Request) -> web.Response:
        raw = await request.read()
        signed = Signed(request.method, request.raw_path, request.headers, raw)

        async def call(prefix: str, name: str, body: Any, shown: str, encoding: str) -> Outcome:
            return await self.call(prefix, name, body, shown, encoding, signed=signed)

        target = request.headers.get("X-Amz-Target", "")
        if not target and request.content_type == query.FORM:
            return await query.handle(request, call, self.by_version.get)
        prefix, _, name = target.partition(".")
        try:
            body: Any = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = UNREADABLE
        outcome = await call(prefix, name, body, target, "JSON")
        if outcome.error is not None:
            return _error(outcome.service if outcome.known else None, outcome.error)
        assert outcome.service is not None
        if outcome.lost == DROPPED:
            # Applied, and the client never hears: close the TCP connection without a
            # response (botocore reports ConnectionClosedError and retries).
            if request.transport is not None:
                request.transport.abort()
            return _reply({})
        if outcome.lost is not None:
            return _error(outcome.service, server_error(outcome.lost))
        return _reply(outcome.result, content_type=outcome.service.content_type)

    async def call(
        self, prefix: str, name: str, body: Any, shown: str, encoding: str, *, signed: Signed
    ) -> Outcome:
        """Authenticate, validate, fault, handle and record one call, whatever its wire
        encoding."""
        service = self.services.get(prefix)
        if service is not None and encoding != "query" and query.query_only(service):
            service = None  # STS is not reachable by an X-Amz-Target
        error: ApiError | None = None
        lost: str | None = None
        stale = False
        result: dict[str, Any] = {}
        op: OperationModel | None = None
        caller: Principal | None = None
        here = self.worlds.home
        try:
            op = service.operation(name) if service is not None else None
            caller, region = self._authenticate(service, op, signed, encoding)
            # The caller's account in the signature's region serves the call (worlds.py).
            here = self.worlds.get(caller.account_id, region)
            service = here.services.get(prefix) if service is not None else None
            if body is UNREADABLE:
                body = None
                raise ApiError("SerializationException", f"Request body is not valid {encoding}")
            if op is None:
                raise ApiError(
                    "UnknownOperationException",
                    f"Operation {shown or '(none)'} is not supported by the emulator.",
                )
            if not isinstance(body, dict):
                raise ApiError("SerializationException", "Request body must be a JSON object")
            here.authorizer.check(prefix, name, body, caller)
            world = here.state
            faults = world.faults
            delay = faults.latency_seconds(name)
            if delay:
                await asyncio.sleep(delay)
            faults.check(name)
            assert service is not None
            self._denied(world, service, name, caller, body)
            validate_request(op, body)
            world.served_stale = False
            token = CALLER.set(caller)
            try:
                result, lost = self._handle(here, service, name, body)
            finally:
                CALLER.reset(token)
                stale = world.served_stale
        except ApiError as exc:
            error = exc
        self.world.calls.append(
            {
                "service": prefix,
                "operation": name or shown,
                "request": body,
                "error": error.code if error else None,
                "lost": lost,
                "stale": stale,
                "principal": caller.to_json() if caller is not None else None,
                "account": here.state.account_id,
                "region": here.state.region,
                "at": self.world.clock.now(),
            }
        )
        return Outcome(service, op, result, error, lost)

    def _denied(
        self, world: EmulatorState, service: JsonService, name: str, caller: Principal, body: Any
    ) -> None:
        """An injected AccessDeniedException (faults' denied_operations), naming the caller,
        the action and the resource as AWS's message does."""
        resource = resource_arn(body, world.partition, world.region, world.account_id)
        denied = world.faults.denial(name, caller.arn, service.signing_name, resource)
        if denied is not None:
            raise denied

    def _authenticate(
        self,
        service: JsonService | None,
        op: OperationModel | None,
        signed: Signed,
        encoding: str,
    ) -> tuple[Principal, str]:
        """The caller and the region its call is for; with verification on, only a valid
        signature by an issued credential names one (AssumeRoleWithWebIdentity, unsigned by
        design, is anonymous; its token says who calls). With it off, a known key still names
        its principal (so the call log and GetCallerIdentity say who called) and anything
        else is the account's root. The region is the signature's scope when the emulator
        serves it; otherwise the primary one (and with verification on, the scope's refusal)."""
        identities = self.world.identities
        header = signed.headers.get("Authorization", "")
        try:
            scope: Authorization | None = parse_authorization(header)
        except ApiError:
            scope = None
        region = self.world.region
        if scope is not None and self.worlds.serves(scope.region):
            region = scope.region
        if not identities.verify or (op is not None and op.auth_type == "none"):
            known = identities.credentials.get(scope.access_key_id) if scope else None
            return (known.principal if known else identities.root(self.world.account_id)), region
        credential = verify(
            identities,
            signed,
            # An unknown target has no service to scope to: its answer is the unknown
            # operation, once the signature itself holds.
            signing_name=service.signing_name if service is not None else None,
            region=region,
            skew_minutes=SKEW_MINUTES.get(encoding, 5),
        )
        return credential.principal, region

    @staticmethod
    def _handle(
        here: Services, service: JsonService, name: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], str | None]:
        """Run the operation; for a component write, keep the version a lagging read serves
        and decide whether its response is lost (None, an error code, or DROPPED)."""
        world, components = here.state, here.components
        faults = world.faults
        writes_component = service.prefix == SAGEMAKER and name in COMPONENT_WRITES
        component = components.component_named(body) if writes_component else None
        lag = faults.lag_seconds(component)
        before = components.snapshot(component) if component and lag else None
        result = service.handlers[name](body)
        if component is None:
            return result, None
        if lag:
            world.remember(component, before, lag)
        return result, faults.lose(name, component)

    # ---- admin ------------------------------------------------------------------------------
    def _world(self, request: web.Request) -> EmulatorState | None:
        """The world `?account=` and `?region=` name (each defaulting to the primary's)."""
        found = self.worlds.find(request.query.get("account"), request.query.get("region"))
        return found.state if found is not None else None

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
        world = self._world(request)
        if world is None:
            return _admin_error(404, NO_WORLD)
        name = request.match_info["name"]
        world.set_alarm(name, state)
        return web.json_response({"name": name, "state": state})

    async def get_alarms(self, request: web.Request) -> web.Response:
        world = self._world(request)
        return web.json_response(world.alarms if world else {})

    async def put_faults(self, request: web.Request) -> web.Response:
        """Faults are per account and region: an account that throttles slows no other.
        `?region=*` sets them in every region served now, as SageMaker's quotas are per
        account in each region (each world keeps its own dice)."""
        account, region = request.query.get("account"), request.query.get("region")
        if region not in (None, "*") and not self.worlds.serves(region):
            return _admin_error(400, f"region {region} is not served: PUT /_emulator/regions")
        regions = self.worlds.regions if region == "*" else [region or self.world.region]
        worlds = [self.worlds.get(account or self.world.account_id, r).state for r in regions]
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            settings = [Faults.from_json(body) for _ in worlds]
        except (ValueError, TypeError) as exc:
            return _admin_error(400, str(exc))
        for world, faults in zip(worlds, settings, strict=True):
            world.faults = faults
        return web.json_response(settings[0].to_json())

    async def history(self, request: web.Request) -> web.Response:
        world = self._world(request)
        rec = world.components.get(request.match_info["name"]) if world else None
        if rec is None:
            return _admin_error(404, "no such inference component")
        return web.json_response(rec.history)

    async def get_faults(self, request: web.Request) -> web.Response:
        world = self._world(request)
        return web.json_response((world.faults if world else Faults()).to_json())

    async def reset(self, request: web.Request) -> web.Response:
        await self.worlds.reset()
        return web.json_response({"reset": True})

    async def get_regions(self, request: web.Request) -> web.Response:
        return web.json_response({"regions": self.worlds.regions})

    async def put_regions(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _admin_error(400, "body must be JSON")
        regions = body.get("regions") if isinstance(body, dict) else None
        if not isinstance(regions, list) or not all(
            isinstance(r, str) and REGION.fullmatch(r) for r in regions
        ):
            return _admin_error(400, 'body must be {"regions": ["us-west-2", ...]}')
        self.worlds.enable(regions)
        return web.json_response({"regions": self.worlds.regions})

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
                "regions": self.worlds.regions,
                "worlds": self.worlds.summary(),
            }
        )


def _services(world: EmulatorState, model: ServiceModel | None = None) -> Services:
    """One account's services in one region (worlds.py)."""
    hosting = Hosting(world)
    components = InferenceComponents(world, hosting)
    tags = SageMakerTags(world, components)
    cloudwatch = CloudWatch(world)
    autoscaling = ApplicationAutoScaling(world, cloudwatch)
    simulation = scaler.Scaler(world, components, cloudwatch, autoscaling)
    services = [
        JsonService(
            SAGEMAKER,
            model or load_model("sagemaker"),
            {**hosting.handlers, **components.handlers, **tags.handlers},
        ),
        JsonService(
            "AnyScaleFrontendService",
            load_model("application-autoscaling"),
            autoscaling.handlers,
        ),
        JsonService(
            "GraniteServiceVersion20100801",
            load_model("cloudwatch"),
            cloudwatch.handlers,
            content_type=JSON_10,
            render_error=render_cloudwatch,
        ),
        JsonService(
            STS,
            load_model("sts"),
            SecurityTokenService(world.identities).handlers,
            render_error=render_sts,
        ),
    ]
    return Services(
        world,
        components,
        {s.prefix: s for s in services},
        Authorizer(world, autoscaling.target_arn),
        simulation,
    )


def build_app(
    world: EmulatorState, model: ServiceModel | None = None, extra_regions: list[str] | None = None
) -> web.Application:
    worlds = Worlds(world, lambda state: _services(state, model))
    worlds.enable(list(extra_regions or []))
    front = Front(worlds)
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[WORLDS] = worlds
    app.router.add_post("/", front.api)
    app.router.add_get("/_emulator/calls", front.calls)
    app.router.add_delete("/_emulator/calls", front.clear_calls)
    app.router.add_get("/_emulator/alarms", front.get_alarms)
    app.router.add_put("/_emulator/alarms/{name}", front.put_alarm)
    app.router.add_get("/_emulator/components/{name}/history", front.history)
    app.router.add_get("/_emulator/faults", front.get_faults)
    app.router.add_put("/_emulator/faults", front.put_faults)
    app.router.add_post("/_emulator/reset", front.reset)
    app.router.add_get("/_emulator/regions", front.get_regions)
    app.router.add_put("/_emulator/regions", front.put_regions)
    app.router.add_get("/_emulator/health", front.health)
    scaler.add_routes(app, worlds.home.scaler)
    add_identity_routes(app, world.identities, world.account_id)
    add_pod_identity_routes(app, world)
    return app
