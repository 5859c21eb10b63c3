"""The `InferenceComponent` spec: what users write, and the AWS requests it becomes.

Every request member of CreateInferenceComponent, UpdateInferenceComponent and
UpdateInferenceComponentRuntimeConfig in botocore is mirrored by this model and
those it is made of (specification.py, deployment.py, autoscaling.py), with its
constraints (tests/unit/test_botocore_model.py walks the service model to keep it
so). Rules the service enforces but the model does not carry are in rules.py: the
API server checks them at admission (CEL), the operator again when it parses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints

from ic_operator.models import sagemaker_requests
from ic_operator.models._base import K8sModel, WireModel
from ic_operator.models.autoscaling import AutoScaling
from ic_operator.models.deployment import DeploymentConfig
from ic_operator.models.patterns import (
    MAX_SPECIFICATIONS,
    MAX_USER_TAGS,
    REGION_PATTERN,
    ComponentName,
    EndpointOrVariantName,
    NamespaceName,
    ObjectName,
    TagKey,
    TagValue,
)
from ic_operator.models.rules import (
    AUTOSCALING_NEEDS_COPY_COUNT,
    BATCH_AT_MOST_HALF_THE_COPIES,
    COMPONENT_NAME,
    COPIES_AT_CREATION,
    COPIES_WITHIN_AUTOSCALING_RANGE,
    DISTINCT_INSTANCE_TYPES,
    ENDPOINT_IMMUTABLE,
    ENDPOINT_REF_IMMUTABLE,
    INSTANCE_TYPE_PER_SPECIFICATION,
    NAME_IMMUTABLE,
    NO_AUTOSCALING_ON_ADAPTER,
    NO_RESERVED_TAG_KEYS,
    NO_VARIANT_ON_ADAPTER,
    ONE_ENDPOINT_FORM,
    ONE_SPECIFICATION_FORM,
    REGION_IMMUTABLE,
    ROLLBACK_BATCH_AT_MOST_THE_COPIES,
    VARIANT_IMMUTABLE,
    VARIANT_REQUIRED,
)
from ic_operator.models.specification import ComponentSpecification


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


class EndpointRef(K8sModel):
    """An ACK `Endpoint` object (sagemaker.services.k8s.aws/v1alpha1) whose SageMaker
    endpoint hosts the component: GitOps can then apply the endpoint and its components
    together, and the component waits until ACK reports the endpoint synced and InService."""

    name: ObjectName = Field(description="metadata.name of the ACK Endpoint.")
    namespace: NamespaceName | None = Field(
        default=None,
        description=(
            "Namespace of the ACK Endpoint; defaults to the component's. Another namespace "
            "only when the operator allows it (crossNamespaceEndpointRefs, default off)."
        ),
    )


class InferenceComponentSpec(K8sModel):
    """Desired state of a SageMaker inference component."""

    rules = (
        ONE_ENDPOINT_FORM,
        ONE_SPECIFICATION_FORM,
        INSTANCE_TYPE_PER_SPECIFICATION,
        DISTINCT_INSTANCE_TYPES,
        VARIANT_REQUIRED,
        NO_VARIANT_ON_ADAPTER,
        ENDPOINT_IMMUTABLE,
        ENDPOINT_REF_IMMUTABLE,
        VARIANT_IMMUTABLE,
        NAME_IMMUTABLE,
        REGION_IMMUTABLE,
        COPIES_AT_CREATION,
        BATCH_AT_MOST_HALF_THE_COPIES,
        ROLLBACK_BATCH_AT_MOST_THE_COPIES,
        AUTOSCALING_NEEDS_COPY_COUNT,
        NO_AUTOSCALING_ON_ADAPTER,
        COPIES_WITHIN_AUTOSCALING_RANGE,
    )

    endpoint_name: EndpointOrVariantName | None = Field(
        default=None,
        description=(
            "Existing SageMaker endpoint that hosts the component. Set this or endpointRef, "
            "not both. Immutable: to move a component, create a new resource."
        ),
    )
    endpoint_ref: EndpointRef | None = Field(
        default=None,
        description=(
            "The ACK Endpoint object that makes the hosting endpoint: the operator reads "
            "the endpoint's name from its spec.endpointName once ACK reports it synced and "
            "InService, and keeps that name (status.endpointName). Set this or "
            "endpointName, not both. Immutable."
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
            "AWS Region of the endpoint, for example us-east-1; defaults to the namespace's "
            "AccountMapping defaultRegion, else the operator's AWS configuration. Immutable "
            "once set."
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
    tags: Annotated[dict[TagKey, TagValue], NO_RESERVED_TAG_KEYS] = Field(
        default_factory=dict,
        max_length=MAX_USER_TAGS,
        description=(
            "AWS tags on the component, kept in sync. At most 48; keys starting with "
            "'sagemaker.ic-operator.io/' or 'aws:' are reserved."
        ),
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
    suspend: bool | None = Field(
        default=None,
        description=(
            "true: the operator writes nothing to AWS for this component (no create, update, "
            "scale, tag, delete or autoscaling write) but keeps observing it; status.pendingPlan "
            "shows the calls it would make and the fields that differ, and setting it back to "
            "false (or removing it) makes them on the next pass. Deleting a suspended resource "
            "with deletionPolicy Delete waits, finalizer held, until it is resumed or the "
            "policy is set to Retain. Absent or false: not suspended."
        ),
    )
    adoption_policy: Literal["Never", "IfExists"] = Field(
        default="Never",
        description=(
            "Never: fail if a component with this name exists and was not created for this "
            "resource. IfExists: adopt it and make it match this spec."
        ),
    )

    @classmethod
    def parse(cls, spec: Mapping[str, Any], *, creating: bool = False) -> InferenceComponentSpec:
        """Validate a spec as Kubernetes stores it (camelCase).

        Raises pydantic.ValidationError. ``creating=True`` also applies the rules
        that hold only for CreateInferenceComponent (see ``creation_problems``);
        the API server enforces the same at admission with a CEL rule.
        """
        return cls.model_validate(dict(spec), context={"creating": creating})

    @property
    def suspended(self) -> bool:
        return bool(self.suspend)

    def creation_problems(self) -> list[str]:
        """Why this spec cannot be sent as CreateInferenceComponent (empty when it can):
        the first broken rule that holds only at creation, as ``parse`` reports it."""
        problem = self.broken_rule(at_creation=True)
        return [] if problem is None else [problem]

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
        """Why the name SageMaker would get is invalid (empty when it is valid): the
        CRD's root rule (rules.COMPONENT_NAME), checked by the operator."""
        problem = COMPONENT_NAME.problem(self.component_name(metadata_name))
        return [] if problem is None else [problem]

    def is_adapter(self) -> bool:
        """An adapter names a base component and borrows its variant and resources."""
        specs = self.specifications or ([self.specification] if self.specification else [])
        return any(s.base_inference_component_name is not None for s in specs)

    # The AWS requests this spec becomes (sagemaker_requests), bound as methods.
    aws_specification: ClassVar = sagemaker_requests.aws_specification
    create_request: ClassVar = sagemaker_requests.create_request
    update_request: ClassVar = sagemaker_requests.update_request
    runtime_config_request: ClassVar = sagemaker_requests.runtime_config_request
