"""SageMaker inference components (AWS JSON 1.1): the service rules on top of model validation.

Create, Describe, Update, UpdateRuntimeConfig and Delete here; List in component_listing.py.
Messages marked (obs) in docs/emulator.md are the ones seen from real SageMaker; the others
follow the same style and are inferred. Every handler is synchronous and O(1) in the number
of components (List excepted); waiting happens in lifecycle tasks. The front keeps, before a
write, the version lagging reads serve (the read-lag fault: `snapshot`), so Describe, List
and ListTags can answer from before it.
"""

from __future__ import annotations

import copy
import math
from collections import Counter

from . import component_listing, lifecycle
from .capacity import Demand
from .describe import deployed_image, describe_component, summarize_component
from .errors import ApiError, validation
from .hosting import Hosting
from .lifecycle import Deployment, batch_copies
from .protocols import Handler
from .records import (
    DELETING,
    FAILED,
    IN_SERVICE,
    UPDATING,
    ComponentRecord,
    Json,
    Snapshot,
    VariantRecord,
    request_tags,
)
from .state import EmulatorState, copies


class InferenceComponents:
    def __init__(self, world: EmulatorState, hosting: Hosting) -> None:
        self.world = world
        self.hosting = hosting
        self.handlers: dict[str, Handler] = {
            "CreateInferenceComponent": self.create_component,
            "DescribeInferenceComponent": self.describe_component,
            "UpdateInferenceComponent": self.update_component,
            "UpdateInferenceComponentRuntimeConfig": self.update_runtime_config,
            "DeleteInferenceComponent": self.delete_component,
            "ListInferenceComponents": self.list_components,
        }

    def list_components(self, req: Json) -> Json:
        return component_listing.list_components(self.world, req)

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

    def _settled(self, rec: ComponentRecord, verb: str) -> None:
        if rec.status != IN_SERVICE:
            raise validation(
                f"Cannot {verb} inference component {rec.arn} while it is in state {rec.state}"
            )
        endpoint = self.world.endpoints.get(rec.endpoint_name)
        if endpoint is not None and endpoint.status != IN_SERVICE:
            # inf: the same refusal as a Create on an endpoint that is not InService
            raise validation(
                f"Cannot {verb} inference component {rec.arn} because endpoint "
                f"{endpoint.arn} is in status {endpoint.status}."
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
            self.hosting.model(spec["ModelName"])
        if base is None and "ModelName" not in spec and "Image" not in spec.get("Container", {}):
            raise validation(
                "Specify ModelName or Container.Image for an inference component that is "
                "not an adapter."
            )

    # ---- inference components: operations ----------------------------------------------------
    def create_component(self, req: Json) -> Json:
        w = self.world
        name = req["InferenceComponentName"]
        arn = w.arn("inference-component", name)
        if name in w.components:
            raise validation(f'Cannot create already existing inference component "{arn}".')
        endpoint = self.hosting.endpoint(req["EndpointName"])
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
            tags=request_tags(req),
            name=name,
            endpoint_name=endpoint.name,
            endpoint_arn=endpoint.arn,
            variant_name=variant_name,
            specification=single,
            specifications=several,
            resolved_image=deployed_image(single, now),
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
        new_image = deployed_image(single, w.clock.now())
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
