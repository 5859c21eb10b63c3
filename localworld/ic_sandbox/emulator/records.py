"""The emulator's in-memory world: models, endpoint configs, endpoints and components."""

from __future__ import annotations

import asyncio
import copy
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .capacity import Demand, InstanceSpec

Json = dict[str, Any]

# public status -> the internal state named in "Cannot update … while it is in state X"
CREATING = "Creating"
IN_SERVICE = "InService"
UPDATING = "Updating"
FAILED = "Failed"
DELETING = "Deleting"


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def resolve_image(image: str) -> str:
    """A deterministic digest form `registry/repo@sha256:<hex>` for an image reference."""
    if "@sha256:" in image:
        return image
    slash = image.rfind("/")
    colon = image.rfind(":")
    repo = image[:colon] if colon > slash else image
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"{repo}@sha256:{digest}"


@dataclass
class Tagged:
    arn: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class ModelRecord(Tagged):
    name: str = ""
    created: float = 0.0
    request: Json = field(default_factory=dict)


@dataclass
class EndpointConfigRecord(Tagged):
    name: str = ""
    created: float = 0.0
    request: Json = field(default_factory=dict)

    @property
    def hosts_components(self) -> bool:
        variants = self.request.get("ProductionVariants", [])
        return bool(variants) and all("ModelName" not in v for v in variants)


@dataclass
class VariantRecord:
    name: str
    instance_type: str
    instance_count: int
    instance: InstanceSpec | None
    reserved: Counter[Demand] = field(default_factory=Counter)


@dataclass
class EndpointRecord(Tagged):
    name: str = ""
    config_name: str = ""
    status: str = CREATING
    failure_reason: str | None = None
    created: float = 0.0
    modified: float = 0.0
    hosts_components: bool = False
    variants: dict[str, VariantRecord] = field(default_factory=dict)
    components: set[str] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


@dataclass
class ComponentRecord(Tagged):
    name: str = ""
    endpoint_name: str = ""
    endpoint_arn: str = ""
    variant_name: str = ""
    status: str = CREATING
    state: str = "CREATE_IN_PROGRESS"
    specification: Json | None = None
    specifications: list[Json] | None = None
    resolved_image: Json | None = None
    desired: int = 0
    current: int = 0
    created: float = 0.0
    modified: float = 0.0
    failure_reason: str | None = None
    last_deployment_config: Json | None = None
    demand: Demand | None = None
    base: str | None = None
    adapters: set[str] = field(default_factory=set)
    reserved: Counter[Demand] = field(default_factory=Counter)
    cache_default: bool = False
    task: asyncio.Task[None] | None = None
    history: list[Json] = field(default_factory=list)

    def record(self, at: float) -> None:
        """Remember each visible change, for tests that assert on batch-by-batch progress."""
        self.modified = at
        self.history.append(
            {
                "at": at,
                "status": self.status,
                "state": self.state,
                "desired": self.desired,
                "current": self.current,
            }
        )

    def image(self) -> str | None:
        spec = self.effective_spec()
        image = spec.get("Container", {}).get("Image") if spec else None
        return image if isinstance(image, str) else None

    def effective_spec(self) -> Json | None:
        """The specification that applies to this component's variant."""
        if self.specification is not None:
            return self.specification
        if self.specifications:
            return self.specifications[0]
        return None


def _spec_summary(spec: Json, deployed_image: Json | None, cache_default: bool) -> Json:
    out: Json = {}
    for key in (
        "InstanceType",
        "ModelName",
        "StartupParameters",
        "ComputeResourceRequirements",
        "BaseInferenceComponentName",
        "SchedulingConfig",
    ):
        if key in spec:
            out[key] = copy.deepcopy(spec[key])
    container = spec.get("Container")
    if container is not None:
        summary: Json = {}
        if deployed_image is not None:
            summary["DeployedImage"] = dict(deployed_image)
        for key in ("ArtifactUrl", "Environment", "ContainerMetricsConfig"):
            if key in container:
                summary[key] = copy.deepcopy(container[key])
        out["Container"] = summary
    if "DataCacheConfig" in spec:
        out["DataCacheConfig"] = {"EnableCaching": spec["DataCacheConfig"]["EnableCaching"]}
    elif cache_default:
        out["DataCacheConfig"] = {"EnableCaching": True}
    return out


def describe_component(
    ic: ComponentRecord, base: ComponentRecord | None, instance_type: str
) -> Json:
    out: Json = {
        "InferenceComponentName": ic.name,
        "InferenceComponentArn": ic.arn,
        "EndpointName": ic.endpoint_name,
        "EndpointArn": ic.endpoint_arn,
        "VariantName": ic.variant_name,
        "CreationTime": ic.created,
        "LastModifiedTime": ic.modified,
        "InferenceComponentStatus": ic.status,
    }
    if ic.failure_reason:
        out["FailureReason"] = ic.failure_reason
    if ic.specification is not None:
        summary = _spec_summary(ic.specification, ic.resolved_image, ic.cache_default)
        if base is not None and base.effective_spec():
            base_spec = base.effective_spec() or {}
            if "ComputeResourceRequirements" in base_spec:
                summary["ComputeResourceRequirements"] = copy.deepcopy(
                    base_spec["ComputeResourceRequirements"]
                )
        out["Specification"] = summary
    if ic.specifications is not None:
        out["Specifications"] = [
            _spec_summary(s, None, ic.cache_default) for s in ic.specifications
        ]
    runtime: Json = {"DesiredCopyCount": ic.desired, "CurrentCopyCount": ic.current}
    if ic.current > 0:
        runtime["PlacementStatus"] = [
            {"InstanceType": instance_type, "CurrentCopyCount": ic.current}
        ]
    out["RuntimeConfig"] = runtime
    if ic.last_deployment_config is not None:
        out["LastDeploymentConfig"] = copy.deepcopy(ic.last_deployment_config)
    return out


def summarize_component(ic: ComponentRecord) -> Json:
    return {
        "CreationTime": ic.created,
        "InferenceComponentArn": ic.arn,
        "InferenceComponentName": ic.name,
        "EndpointArn": ic.endpoint_arn,
        "EndpointName": ic.endpoint_name,
        "VariantName": ic.variant_name,
        "InferenceComponentStatus": ic.status,
        "LastModifiedTime": ic.modified,
    }


@dataclass(frozen=True)
class Snapshot:
    """A component as reads showed it at one moment: what a lagging read serves.

    The attribute names match :class:`ComponentRecord`'s, so ListInferenceComponents
    filters and sorts snapshots and live records alike.
    """

    name: str
    endpoint_name: str
    variant_name: str
    status: str
    created: float
    modified: float
    document: Json  # DescribeInferenceComponent
    summary: Json  # ListInferenceComponents
    tags: dict[str, str]


@dataclass(frozen=True)
class Version:
    """What reads serve of one component until `until` (wall clock): None = not there yet."""

    until: float
    before: Snapshot | None
