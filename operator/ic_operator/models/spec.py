"""The `InferenceComponent` spec: what users write, and the AWS requests it becomes.

Every request member of CreateInferenceComponent, UpdateInferenceComponent and
UpdateInferenceComponentRuntimeConfig in botocore is mirrored here with its
constraints (tests/unit/test_botocore_model.py walks the service model to keep
it so). Rules the service enforces but the model does not carry are added as
validators, and as CEL rules (``x-kubernetes-validations``) so that the API
server rejects a bad spec at admission instead of the operator at run time.

Patterns are anchored (botocore's are not) and never use lookaround, which
neither pydantic's Rust regex, Kubernetes' RE2 nor CEL accept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ic_operator.models._base import K8sModel, WireModel
from ic_operator.models._instance_types import InstanceType
from ic_operator.models.autoscaling import AutoScaling

# --- patterns (botocore's, anchored; see the translation table in the walk test) ---
IC_NAME_PATTERN = r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$"
ENDPOINT_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
IMAGE_PATTERN = r"^[\S]+$"
URL_PATTERN = r"^(https|s3)://([^/]+)/?(.*)$"
ENV_KEY_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
ENV_VALUE_PATTERN = r"^[\S\s]*$"
# botocore: /(?!.*\.\.)[a-zA-Z0-9/_.\-]+  -> this pattern + "no '..'" (validator + CEL)
METRICS_PATH_PATTERN = r"^/[a-zA-Z0-9/_.\-]+$"
ACCELERATOR_PARTITION_PATTERN = r"^mig-[0-9]+g\.[0-9]+gb([+-][a-z0-9.]+)*$"
# botocore: (?!\s*$).+  (not blank, one line) -> an equivalent pattern without lookahead
ALARM_NAME_PATTERN = r"^.*\S.*$"
TAG_PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"

# Service rules that botocore's model does not carry (reference §1.2, §2).
MAX_ENVIRONMENT_ENTRIES = 16
METRIC_PUBLISH_FREQUENCIES = (10, 30, 60, 120, 180, 240, 300)
MAX_SPECIFICATIONS = 5
# AWS allows 50 tags; the operator keeps two for its ownership tags.
MAX_USER_TAGS = 48
RESERVED_TAG_PREFIXES = ("sagemaker.ic-operator.io/", "aws:")
MAX_BATCH_PERCENT = 50
MIN_BATCH_PERCENT = 5

ComponentName = Annotated[str, StringConstraints(max_length=63, pattern=IC_NAME_PATTERN)]
EndpointOrVariantName = Annotated[
    str, StringConstraints(max_length=63, pattern=ENDPOINT_NAME_PATTERN)
]
EnvKey = Annotated[str, StringConstraints(max_length=1024, pattern=ENV_KEY_PATTERN)]
EnvValue = Annotated[str, StringConstraints(max_length=1024, pattern=ENV_VALUE_PATTERN)]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=TAG_PATTERN)]
TagValue = Annotated[str, StringConstraints(max_length=256, pattern=TAG_PATTERN)]
MetricPublishFrequency = Literal[10, 30, 60, 120, 180, 240, 300]
CapacitySizeType = Literal["COPY_COUNT", "CAPACITY_PERCENT"]


def _cel(rule: str, message: str, **extra: JsonValue) -> JsonValue:
    return {"rule": rule, "message": message, **extra}


class MetricsEndpoint(WireModel):
    """A Prometheus endpoint in the container whose metrics SageMaker publishes to CloudWatch."""

    metrics_endpoint_path: Annotated[
        str,
        StringConstraints(max_length=256, pattern=METRICS_PATH_PATTERN),
        Field(
            description=(
                "Path where the container serves Prometheus metrics, for example /metrics. "
                "Starts with '/'; letters, digits, '/', '_', '.', '-'; must not contain '..'."
            ),
            json_schema_extra={
                "x-kubernetes-validations": [
                    _cel("!self.contains('..')", "metricsEndpointPath must not contain '..'")
                ]
            },
        ),
    ]
    metric_publish_frequency_in_seconds: MetricPublishFrequency | None = Field(
        default=None,
        description=(
            "How often, in seconds, the scraped metrics are published to CloudWatch: "
            "10, 30, 60, 120, 180, 240 or 300. SageMaker's default is 60."
        ),
    )

    @field_validator("metrics_endpoint_path")
    @classmethod
    def _no_parent_segments(cls, value: str) -> str:
        if ".." in value:
            raise ValueError("metricsEndpointPath must not contain '..'")
        return value


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

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                _cel(
                    "!has(self.maxMemoryRequiredInMb) || "
                    "self.maxMemoryRequiredInMb >= self.minMemoryRequiredInMb",
                    "maxMemoryRequiredInMb must be at least minMemoryRequiredInMb",
                ),
                _cel(
                    "!has(self.acceleratorPartitionType) || "
                    "(has(self.numberOfAcceleratorDevicesRequired) && "
                    "self.numberOfAcceleratorDevicesRequired == 1.0)",
                    "acceleratorPartitionType requires numberOfAcceleratorDevicesRequired: 1",
                ),
            ]
        }
    )

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

    @model_validator(mode="after")
    def _consistent(self) -> ComputeResourceRequirements:
        if (
            self.max_memory_required_in_mb is not None
            and self.max_memory_required_in_mb < self.min_memory_required_in_mb
        ):
            raise ValueError("maxMemoryRequiredInMb must be at least minMemoryRequiredInMb")
        if (
            self.accelerator_partition_type is not None
            and self.number_of_accelerator_devices_required != 1
        ):
            raise ValueError(
                "acceleratorPartitionType requires numberOfAcceleratorDevicesRequired: 1"
            )
        return self


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

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                _cel(
                    "!has(self.baseInferenceComponentName) || "
                    "!has(self.computeResourceRequirements)",
                    "an adapter (baseInferenceComponentName set) uses its base component's "
                    "resources: remove computeResourceRequirements",
                ),
            ]
        }
    )

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

    @model_validator(mode="after")
    def _adapter_has_no_resources(self) -> ComponentSpecification:
        if self.base_inference_component_name is not None and (
            self.compute_resource_requirements is not None
        ):
            raise ValueError(
                "an adapter (baseInferenceComponentName set) uses its base component's "
                "resources: remove computeResourceRequirements"
            )
        return self


class RuntimeConfig(WireModel):
    """How many copies run, and who decides that number."""

    operator_only: ClassVar[frozenset[str]] = frozenset({"copy_count_owner"})

    copy_count: int = Field(
        ge=0,
        description=(
            "Number of copies of the model to run. Must be at least 1 when the component is "
            "created; 0 is allowed later (scale to zero)."
        ),
    )
    copy_count_owner: Literal["Operator", "External"] = Field(
        default="Operator",
        description=(
            "Operator: the operator keeps the copy count equal to copyCount. External: "
            "copyCount is used only at creation; afterwards something else (Application Auto "
            "Scaling) owns it and the operator never writes it or reports it as drift. "
            "Ignored when autoScaling is set: the autoscaler then owns the copy count."
        ),
    )


class CapacitySize(WireModel):
    """A batch size, as a number of copies or a percentage of capacity."""

    type: CapacitySizeType = Field(
        description="COPY_COUNT: value is a number of copies. CAPACITY_PERCENT: a percentage.",
    )
    value: int = Field(ge=1, description="Number of copies or percentage, depending on type.")


class RollingUpdatePolicy(WireModel):
    """Replace copies in batches, watching alarms after each batch."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                _cel(
                    "self.maximumBatchSize.type != 'CAPACITY_PERCENT' || "
                    "(self.maximumBatchSize.value >= 5 && self.maximumBatchSize.value <= 50)",
                    "maximumBatchSize: CAPACITY_PERCENT must be between 5 and 50",
                ),
                _cel(
                    "!has(self.rollbackMaximumBatchSize) || "
                    "self.rollbackMaximumBatchSize.type != 'CAPACITY_PERCENT' || "
                    "(self.rollbackMaximumBatchSize.value >= 5 && "
                    "self.rollbackMaximumBatchSize.value <= 100)",
                    "rollbackMaximumBatchSize: CAPACITY_PERCENT must be between 5 and 100",
                ),
            ]
        }
    )

    maximum_batch_size: CapacitySize = Field(
        description=(
            "Copies replaced per step: CAPACITY_PERCENT 5-50, or COPY_COUNT of at most half "
            "of runtimeConfig.copyCount."
        ),
    )
    wait_interval_in_seconds: int = Field(
        ge=0,
        le=3600,
        description=(
            "Bake time after each batch (0-3600 s), during which the rollback alarms are watched."
        ),
    )
    maximum_execution_timeout_in_seconds: int | None = Field(
        default=None,
        ge=600,
        le=28800,
        description="Time limit for the whole deployment (600-28800 s); exceeding it fails it.",
    )
    rollback_maximum_batch_size: CapacitySize | None = Field(
        default=None,
        description=(
            "Copies restored per step when rolling back. Absent means all at once (100%, "
            "blue/green)."
        ),
    )

    @model_validator(mode="after")
    def _percent_bounds(self) -> RollingUpdatePolicy:
        size = self.maximum_batch_size
        if size.type == "CAPACITY_PERCENT" and not (
            MIN_BATCH_PERCENT <= size.value <= MAX_BATCH_PERCENT
        ):
            raise ValueError("maximumBatchSize: CAPACITY_PERCENT must be between 5 and 50")
        rollback = self.rollback_maximum_batch_size
        if (
            rollback is not None
            and rollback.type == "CAPACITY_PERCENT"
            and not (MIN_BATCH_PERCENT <= rollback.value <= 100)
        ):
            raise ValueError("rollbackMaximumBatchSize: CAPACITY_PERCENT must be between 5 and 100")
        return self


class Alarm(WireModel):
    """A CloudWatch alarm that rolls the deployment back when it fires."""

    alarm_name: Annotated[
        str, StringConstraints(min_length=1, max_length=255, pattern=ALARM_NAME_PATTERN)
    ] = Field(description="Name of a CloudWatch alarm in the same account and Region.")


class AutoRollbackConfiguration(WireModel):
    """Alarms that make SageMaker roll a deployment back."""

    alarms: list[Alarm] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description=(
            "CloudWatch alarms (1-10) watched during the deployment; if one fires, SageMaker "
            "rolls back and the operator reports lastDeployment.outcome: RolledBack."
        ),
    )


class DeploymentConfig(WireModel):
    """How SageMaker rolls out a spec change (sent with every UpdateInferenceComponent)."""

    rolling_update_policy: RollingUpdatePolicy = Field(
        description="Batch size, bake time and time limit of the rolling update.",
    )
    auto_rollback_configuration: AutoRollbackConfiguration | None = Field(
        default=None,
        description="CloudWatch alarms that roll the update back when they fire.",
    )


_ADAPTER_CEL = (
    "((has(self.specification) && has(self.specification.baseInferenceComponentName)) || "
    "(has(self.specifications) && "
    "self.specifications.exists(s, has(s.baseInferenceComponentName))))"
)
_OPERATOR_OWNS_COPIES_CEL = (
    "!has(self.autoScaling) && has(self.runtimeConfig) && "
    "(!has(self.runtimeConfig.copyCountOwner) || self.runtimeConfig.copyCountOwner == 'Operator')"
)

SPEC_CEL_RULES: list[JsonValue] = [
    _cel(
        "has(self.specification) != has(self.specifications)",
        "set exactly one of specification or specifications",
    ),
    _cel(
        f"{_ADAPTER_CEL} || has(self.variantName)",
        "variantName is required (only an adapter, with baseInferenceComponentName, omits it)",
    ),
    _cel(
        f"!{_ADAPTER_CEL} || !has(self.variantName)",
        "variantName must not be set on an adapter: it inherits its base component's variant",
    ),
    _cel(
        "self.endpointName == oldSelf.endpointName",
        "endpointName is immutable",
    ),
    _cel(
        "has(self.variantName) == has(oldSelf.variantName) && "
        "(!has(self.variantName) || self.variantName == oldSelf.variantName)",
        "variantName is immutable",
    ),
    _cel(
        "has(self.inferenceComponentName) == has(oldSelf.inferenceComponentName) && "
        "(!has(self.inferenceComponentName) || "
        "self.inferenceComponentName == oldSelf.inferenceComponentName)",
        "inferenceComponentName is immutable",
    ),
    _cel(
        "oldSelf.hasValue() || !has(self.runtimeConfig) || self.runtimeConfig.copyCount >= 1",
        "runtimeConfig.copyCount must be at least 1 when the component is created",
        optionalOldSelf=True,
    ),
    _cel(
        f"!({_OPERATOR_OWNS_COPIES_CEL}) || !has(self.deploymentConfig) || "
        "self.runtimeConfig.copyCount == 0 || "
        "self.deploymentConfig.rollingUpdatePolicy.maximumBatchSize.type != 'COPY_COUNT' || "
        "self.deploymentConfig.rollingUpdatePolicy.maximumBatchSize.value * 2 "
        "<= self.runtimeConfig.copyCount",
        "deploymentConfig.rollingUpdatePolicy.maximumBatchSize: COPY_COUNT must be at most "
        "half of runtimeConfig.copyCount",
    ),
    _cel(
        f"!({_OPERATOR_OWNS_COPIES_CEL}) || !has(self.deploymentConfig) || "
        "self.runtimeConfig.copyCount == 0 || "
        "!has(self.deploymentConfig.rollingUpdatePolicy.rollbackMaximumBatchSize) || "
        "self.deploymentConfig.rollingUpdatePolicy.rollbackMaximumBatchSize.type "
        "!= 'COPY_COUNT' || "
        "self.deploymentConfig.rollingUpdatePolicy.rollbackMaximumBatchSize.value "
        "<= self.runtimeConfig.copyCount",
        "deploymentConfig.rollingUpdatePolicy.rollbackMaximumBatchSize: COPY_COUNT must be at "
        "most runtimeConfig.copyCount",
    ),
    _cel(
        f"!has(self.autoScaling) || has(self.runtimeConfig) || {_ADAPTER_CEL}",
        "autoScaling needs runtimeConfig.copyCount: the copy count the component is created with",
    ),
    _cel(
        f"!has(self.autoScaling) || !{_ADAPTER_CEL}",
        "autoScaling must not be set on an adapter: it runs on its base component's copies",
    ),
    _cel(
        "oldSelf.hasValue() || !has(self.autoScaling) || !has(self.runtimeConfig) || "
        "(self.runtimeConfig.copyCount >= self.autoScaling.minCopies && "
        "self.runtimeConfig.copyCount <= self.autoScaling.maxCopies)",
        "runtimeConfig.copyCount must be within autoScaling.minCopies and "
        "autoScaling.maxCopies when the component is created",
        optionalOldSelf=True,
    ),
]

_SPECIFICATIONS_CEL: list[JsonValue] = [
    _cel(
        "size(self) <= 1 || self.all(s, has(s.instanceType))",
        "every entry of specifications needs an instanceType when there are several",
    ),
    _cel(
        "size(self) <= 1 || self.all(a, has(a.instanceType) ? "
        "self.exists_one(b, has(b.instanceType) ? b.instanceType == a.instanceType : false) "
        ": true)",
        "the entries of specifications need distinct instanceTypes",
    ),
]

_TAGS_CEL: list[JsonValue] = [
    _cel(
        "self.all(k, !k.startsWith('sagemaker.ic-operator.io/') && "
        "!k.lowerAscii().startsWith('aws:'))",
        "tag keys starting with 'sagemaker.ic-operator.io/' or 'aws:' are reserved",
    ),
]


class InferenceComponentSpec(K8sModel):
    """Desired state of a SageMaker inference component."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": SPEC_CEL_RULES})

    endpoint_name: EndpointOrVariantName = Field(
        description=(
            "Existing SageMaker endpoint that hosts the component. Immutable: to move a "
            "component, create a new resource."
        ),
    )
    variant_name: EndpointOrVariantName | None = Field(
        default=None,
        description=(
            "Production variant of the endpoint that hosts the component. Required, except on "
            "an adapter (which inherits its base's variant and must omit it). Immutable."
        ),
    )
    inference_component_name: ComponentName | None = Field(
        default=None,
        description=(
            "Name of the inference component in SageMaker; defaults to metadata.name. Immutable."
        ),
    )
    region: Annotated[str, StringConstraints(max_length=32, pattern=REGION_PATTERN)] | None = Field(
        default=None,
        description=(
            "AWS Region of the endpoint, for example us-east-1; defaults to the operator's "
            "AWS configuration."
        ),
    )
    specification: ComponentSpecification | None = Field(
        default=None,
        description=(
            "What to deploy: model, container, startup, compute resources, adapter base, "
            "caching, scheduling. Set this or specifications, not both."
        ),
    )
    specifications: list[ComponentSpecification] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SPECIFICATIONS,
        description=(
            "One specification per instance type (1-5), for endpoints with several instance "
            "types; each entry names its instanceType. Set this or specification, not both."
        ),
        json_schema_extra={"x-kubernetes-validations": _SPECIFICATIONS_CEL},
    )
    runtime_config: RuntimeConfig | None = Field(
        default=None,
        description="Copy count and who owns it (the operator, or an autoscaler).",
    )
    deployment_config: DeploymentConfig | None = Field(
        default=None,
        description=(
            "Rolling update and automatic rollback, sent with every update of the "
            "specification. Without it SageMaker replaces all copies at once (blue/green)."
        ),
    )
    tags: dict[TagKey, TagValue] = Field(
        default_factory=dict,
        max_length=MAX_USER_TAGS,
        description=(
            "AWS tags on the component, kept in sync. At most 48; keys starting with "
            "'sagemaker.ic-operator.io/' or 'aws:' are reserved."
        ),
        json_schema_extra={"x-kubernetes-validations": _TAGS_CEL},
    )
    auto_scaling: AutoScaling | None = Field(
        default=None,
        description=(
            "Application Auto Scaling of the copy count: bounds, target-tracking policies, "
            "scheduled actions, scale to zero. When set, the autoscaler owns the copy count "
            "(whatever runtimeConfig.copyCountOwner says) and runtimeConfig.copyCount is the "
            "count the component is created with."
        ),
    )
    deletion_policy: Literal["Delete", "Retain"] = Field(
        default="Delete",
        description=(
            "Delete: deleting the resource deletes the inference component (and its scalable "
            "target, policies and alarm). Retain: all of it is left in place in AWS."
        ),
    )
    adoption_policy: Literal["Never", "IfExists"] = Field(
        default="Never",
        description=(
            "Never: fail if a component with this name exists and was not created for this "
            "resource. IfExists: adopt it and make it match this spec."
        ),
    )

    # --- validation -------------------------------------------------------------------

    @field_validator("tags")
    @classmethod
    def _no_reserved_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        for key in tags:
            if key.startswith(RESERVED_TAG_PREFIXES[0]) or key.lower().startswith("aws:"):
                raise ValueError(
                    f"tag key {key!r} is reserved: keys starting with "
                    "'sagemaker.ic-operator.io/' belong to the operator, 'aws:' to AWS"
                )
        return tags

    @model_validator(mode="after")
    def _service_rules(self, info: ValidationInfo) -> InferenceComponentSpec:
        if (self.specification is None) == (self.specifications is None):
            raise ValueError("set exactly one of specification or specifications")
        if self.specifications is not None and len(self.specifications) > 1:
            types = [s.instance_type for s in self.specifications]
            if any(t is None for t in types):
                raise ValueError(
                    "every entry of specifications needs an instanceType when there are several"
                )
            if len(set(types)) != len(types):
                raise ValueError("the entries of specifications need distinct instanceTypes")
        if self.is_adapter():
            if self.variant_name is not None:
                raise ValueError(
                    "variantName must not be set on an adapter: it inherits its base "
                    "component's variant"
                )
        elif self.variant_name is None:
            raise ValueError(
                "variantName is required (only an adapter, with baseInferenceComponentName, "
                "omits it)"
            )
        self._check_batch_sizes()
        self._check_auto_scaling()
        if info.context and info.context.get("creating"):
            problems = self.creation_problems()
            if problems:
                raise ValueError("; ".join(problems))
        return self

    def _check_auto_scaling(self) -> None:
        if self.auto_scaling is None:
            return
        if self.is_adapter():
            raise ValueError(
                "autoScaling must not be set on an adapter: it runs on its base component's copies"
            )
        if self.runtime_config is None:
            raise ValueError(
                "autoScaling needs runtimeConfig.copyCount: the copy count the component is "
                "created with"
            )

    def _check_batch_sizes(self) -> None:
        runtime, deployment = self.runtime_config, self.deployment_config
        if (
            runtime is None
            or deployment is None
            or self.copy_count_owner() != "Operator"
            or runtime.copy_count == 0
        ):
            return
        policy = deployment.rolling_update_policy
        batch = policy.maximum_batch_size
        if batch.type == "COPY_COUNT" and batch.value * 2 > runtime.copy_count:
            raise ValueError(
                "deploymentConfig.rollingUpdatePolicy.maximumBatchSize: COPY_COUNT must be at "
                f"most half of runtimeConfig.copyCount ({runtime.copy_count})"
            )
        rollback = policy.rollback_maximum_batch_size
        if (
            rollback is not None
            and rollback.type == "COPY_COUNT"
            and rollback.value > runtime.copy_count
        ):
            raise ValueError(
                "deploymentConfig.rollingUpdatePolicy.rollbackMaximumBatchSize: COPY_COUNT "
                f"must be at most runtimeConfig.copyCount ({runtime.copy_count})"
            )

    # --- the interface the reconciler uses --------------------------------------------

    @classmethod
    def parse(cls, spec: Mapping[str, Any], *, creating: bool = False) -> InferenceComponentSpec:
        """Validate a spec as Kubernetes stores it (camelCase).

        Raises pydantic.ValidationError. ``creating=True`` also applies the rules
        that hold only for CreateInferenceComponent (see ``creation_problems``);
        the API server enforces the same at admission with a CEL rule.
        """
        return cls.model_validate(dict(spec), context={"creating": creating})

    def creation_problems(self) -> list[str]:
        """Why this spec cannot be sent as CreateInferenceComponent (empty when it can).

        SageMaker rejects CopyCount 0 on create; zero copies are reached only by
        scaling an existing component.
        """
        runtime, scaling = self.runtime_config, self.auto_scaling
        if runtime is not None and runtime.copy_count < 1:
            return ["runtimeConfig.copyCount must be at least 1 when the component is created"]
        if (
            runtime is not None
            and scaling is not None
            and not scaling.min_copies <= runtime.copy_count <= scaling.max_copies
        ):
            return [
                "runtimeConfig.copyCount must be within autoScaling.minCopies and "
                "autoScaling.maxCopies when the component is created"
            ]
        return []

    def copy_count_owner(self) -> Literal["Operator", "External"]:
        """Who writes the copy count after creation: with autoScaling always the
        autoscaler (External), otherwise runtimeConfig.copyCountOwner. The API server
        fills in copyCountOwner's default, so "Operator" beside autoScaling cannot be
        told from "not written" and is not refused."""
        if self.auto_scaling is not None:
            return "External"
        return self.runtime_config.copy_count_owner if self.runtime_config else "Operator"

    def component_name(self, metadata_name: str) -> str:
        """The SageMaker name: spec.inferenceComponentName, else metadata.name.

        Never raises: a metadata.name that is not a valid SageMaker name (it may
        contain '.') is rejected at admission by the CRD's root CEL rule, and
        ``component_name_problems`` lets the planner report it without an AWS call.
        """
        return self.inference_component_name or metadata_name

    def component_name_problems(self, metadata_name: str) -> list[str]:
        """Why the name SageMaker would get is invalid (empty when it is valid)."""
        name = self.component_name(metadata_name)
        if len(name) > 63 or not re.fullmatch(IC_NAME_PATTERN, name):
            return [
                f"metadata.name {name!r} is not a valid inference component name "
                "(1-63 letters, digits and '-', not starting or ending with '-'); "
                "set spec.inferenceComponentName"
            ]
        return []

    def is_adapter(self) -> bool:
        """An adapter names a base component and borrows its variant and resources."""
        specs = self.specifications or ([self.specification] if self.specification else [])
        return any(s.base_inference_component_name is not None for s in specs)

    def aws_specification(self) -> dict[str, Any]:
        """``{"Specification": {...}}`` or ``{"Specifications": [...]}`` in wire form."""
        if self.specifications is not None:
            return {"Specifications": [s.to_aws() for s in self.specifications]}
        assert self.specification is not None  # guaranteed by _service_rules
        return {"Specification": self.specification.to_aws()}

    def create_request(self, name: str, *, tags: Mapping[str, str]) -> dict[str, Any]:
        """CreateInferenceComponent keyword arguments.

        ``tags`` are the operator's ownership tags, appended to the user's. It does
        not refuse copyCount 0: callers check ``creation_problems()`` first.
        """
        request: dict[str, Any] = {
            "InferenceComponentName": name,
            "EndpointName": self.endpoint_name,
        }
        if self.variant_name is not None:
            request["VariantName"] = self.variant_name
        request.update(self.aws_specification())
        if self.runtime_config is not None:
            request["RuntimeConfig"] = self.runtime_config.to_aws()
        all_tags = {**self.tags, **tags}
        if all_tags:
            request["Tags"] = [{"Key": k, "Value": v} for k, v in all_tags.items()]
        return request

    def update_request(self, name: str, *, copy_count: int | None) -> dict[str, Any]:
        """UpdateInferenceComponent keyword arguments: the full specification,
        DeploymentConfig when set, and RuntimeConfig only when ``copy_count`` is given
        (the planner passes None when the copy count is owned externally or unchanged)."""
        request: dict[str, Any] = {"InferenceComponentName": name}
        request.update(self.aws_specification())
        if copy_count is not None:
            request["RuntimeConfig"] = {"CopyCount": copy_count}
        if self.deployment_config is not None:
            request["DeploymentConfig"] = self.deployment_config.to_aws()
        return request

    def runtime_config_request(self, name: str, copy_count: int) -> dict[str, Any]:
        """UpdateInferenceComponentRuntimeConfig keyword arguments."""
        return {"InferenceComponentName": name, "DesiredRuntimeConfig": {"CopyCount": copy_count}}
