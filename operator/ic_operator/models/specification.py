"""What a component runs: model, container, resources, placement (one specification).

Every member of botocore's `InferenceComponentSpecification` is mirrored here with
its constraints (tests/unit/test_botocore_model.py walks the service model to keep
it so); rules the model does not carry come from rules.py.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ic_operator.models._base import WireModel
from ic_operator.models._instance_types import InstanceType
from ic_operator.models.patterns import (
    ACCELERATOR_PARTITION_PATTERN,
    IMAGE_PATTERN,
    MAX_ENVIRONMENT_ENTRIES,
    METRICS_PATH_PATTERN,
    URL_PATTERN,
    ComponentName,
    EnvKey,
    EnvValue,
    MetricPublishFrequency,
)
from ic_operator.models.rules import (
    ADAPTER_HAS_NO_RESOURCES,
    MAX_MEMORY_AT_LEAST_MIN,
    NO_PARENT_SEGMENTS,
    PARTITION_NEEDS_ONE_DEVICE,
)


class MetricsEndpoint(WireModel):
    """A Prometheus endpoint in the container whose metrics SageMaker publishes to CloudWatch."""

    metrics_endpoint_path: Annotated[
        str,
        StringConstraints(max_length=256, pattern=METRICS_PATH_PATTERN),
        NO_PARENT_SEGMENTS,
        Field(
            description=(
                "Path where the container serves Prometheus metrics, for example /metrics. "
                "Starts with '/'; letters, digits, '/', '_', '.', '-'; must not contain '..'."
            ),
        ),
    ]
    metric_publish_frequency_in_seconds: MetricPublishFrequency | None = Field(
        default=None,
        description=(
            "How often, in seconds, the scraped metrics are published to CloudWatch: "
            "10, 30, 60, 120, 180, 240 or 300. SageMaker's default is 60."
        ),
    )


class ContainerMetricsConfig(WireModel):
    """Where SageMaker scrapes container metrics from."""

    metrics_endpoints: list[MetricsEndpoint] | None = Field(
        default=None,
        max_length=1,
        description="The metrics endpoints to scrape; SageMaker accepts at most one.",
    )


class Container(WireModel):
    """The container that serves the model."""

    image: Annotated[str, StringConstraints(max_length=255, pattern=IMAGE_PATTERN)] | None = Field(
        default=None,
        description=(
            "Container image, usually in Amazon ECR (registry/repository:tag or @digest). "
            "SageMaker resolves tags to a digest at deployment; status.resolvedImage shows it."
        ),
    )
    artifact_url: Annotated[str, StringConstraints(max_length=1024, pattern=URL_PATTERN)] | None = (
        Field(
            default=None,
            description=(
                "s3:// or https:// URL of the model artifacts: a single gzip-compressed tar "
                "archive (.tar.gz). For an adapter component, the adapter's artifacts."
            ),
        )
    )
    environment: dict[EnvKey, EnvValue] | None = Field(
        default=None,
        max_length=MAX_ENVIRONMENT_ENTRIES,
        description=(
            "Environment variables for the container. Names match [a-zA-Z_][a-zA-Z0-9_]*; "
            "names and values up to 1024 characters; at most 16 entries (SageMaker's limit)."
        ),
    )
    container_metrics_config: ContainerMetricsConfig | None = Field(
        default=None,
        description="Where SageMaker scrapes Prometheus metrics from the container.",
    )


class StartupParameters(WireModel):
    """Timeouts that apply while a copy of the model starts."""

    model_data_download_timeout_in_seconds: int | None = Field(
        default=None,
        ge=60,
        le=3600,
        description="Seconds allowed to download and extract the model artifacts (60-3600).",
    )
    container_startup_health_check_timeout_in_seconds: int | None = Field(
        default=None,
        ge=60,
        le=3600,
        description="Seconds allowed for the container to pass its first health check (60-3600).",
    )


class ComputeResourceRequirements(WireModel):
    """Resources reserved for each copy of the model on an instance."""

    rules = (MAX_MEMORY_AT_LEAST_MIN, PARTITION_NEEDS_ONE_DEVICE)

    number_of_cpu_cores_required: float | None = Field(
        default=None,
        ge=0.25,
        description="CPU cores per copy (at least 0.25).",
    )
    number_of_accelerator_devices_required: float | None = Field(
        default=None,
        ge=1,
        description="Accelerators (GPUs, AWS Inferentia/Trainium devices) per copy (at least 1).",
    )
    min_memory_required_in_mb: int = Field(
        ge=128,
        description="Memory in MiB reserved for each copy (at least 128).",
    )
    max_memory_required_in_mb: int | None = Field(
        default=None,
        ge=128,
        description="Upper bound of memory in MiB for each copy; at least minMemoryRequiredInMb.",
    )
    accelerator_partition_type: (
        Annotated[str, StringConstraints(max_length=32, pattern=ACCELERATOR_PARTITION_PATTERN)]
        | None
    ) = Field(
        default=None,
        description=(
            "Accelerator partition (NVIDIA MIG profile such as mig-3g.40gb) each copy occupies. "
            "It must be declared by the endpoint's partition layout; it requires "
            "numberOfAcceleratorDevicesRequired: 1."
        ),
    )


class DataCacheConfig(WireModel):
    """Whether instances cache the model and image so that new copies start faster."""

    enable_caching: bool = Field(
        description=(
            "Cache the model artifacts and container image on each instance, so copies added "
            "by scaling deploy faster."
        ),
    )


class AvailabilityZoneBalance(WireModel):
    """How evenly copies are spread over Availability Zones."""

    enforcement_mode: Literal["PERMISSIVE"] = Field(
        description=(
            "PERMISSIVE: balance copies across Availability Zones when capacity allows, "
            "but place them anyway when it does not."
        ),
    )
    max_imbalance: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description=(
            "Largest allowed difference in copies between two Availability Zones (0-100; "
            "SageMaker's default 0)."
        ),
    )


class SchedulingConfig(WireModel):
    """How copies are placed on the endpoint's instances."""

    placement_strategy: Literal["SPREAD", "BINPACK"] = Field(
        description=(
            "SPREAD distributes copies over instances for resilience; BINPACK packs them onto "
            "as few instances as possible."
        ),
    )
    availability_zone_balance: AvailabilityZoneBalance | None = Field(
        default=None,
        description=(
            "Balance copies across Availability Zones; placementStrategy applies within each."
        ),
    )


class ComponentSpecification(WireModel):
    """What to run: model, container, resources (botocore `InferenceComponentSpecification`)."""

    rules = (ADAPTER_HAS_NO_RESOURCES,)

    instance_type: InstanceType | None = Field(
        default=None,
        description=(
            "ML instance type this specification applies to, for example ml.g5.2xlarge. "
            "Required on every entry when specifications has more than one."
        ),
    )
    model_name: ComponentName | None = Field(
        default=None,
        description="Name of an existing SageMaker model to deploy.",
    )
    container: Container | None = Field(
        default=None,
        description="The container that serves the model: image, artifacts, environment, metrics.",
    )
    startup_parameters: StartupParameters | None = Field(
        default=None,
        description="Timeouts for the model download and the container's first health check.",
    )
    compute_resource_requirements: ComputeResourceRequirements | None = Field(
        default=None,
        description=(
            "CPU, accelerators and memory reserved per copy. Leave it out on an adapter: "
            "adapters use the base component's resources."
        ),
    )
    base_inference_component_name: ComponentName | None = Field(
        default=None,
        description=(
            "Makes this an adapter component: the name of the existing (base) inference "
            "component that loads the adapter given in container.artifactUrl."
        ),
    )
    data_cache_config: DataCacheConfig | None = Field(
        default=None,
        description="Cache model artifacts and image on instances for faster scale-out.",
    )
    scheduling_config: SchedulingConfig | None = Field(
        default=None,
        description="How copies are placed across instances and Availability Zones.",
    )
