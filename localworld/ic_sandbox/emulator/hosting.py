"""SageMaker hosting: models, endpoint configs and endpoints (AWS JSON 1.1).

What inference components need from hosting: an endpoint whose variants host components
(no `ModelName`), the instances each variant has, and models that specifications name.
Messages marked (obs) in docs/emulator.md are the ones seen from real SageMaker; the others
follow the same style and are inferred. Every handler is synchronous; waiting happens in
lifecycle tasks.
"""

from __future__ import annotations

import copy
from collections.abc import Coroutine
from typing import Any

from . import lifecycle
from .capacity import INSTANCE_TYPES, fits
from .errors import validation
from .protocols import Handler
from .records import (
    CREATING,
    DELETING,
    IN_SERVICE,
    UPDATING,
    EndpointConfigRecord,
    EndpointRecord,
    Json,
    ModelRecord,
    VariantRecord,
    request_tags,
)
from .state import EmulatorState


class Hosting:
    def __init__(self, world: EmulatorState) -> None:
        self.world = world
        self.handlers: dict[str, Handler] = {
            "CreateModel": self.create_model,
            "DescribeModel": self.describe_model,
            "DeleteModel": self.delete_model,
            "CreateEndpointConfig": self.create_endpoint_config,
            "DescribeEndpointConfig": self.describe_endpoint_config,
            "DeleteEndpointConfig": self.delete_endpoint_config,
            "CreateEndpoint": self.create_endpoint,
            "DescribeEndpoint": self.describe_endpoint,
            "UpdateEndpoint": self.update_endpoint,
            "DeleteEndpoint": self.delete_endpoint,
            "ListEndpoints": self.list_endpoints,
        }

    # ---- models ---------------------------------------------------------------------------
    def create_model(self, req: Json) -> Json:
        w = self.world
        name = req["ModelName"]
        arn = w.arn("model", name.lower())
        if name in w.models:
            raise validation(f'Cannot create already existing model "{arn}".')
        body = {k: copy.deepcopy(v) for k, v in req.items() if k != "Tags"}
        rec = ModelRecord(
            arn=arn, tags=request_tags(req), name=name, created=w.clock.now(), request=body
        )
        w.models[name] = rec
        w.by_arn[arn] = rec
        return {"ModelArn": arn}

    def model(self, name: str) -> ModelRecord:
        rec = self.world.models.get(name)
        if rec is None:
            raise validation(f'Could not find model "{self.world.arn("model", name.lower())}".')
        return rec

    def describe_model(self, req: Json) -> Json:
        rec = self.model(req["ModelName"])
        return {**copy.deepcopy(rec.request), "ModelArn": rec.arn, "CreationTime": rec.created}

    def delete_model(self, req: Json) -> Json:
        rec = self.model(req["ModelName"])
        del self.world.models[rec.name]
        self.world.by_arn.pop(rec.arn, None)
        return {}

    # ---- endpoint configs -----------------------------------------------------------------
    def create_endpoint_config(self, req: Json) -> Json:
        w = self.world
        name = req["EndpointConfigName"]
        arn = w.arn("endpoint-config", name.lower())
        if name in w.endpoint_configs:
            raise validation(f'Cannot create already existing endpoint configuration "{arn}".')
        variants = req["ProductionVariants"]
        if not variants:
            raise validation("ProductionVariants must contain at least one variant.")
        names = [v["VariantName"] for v in variants]
        if len(set(names)) != len(names):
            raise validation("Variant names must be unique within an endpoint configuration.")
        with_model = [v for v in variants if "ModelName" in v]
        if with_model and len(with_model) != len(variants):
            raise validation(
                "Either all production variants specify a ModelName or none do "
                "(variants without a ModelName host inference components)."
            )
        for v in with_model:
            self.model(v["ModelName"])
        if not with_model:
            if "ExecutionRoleArn" not in req:
                raise validation(
                    "ExecutionRoleArn is required for an endpoint configuration whose "
                    "production variants host inference components."
                )
            for v in variants:
                if "InstanceType" not in v or "InitialInstanceCount" not in v:
                    raise validation(
                        f"Production variant {v['VariantName']} must specify InstanceType and "
                        "InitialInstanceCount to host inference components."
                    )
        for v in variants:
            itype = v.get("InstanceType")
            if itype is not None and itype not in INSTANCE_TYPES:
                raise validation(
                    f"Instance type {itype} is not in the emulator's capacity table; "
                    "see docs/emulator.md for the supported types."
                )
        body = {k: copy.deepcopy(v) for k, v in req.items() if k != "Tags"}
        rec = EndpointConfigRecord(
            arn=arn, tags=request_tags(req), name=name, created=w.clock.now(), request=body
        )
        w.endpoint_configs[name] = rec
        w.by_arn[arn] = rec
        return {"EndpointConfigArn": arn}

    def _endpoint_config(self, name: str) -> EndpointConfigRecord:
        rec = self.world.endpoint_configs.get(name)
        if rec is None:
            arn = self.world.arn("endpoint-config", name.lower())
            raise validation(f'Could not find endpoint configuration "{arn}".')
        return rec

    def describe_endpoint_config(self, req: Json) -> Json:
        rec = self._endpoint_config(req["EndpointConfigName"])
        return {
            # Defaulted when the create left it out (inf; docs/emulator.md): ACK late-initializes
            # its spec from this answer and never reports the config synced without it.
            "EnableNetworkIsolation": False,
            **copy.deepcopy(rec.request),
            "EndpointConfigArn": rec.arn,
            "CreationTime": rec.created,
        }

    def delete_endpoint_config(self, req: Json) -> Json:
        rec = self._endpoint_config(req["EndpointConfigName"])
        del self.world.endpoint_configs[rec.name]
        self.world.by_arn.pop(rec.arn, None)
        return {}

    # ---- endpoints --------------------------------------------------------------------------
    def create_endpoint(self, req: Json) -> Json:
        w = self.world
        name = req["EndpointName"]
        arn = w.arn("endpoint", name.lower())
        if name in w.endpoints:
            raise validation(f'Cannot create already existing endpoint "{arn}".')
        config = self._endpoint_config(req["EndpointConfigName"])
        variants: dict[str, VariantRecord] = {}
        for v in config.request["ProductionVariants"]:
            itype = v.get("InstanceType", "")
            variants[v["VariantName"]] = VariantRecord(
                name=v["VariantName"],
                instance_type=itype,
                instance_count=int(v.get("InitialInstanceCount", 0)),
                instance=INSTANCE_TYPES.get(itype),
            )
        now = w.clock.now()
        rec = EndpointRecord(
            arn=arn,
            tags=request_tags(req),
            name=name,
            config_name=config.name,
            created=now,
            modified=now,
            hosts_components=config.hosts_components,
            variants=variants,
        )
        w.endpoints[name] = rec
        w.by_arn[arn] = rec
        rec.task = w.spawn(lifecycle.create_endpoint(w, rec))
        return {"EndpointArn": arn}

    def endpoint(self, name: str) -> EndpointRecord:
        rec = self.world.endpoints.get(name)
        if rec is None:
            arn = self.world.arn("endpoint", name.lower())
            raise validation(f'Could not find endpoint "{arn}".')
        return rec

    def describe_endpoint(self, req: Json) -> Json:
        rec = self.endpoint(req["EndpointName"])
        ready = rec.status != CREATING
        out: Json = {
            "EndpointName": rec.name,
            "EndpointArn": rec.arn,
            "EndpointConfigName": rec.config_name,
            "EndpointStatus": rec.status,
            "CreationTime": rec.created,
            "LastModifiedTime": rec.modified,
            "ProductionVariants": [
                {
                    "VariantName": v.name,
                    "CurrentWeight": 1.0,
                    "DesiredWeight": 1.0,
                    "CurrentInstanceCount": v.instance_count if ready else 0,
                    "DesiredInstanceCount": v.instance_count,
                }
                for v in rec.variants.values()
            ],
        }
        if rec.failure_reason:
            out["FailureReason"] = rec.failure_reason
        return out

    def update_endpoint(self, req: Json) -> Json:
        """A new endpoint configuration (instance counts) on the same variants: Updating,
        then InService on the emulator's clock (lifecycle.update_endpoint)."""
        rec = self.endpoint(req["EndpointName"])
        if rec.status != IN_SERVICE:
            raise validation(f'Cannot update in-progress endpoint "{rec.arn}".')
        config = self._endpoint_config(req["EndpointConfigName"])
        if config.hosts_components != rec.hosts_components:
            raise validation(
                f"Endpoint configuration {config.arn} cannot replace the configuration of "
                f"endpoint {rec.arn}: one hosts inference components and the other does not."
            )
        counts: dict[str, int] = {}
        for v in config.request["ProductionVariants"]:
            variant = rec.variants.get(v["VariantName"])
            if variant is None or variant.instance_type != v.get("InstanceType", ""):
                raise validation(
                    f"Production variant {v['VariantName']} of {config.arn} does not match a "
                    f"variant of endpoint {rec.arn} (name and instance type); the emulator "
                    "updates instance counts only."
                )
            counts[variant.name] = int(v.get("InitialInstanceCount", variant.instance_count))
        if req.get("RetainAllVariantProperties"):
            counts = {name: rec.variants[name].instance_count for name in counts}
        for name, count in counts.items():
            variant = rec.variants[name]
            if variant.instance is None or not fits(variant.instance, count, variant.reserved):
                raise validation(
                    f"Cannot update endpoint {rec.arn}: {count} x {variant.instance_type} on "
                    f"variant {name} cannot hold the inference component copies placed on it."
                )
        self._enter(rec, UPDATING, lifecycle.update_endpoint(self.world, rec, config.name, counts))
        return {"EndpointArn": rec.arn}

    def _enter(
        self, rec: EndpointRecord, status: str, transition: Coroutine[Any, Any, None]
    ) -> None:
        """The endpoint starts a transition now; its lifecycle task ends it."""
        if rec.task is not None:
            rec.task.cancel()
        rec.status = status
        rec.modified = self.world.clock.now()
        rec.task = self.world.spawn(transition)

    def delete_endpoint(self, req: Json) -> Json:
        rec = self.endpoint(req["EndpointName"])
        if rec.status == DELETING:
            raise validation(f"Cannot delete endpoint {rec.arn} while it is being deleted.")
        if rec.components:
            raise validation(
                f"Cannot delete endpoint {rec.arn} because it still hosts "
                f"{len(rec.components)} inference component(s). Delete them first."
            )
        self._enter(rec, DELETING, lifecycle.delete_endpoint(self.world, rec))
        return {}

    def list_endpoints(self, req: Json) -> Json:
        items = sorted(self.world.endpoints.values(), key=lambda e: (e.created, e.name))
        if req.get("SortOrder", "Descending") == "Descending":
            items.reverse()
        return {
            "Endpoints": [
                {
                    "EndpointName": e.name,
                    "EndpointArn": e.arn,
                    "CreationTime": e.created,
                    "LastModifiedTime": e.modified,
                    "EndpointStatus": e.status,
                }
                for e in items
            ]
        }
