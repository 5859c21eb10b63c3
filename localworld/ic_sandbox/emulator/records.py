"""The records the emulator keeps: models, endpoint configs, endpoints, components, snapshots."""

from __future__ import annotations

import asyncio
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


@dataclass
class Tagged:
    arn: str
    tags: dict[str, str] = field(default_factory=dict)


def request_tags(request: Json) -> dict[str, str]:
    """A request's `Tags` list (`[{Key, Value}]`) as the dict a record keeps."""
    return {t["Key"]: t["Value"] for t in request.get("Tags") or []}


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
