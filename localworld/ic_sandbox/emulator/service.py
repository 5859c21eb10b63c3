"""The SageMaker operations: service rules on top of model validation.

Messages marked (obs) in docs/emulator.md are the ones seen from real SageMaker; the
others follow the same style and are inferred. Every handler is synchronous and O(1) in
the number of components (List excepted); waiting happens in lifecycle tasks.
"""

from __future__ import annotations

import base64
import copy
import json
import math
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from . import lifecycle
from .capacity import INSTANCE_TYPES, Demand
from .errors import ApiError, validation
from .lifecycle import Deployment, batch_copies
from .records import (
    CREATING,
    DELETING,
    FAILED,
    IN_SERVICE,
    UPDATING,
    ComponentRecord,
    EndpointConfigRecord,
    EndpointRecord,
    Json,
    ModelRecord,
    Snapshot,
    VariantRecord,
    describe_component,
    resolve_image,
    summarize_component,
)
from .world import World, copies

Handler = Callable[[Json], Json]


class Listed(Protocol):
    """What ListInferenceComponents filters and sorts on: a live record or a snapshot."""

    @property
    def name(self) -> str: ...
    @property
    def endpoint_name(self) -> str: ...
    @property
    def variant_name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def created(self) -> float: ...
    @property
    def modified(self) -> float: ...


def _tags(request: Json) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in request.get("Tags") or []}


class SageMaker:
    def __init__(self, world: World) -> None:
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
            "DeleteEndpoint": self.delete_endpoint,
            "ListEndpoints": self.list_endpoints,
            "CreateInferenceComponent": self.create_component,
            "DescribeInferenceComponent": self.describe_component,
            "UpdateInferenceComponent": self.update_component,
            "UpdateInferenceComponentRuntimeConfig": self.update_runtime_config,
            "DeleteInferenceComponent": self.delete_component,
            "ListInferenceComponents": self.list_components,
            "AddTags": self.add_tags,
            "ListTags": self.list_tags,
            "DeleteTags": self.delete_tags,
        }

    # ---- models ---------------------------------------------------------------------------
    def create_model(self, req: Json) -> Json:
        w = self.world
        name = req["ModelName"]
        arn = w.arn("model", name.lower())
        if name in w.models:
            raise validation(f'Cannot create already existing model "{arn}".')
        body = {k: copy.deepcopy(v) for k, v in req.items() if k != "Tags"}
        rec = ModelRecord(arn=arn, tags=_tags(req), name=name, created=w.clock.now(), request=body)
        w.models[name] = rec
        w.by_arn[arn] = rec
        return {"ModelArn": arn}

    def _model(self, name: str) -> ModelRecord:
        rec = self.world.models.get(name)
        if rec is None:
            raise validation(f'Could not find model "{self.world.arn("model", name.lower())}".')
        return rec

    def describe_model(self, req: Json) -> Json:
        rec = self._model(req["ModelName"])
        return {**copy.deepcopy(rec.request), "ModelArn": rec.arn, "CreationTime": rec.created}

    def delete_model(self, req: Json) -> Json:
        rec = self._model(req["ModelName"])
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
            self._model(v["ModelName"])
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
            arn=arn, tags=_tags(req), name=name, created=w.clock.now(), request=body
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
            tags=_tags(req),
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

    def _endpoint(self, name: str) -> EndpointRecord:
        rec = self.world.endpoints.get(name)
        if rec is None:
            arn = self.world.arn("endpoint", name.lower())
            raise validation(f'Could not find endpoint "{arn}".')
        return rec

    def describe_endpoint(self, req: Json) -> Json:
        rec = self._endpoint(req["EndpointName"])
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

    def delete_endpoint(self, req: Json) -> Json:
        rec = self._endpoint(req["EndpointName"])
        if rec.status == DELETING:
            raise validation(f"Cannot delete endpoint {rec.arn} while it is being deleted.")
        if rec.components:
            raise validation(
                f"Cannot delete endpoint {rec.arn} because it still hosts "
                f"{len(rec.components)} inference component(s). Delete them first."
            )
        if rec.task is not None:
            rec.task.cancel()
        rec.status = DELETING
        rec.modified = self.world.clock.now()
        rec.task = self.world.spawn(lifecycle.delete_endpoint(self.world, rec))
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

    # ---- eventual consistency ----------------------------------------------------------------
    def component_named(self, req: Json) -> str | None:
        """The inference component a request is about (by name or by ARN), if any."""
        name = req.get("InferenceComponentName")
        if isinstance(name, str):
            return name
        arn = req.get("ResourceArn")
        prefix = self.world.arn("inference-component", "")
        if isinstance(arn, str) and arn.startswith(prefix):
            return arn[len(prefix) :]
        return None

    def snapshot(self, name: str) -> Snapshot | None:
        """The component as every read would show it right now (None: it does not exist)."""
        rec = self.world.components.get(name)
        if rec is None:
            return None
        return Snapshot(
            name=rec.name,
            endpoint_name=rec.endpoint_name,
            variant_name=rec.variant_name,
            status=rec.status,
            created=rec.created,
            modified=rec.modified,
            document=self._describe(rec),
            summary=summarize_component(rec),
            tags=dict(rec.tags),
        )

    def _not_found(self, name: str) -> ApiError:
        arn = self.world.arn("inference-component", name)
        return validation(f'Could not find inference component "{arn}".')

    # ---- inference components: helpers -----------------------------------------------------
    def _component(self, name: str) -> ComponentRecord:
        rec = self.world.components.get(name)
        if rec is None:
            raise self._not_found(name)
        return rec

    @staticmethod
    def _settled(rec: ComponentRecord, verb: str) -> None:
        if rec.status != IN_SERVICE:
            raise validation(
                f"Cannot {verb} inference component {rec.arn} while it is in state {rec.state}"
            )

    def _pick_spec(
        self, req: Json, variant: VariantRecord | None
    ) -> tuple[Json | None, list[Json] | None, Json | None]:
        """(Specification, Specifications, the one that applies to the variant)."""
        single = req.get("Specification")
        several = req.get("Specifications")
        if single is not None and several is not None:
            raise validation("Specify either Specification or Specifications, not both.")
        if single is not None:
            return copy.deepcopy(single), None, copy.deepcopy(single)
        if several is None:
            return None, None, None
        if len(several) > 1 and any("InstanceType" not in s for s in several):
            raise validation(
                "Each entry in Specifications must set InstanceType when more than one "
                "specification is given."
            )
        if any("BaseInferenceComponentName" in s for s in several):
            raise validation(
                "BaseInferenceComponentName is only supported in Specification, "
                "not in Specifications."
            )
        applies = several[0]
        if variant is not None:
            matching = [s for s in several if s.get("InstanceType") == variant.instance_type]
            if matching:
                applies = matching[0]
            elif len(several) > 1 or "InstanceType" in several[0]:
                raise validation(
                    f"None of the Specifications targets instance type {variant.instance_type} "
                    f"of variant {variant.name}."
                )
        return None, copy.deepcopy(several), copy.deepcopy(applies)

    def _demand(self, spec: Json, base: ComponentRecord | None) -> Demand | None:
        if base is not None:
            if "ComputeResourceRequirements" in spec:
                raise validation(
                    "ComputeResourceRequirements must not be set for an adapter inference "
                    "component; it uses the compute resources of its base component."
                )
            return None
        req = spec.get("ComputeResourceRequirements")
        if req is None:
            raise validation(
                "ComputeResourceRequirements is required for an inference component that "
                "is not an adapter."
            )
        if "AcceleratorPartitionType" in req and req.get("NumberOfAcceleratorDevicesRequired") != 1:
            raise validation(
                "NumberOfAcceleratorDevicesRequired must be 1 when AcceleratorPartitionType is set."
            )
        return Demand(
            accelerators=float(req.get("NumberOfAcceleratorDevicesRequired", 0)),
            cpus=float(req.get("NumberOfCpuCoresRequired", 0)),
            memory_mib=int(req["MinMemoryRequiredInMb"]),
        )

    def _check_refs(self, spec: Json, base: ComponentRecord | None) -> None:
        if "ModelName" in spec:
            self._model(spec["ModelName"])
        if base is None and "ModelName" not in spec and "Image" not in spec.get("Container", {}):
            raise validation(
                "Specify ModelName or Container.Image for an inference component that is "
                "not an adapter."
            )

    def _image(self, spec: Json | None) -> Json | None:
        image = (spec or {}).get("Container", {}).get("Image")
        if image is None:
            return None
        return {
            "SpecifiedImage": image,
            "ResolvedImage": resolve_image(image),
            "ResolutionTime": self.world.clock.now(),
        }

    # ---- inference components: operations ----------------------------------------------------
    def create_component(self, req: Json) -> Json:
        w = self.world
        name = req["InferenceComponentName"]
        arn = w.arn("inference-component", name)
        if name in w.components:
            raise validation(f'Cannot create already existing inference component "{arn}".')
        endpoint = self._endpoint(req["EndpointName"])
        if not endpoint.hosts_components:
            raise validation(
                f"Inference Components are not supported in this Endpoint {endpoint.arn}. "
                "Its endpoint configuration's production variants specify a ModelName."
            )
        if endpoint.status != IN_SERVICE:
            raise validation(
                f"Cannot create inference component {arn} because endpoint {endpoint.arn} is "
                f"in status {endpoint.status}."
            )
        if req.get("Specification") is None and req.get("Specifications") is None:
            raise validation("Either Specification or Specifications must be specified.")
        base_name = (req.get("Specification") or {}).get("BaseInferenceComponentName")
        base: ComponentRecord | None = None
        if base_name is not None:
            if "VariantName" in req:
                raise validation(
                    "VariantName must not be specified for an adapter inference component; "
                    "it inherits the variant of its base inference component."
                )
            base = self._component(base_name)
            if base.endpoint_name != endpoint.name:
                raise validation(
                    f"Base inference component {base.arn} is not hosted on endpoint {endpoint.arn}."
                )
            variant_name = base.variant_name
        else:
            if "VariantName" not in req:
                raise validation(
                    "VariantName is required for an inference component that is not an adapter."
                )
            variant_name = req["VariantName"]
        variant = endpoint.variants.get(variant_name)
        if variant is None:
            raise validation(f"Variant {variant_name} is not part of endpoint {endpoint.arn}.")
        single, several, spec = self._pick_spec(req, variant)
        assert spec is not None
        demand = self._demand(spec, base)
        self._check_refs(spec, base)
        runtime = req.get("RuntimeConfig")
        if runtime is None and base is None:
            raise validation("RuntimeConfig is required to create an inference component.")
        count = int(runtime["CopyCount"]) if runtime is not None else 1
        if count <= 0:
            raise validation("Inference components copy count an integer larger than 0")
        now = w.clock.now()
        rec = ComponentRecord(
            arn=arn,
            tags=_tags(req),
            name=name,
            endpoint_name=endpoint.name,
            endpoint_arn=endpoint.arn,
            variant_name=variant_name,
            specification=single,
            specifications=several,
            resolved_image=self._image(single),
            desired=count,
            created=now,
            modified=now,
            demand=demand,
            base=base_name,
            cache_default=variant.instance is not None and variant.instance.accelerators > 0,
        )
        w.check_capacity(variant, None, copies(demand, count))
        w.components[name] = rec
        w.by_arn[arn] = rec
        endpoint.components.add(name)
        if base is not None:
            base.adapters.add(name)
        w.reserve(rec, copies(demand, count))
        rec.record(now)
        rec.task = w.spawn(lifecycle.create_component(w, rec))
        return {"InferenceComponentArn": arn}

    def describe_component(self, req: Json) -> Json:
        name = req["InferenceComponentName"]
        version = self.world.stale("DescribeInferenceComponent", name)
        if version is not None:
            if version.before is None:
                raise self._not_found(name)
            return copy.deepcopy(version.before.document)
        return self._describe(self._component(name))

    def _describe(self, rec: ComponentRecord) -> Json:
        base = self.world.components.get(rec.base) if rec.base else None
        endpoint = self.world.endpoints.get(rec.endpoint_name)
        variant = endpoint.variants.get(rec.variant_name) if endpoint else None
        return describe_component(rec, base, variant.instance_type if variant else "")

    def update_component(self, req: Json) -> Json:
        w = self.world
        rec = self._component(req["InferenceComponentName"])
        self._settled(rec, "update")
        has_spec = req.get("Specification") is not None or req.get("Specifications") is not None
        runtime = req.get("RuntimeConfig")
        if not has_spec and runtime is None:
            raise validation(
                "At least one of Specification, Specifications or RuntimeConfig must be "
                "specified to update an inference component."
            )
        variant = w.variant_of(rec)
        new_count = int(runtime["CopyCount"]) if runtime is not None else rec.desired
        config = req.get("DeploymentConfig")
        if not has_spec:
            assert runtime is not None
            w.check_capacity(variant, rec, copies(rec.demand, max(new_count, rec.current)))
            rec.desired = new_count
            if config is not None:
                rec.last_deployment_config = copy.deepcopy(config)
            self._begin(rec, "UPDATE_IN_PROGRESS")
            w.reserve(rec, copies(rec.demand, max(new_count, rec.current)))
            rec.task = w.spawn(lifecycle.change_copies(w, rec, new_count))
            return {"InferenceComponentArn": rec.arn}
        single, several, spec = self._pick_spec(req, variant)
        assert spec is not None
        base = w.components.get(rec.base) if rec.base else None
        if spec.get("BaseInferenceComponentName") != rec.base:
            raise validation(
                "BaseInferenceComponentName cannot be changed on an existing inference component."
            )
        demand = self._demand(spec, base)
        self._check_refs(spec, base)
        policy = (config or {}).get("RollingUpdatePolicy")
        if policy is not None:
            self._check_batch(policy["MaximumBatchSize"], new_count)
        batch = batch_copies(policy["MaximumBatchSize"], new_count) if policy else max(new_count, 1)
        rollback = (
            batch_copies(policy.get("RollbackMaximumBatchSize"), rec.current)
            if policy
            else max(rec.current, 1)
        )
        alarms = [
            a["AlarmName"]
            for a in ((config or {}).get("AutoRollbackConfiguration") or {}).get("Alarms", [])
            if "AlarmName" in a
        ]
        timeout = policy.get("MaximumExecutionTimeoutInSeconds") if policy else None
        new_image = self._image(single)
        plan = Deployment(
            old_specification=rec.specification,
            old_specifications=rec.specifications,
            old_image=rec.resolved_image,
            old_demand=rec.demand,
            old_count=rec.current,
            new_specification=single,
            new_specifications=several,
            new_image=new_image,
            new_demand=demand,
            new_count=new_count,
            batch=batch,
            rollback_batch=rollback,
            wait_interval=float(policy["WaitIntervalInSeconds"]) if policy else 0.0,
            alarms=alarms if policy else [],
            timeout=float(timeout) if timeout is not None else None,
            deployment_config=copy.deepcopy(config),
            image=spec.get("Container", {}).get("Image"),
        )
        peak: Counter[Demand] = Counter()
        for mix in plan.peak():
            w.check_capacity(variant, rec, mix)
            for demand_key, n in mix.items():
                peak[demand_key] = max(peak[demand_key], n)
        w.reserve(rec, peak)
        rec.desired = new_count
        self._begin(rec, "UPDATE_IN_PROGRESS")
        rec.task = w.spawn(lifecycle.deploy(w, rec, plan))
        return {"InferenceComponentArn": rec.arn}

    @staticmethod
    def _check_batch(size: Json, total: int) -> None:
        """MaximumBatchSize must be 5-50 % of the copy count (doc); a single copy may roll."""
        value = int(size["Value"])
        if size["Type"] == "CAPACITY_PERCENT":
            ok = 5 <= value <= 50
        else:
            lowest = max(1, math.ceil(total * 0.05))
            highest = max(1, math.floor(total * 0.5))
            ok = lowest <= value <= highest
        if not ok:
            raise validation(
                f"MaximumBatchSize {size['Type']} {value} must be between 5% and 50% of the "
                f"inference component's copy count ({total})."
            )

    def _begin(self, rec: ComponentRecord, state: str) -> None:
        rec.status = UPDATING
        rec.state = state
        rec.record(self.world.clock.now())

    def update_runtime_config(self, req: Json) -> Json:
        w = self.world
        rec = self._component(req["InferenceComponentName"])
        self._settled(rec, "update")
        target = int(req["DesiredRuntimeConfig"]["CopyCount"])
        variant = w.variant_of(rec)
        w.check_capacity(variant, rec, copies(rec.demand, max(target, rec.current)))
        rec.desired = target
        self._begin(rec, "UPDATE_RC_IN_PROGRESS")
        w.reserve(rec, copies(rec.demand, max(target, rec.current)))
        rec.task = w.spawn(lifecycle.change_copies(w, rec, target))
        return {"InferenceComponentArn": rec.arn}

    def delete_component(self, req: Json) -> Json:
        w = self.world
        rec = self._component(req["InferenceComponentName"])
        if rec.status not in (IN_SERVICE, FAILED):
            raise validation(
                f"Cannot delete inference component {rec.arn} while it is in state {rec.state}"
            )
        if rec.adapters:
            raise validation(
                f"Inference component {rec.arn} is a base inference component for one or more "
                "associated adapter inference components. Delete the adapters first."
            )
        rec.status = DELETING
        rec.state = "DELETE_IN_PROGRESS"
        rec.record(w.clock.now())
        rec.task = w.spawn(lifecycle.delete_component(w, rec))
        return {}

    def list_components(self, req: Json) -> Json:
        w = self.world
        endpoint_filter = req.get("EndpointNameEquals")
        if endpoint_filter is not None:
            endpoint = w.endpoints.get(endpoint_filter)
            names = endpoint.components if endpoint else set()
            live: list[ComponentRecord] = [w.components[n] for n in names if n in w.components]
        else:
            live = list(w.components.values())
        pool = self._as_listed(live, endpoint_filter)
        checks: list[Callable[[Listed], bool]] = []
        if (v := req.get("VariantNameEquals")) is not None:
            checks.append(lambda r: r.variant_name == v)
        if (s := req.get("StatusEquals")) is not None:
            checks.append(lambda r: r.status == s)
        if (nc := req.get("NameContains")) is not None:
            needle = nc.lower()
            checks.append(lambda r: needle in r.name.lower())
        for key, attr, before in (
            ("CreationTimeBefore", "created", True),
            ("CreationTimeAfter", "created", False),
            ("LastModifiedTimeBefore", "modified", True),
            ("LastModifiedTimeAfter", "modified", False),
        ):
            if (t := req.get(key)) is not None:
                bound = _epoch(t)
                checks.append(_time_check(attr, bound, before))
        items = [r for r in pool if all(c(r) for c in checks)]
        sort_by = req.get("SortBy", "CreationTime")
        keyf: Callable[[Listed], tuple[Any, str]]
        if sort_by == "Name":
            keyf = lambda r: (r.name, r.name)  # noqa: E731
        elif sort_by == "Status":
            keyf = lambda r: (r.status, r.name)  # noqa: E731
        else:
            keyf = lambda r: (r.created, r.name)  # noqa: E731
        descending = req.get("SortOrder", "Descending") == "Descending"
        items.sort(key=keyf, reverse=descending)
        if (token := req.get("NextToken")) is not None:
            after = _decode_token(token, sort_by)
            items = [r for r in items if (keyf(r) < after if descending else keyf(r) > after)]
        limit = int(req.get("MaxResults", 10))
        page = items[:limit]
        out: Json = {"InferenceComponents": [_summary(r) for r in page]}
        if len(items) > limit:
            out["NextToken"] = _encode_token(sort_by, keyf(page[-1]))
        return out

    def _as_listed(self, live: list[ComponentRecord], endpoint: str | None) -> list[Listed]:
        """The live records, each replaced by the version a lagging List serves of it."""
        w = self.world
        if not w.versions or not w.faults.read_lag_seconds:
            return list(live)
        out: list[Listed] = []
        seen: set[str] = set()
        for rec in live:
            seen.add(rec.name)
            version = w.stale("ListInferenceComponents", rec.name)
            if version is None:
                out.append(rec)
            elif version.before is not None:
                out.append(version.before)
        for name in [n for n in w.versions if n not in seen]:
            version = w.stale("ListInferenceComponents", name)
            before = version.before if version is not None else None
            if before is not None and endpoint in (None, before.endpoint_name):
                out.append(before)
        return out

    # ---- tags ---------------------------------------------------------------------------------
    def _tagged(self, arn: str) -> Any:
        rec = self.world.by_arn.get(arn)
        if rec is None:
            raise validation(f"Could not find resource with ARN {arn}.")
        return rec

    def add_tags(self, req: Json) -> Json:
        rec = self._tagged(req["ResourceArn"])
        merged = dict(rec.tags)
        merged.update(_tags(req))
        if len(merged) > 50:
            raise ApiError(
                "ResourceLimitExceeded", f"Resource {rec.arn} cannot have more than 50 tags."
            )
        rec.tags = merged
        return {"Tags": list(req["Tags"])}

    def list_tags(self, req: Json) -> Json:
        arn = req["ResourceArn"]
        name = self.component_named(req)
        version = self.world.stale("ListTags", name) if name is not None else None
        if version is not None:
            if version.before is None:
                raise validation(f"Could not find resource with ARN {arn}.")
            current = version.before.tags
        else:
            current = self._tagged(arn).tags
        tags = [{"Key": k, "Value": v} for k, v in current.items()]
        start = 0
        if (token := req.get("NextToken")) is not None:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError as exc:
                raise validation("Invalid pagination token.") from exc
        limit = int(req.get("MaxResults", 50))
        out: Json = {"Tags": tags[start : start + limit]}
        if start + limit < len(tags):
            out["NextToken"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
        return out

    def delete_tags(self, req: Json) -> Json:
        rec = self._tagged(req["ResourceArn"])
        for key in req["TagKeys"]:
            rec.tags.pop(key, None)
        return {}


def _epoch(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _summary(item: Listed) -> Json:
    if isinstance(item, Snapshot):
        return copy.deepcopy(item.summary)
    assert isinstance(item, ComponentRecord)
    return summarize_component(item)


def _time_check(attr: str, bound: float, before: bool) -> Callable[[Listed], bool]:
    if before:
        return lambda r: float(getattr(r, attr)) < bound
    return lambda r: float(getattr(r, attr)) > bound


def _encode_token(sort_by: str, key: tuple[Any, str]) -> str:
    raw = json.dumps({"s": sort_by, "k": list(key)})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_token(token: str, sort_by: str) -> tuple[Any, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
        if data["s"] != sort_by:
            raise ValueError("sort changed")
        first, second = data["k"]
        return (first, second)
    except (ValueError, KeyError, TypeError) as exc:
        raise validation("Invalid pagination token.") from exc
