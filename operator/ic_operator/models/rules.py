"""Every rule of the `InferenceComponent` spec that its schema cannot express.

Each rule is written here once: the CEL expression the API server evaluates at
admission, the Python check the operator runs when it parses a spec, and the one
message both report (see `Rule`). The models attach each rule once, so the two
checks cannot drift apart; tests/unit/test_invalid_specs.py runs every rule both
ways over a corpus of invalid specs.

Rules are grouped by the model they are attached to; within a model their order is
the order the API server reports them in (and the CRD lists them in).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic.alias_generators import to_snake

from ic_operator.models._base import Rule
from ic_operator.models.autoscaling_requests import STEP_POLICY_NAME
from ic_operator.models.patterns import (
    IC_NAME_PATTERN,
    MAX_BATCH_PERCENT,
    MAX_ROLLBACK_BATCH_PERCENT,
    MIN_BATCH_PERCENT,
    SCHEDULE_FORM,
)
from ic_operator.names import RESERVED_TAG_PREFIXES

if TYPE_CHECKING:
    from ic_operator.models.autoscaling import (
        AutoScaling,
        CustomizedMetricSpecification,
        ScalingPolicy,
        ScheduledAction,
        TargetTracking,
    )
    from ic_operator.models.deployment import CapacitySize, RollingUpdatePolicy
    from ic_operator.models.spec import InferenceComponentSpec
    from ic_operator.models.specification import (
        ComponentSpecification,
        ComputeResourceRequirements,
    )

# --- the resource's name (on the CRD's root; the operator checks the SageMaker name) --

COMPONENT_NAME: Rule[str] = Rule(
    "has(self.spec.inferenceComponentName) || (size(self.metadata.name) <= 63 && "
    f"self.metadata.name.matches(r'{IC_NAME_PATTERN}'))",
    "metadata.name is not a valid SageMaker inference component name (1-63 letters, "
    "digits and '-', not starting or ending with '-'): set spec.inferenceComponentName",
    holds=lambda name: len(name) <= 63 and re.fullmatch(IC_NAME_PATTERN, name) is not None,
)

# --- MetricsEndpoint.metricsEndpointPath ---------------------------------------------

NO_PARENT_SEGMENTS: Rule[str] = Rule(
    "!self.contains('..')",
    "metricsEndpointPath must not contain '..'",
    holds=lambda path: ".." not in path,
)

# --- ComputeResourceRequirements -----------------------------------------------------

MAX_MEMORY_AT_LEAST_MIN: Rule[ComputeResourceRequirements] = Rule(
    "!has(self.maxMemoryRequiredInMb) || self.maxMemoryRequiredInMb >= self.minMemoryRequiredInMb",
    "maxMemoryRequiredInMb must be at least minMemoryRequiredInMb",
    holds=lambda r: (
        r.max_memory_required_in_mb is None
        or r.max_memory_required_in_mb >= r.min_memory_required_in_mb
    ),
)
PARTITION_NEEDS_ONE_DEVICE: Rule[ComputeResourceRequirements] = Rule(
    "!has(self.acceleratorPartitionType) || "
    "(has(self.numberOfAcceleratorDevicesRequired) && "
    "self.numberOfAcceleratorDevicesRequired == 1.0)",
    "acceleratorPartitionType requires numberOfAcceleratorDevicesRequired: 1",
    holds=lambda r: (
        r.accelerator_partition_type is None or r.number_of_accelerator_devices_required == 1
    ),
)

# --- ComponentSpecification ----------------------------------------------------------

ADAPTER_HAS_NO_RESOURCES: Rule[ComponentSpecification] = Rule(
    "!has(self.baseInferenceComponentName) || !has(self.computeResourceRequirements)",
    "an adapter (baseInferenceComponentName set) uses its base component's "
    "resources: remove computeResourceRequirements",
    holds=lambda s: (
        s.base_inference_component_name is None or s.compute_resource_requirements is None
    ),
)

# --- RollingUpdatePolicy -------------------------------------------------------------


def _percent_within(size: CapacitySize | None, high: int) -> bool:
    return (
        size is None or size.type != "CAPACITY_PERCENT" or MIN_BATCH_PERCENT <= size.value <= high
    )


BATCH_PERCENT: Rule[RollingUpdatePolicy] = Rule(
    "self.maximumBatchSize.type != 'CAPACITY_PERCENT' || "
    f"(self.maximumBatchSize.value >= {MIN_BATCH_PERCENT} && "
    f"self.maximumBatchSize.value <= {MAX_BATCH_PERCENT})",
    f"maximumBatchSize: CAPACITY_PERCENT must be between {MIN_BATCH_PERCENT} and "
    f"{MAX_BATCH_PERCENT}",
    holds=lambda p: _percent_within(p.maximum_batch_size, MAX_BATCH_PERCENT),
)
ROLLBACK_BATCH_PERCENT: Rule[RollingUpdatePolicy] = Rule(
    "!has(self.rollbackMaximumBatchSize) || "
    "self.rollbackMaximumBatchSize.type != 'CAPACITY_PERCENT' || "
    f"(self.rollbackMaximumBatchSize.value >= {MIN_BATCH_PERCENT} && "
    f"self.rollbackMaximumBatchSize.value <= {MAX_ROLLBACK_BATCH_PERCENT})",
    f"rollbackMaximumBatchSize: CAPACITY_PERCENT must be between {MIN_BATCH_PERCENT} and "
    f"{MAX_ROLLBACK_BATCH_PERCENT}",
    holds=lambda p: _percent_within(p.rollback_maximum_batch_size, MAX_ROLLBACK_BATCH_PERCENT),
)

# --- InferenceComponentSpec ------------------------------------------------------------

_ADAPTER_CEL = (
    "((has(self.specification) && has(self.specification.baseInferenceComponentName)) || "
    "(has(self.specifications) && "
    "self.specifications.exists(s, has(s.baseInferenceComponentName))))"
)
_OPERATOR_OWNS_COPIES_CEL = (
    "!has(self.autoScaling) && has(self.runtimeConfig) && "
    "(!has(self.runtimeConfig.copyCountOwner) || self.runtimeConfig.copyCountOwner == 'Operator')"
)


def _copy_count_batch_rule(
    member: str, *, optional: bool, per_copy: int, message: str
) -> Rule[InferenceComponentSpec]:
    """COPY_COUNT batches of rollingUpdatePolicy.<member> times ``per_copy`` must fit in
    the copy count. Only a count the operator keeps bounds the batches (an
    autoscaler's changes under the update), and not zero copies: nothing rolls."""
    size = f"self.deploymentConfig.rollingUpdatePolicy.{member}"
    present = f"!has({size}) || " if optional else ""
    times = f" * {per_copy}" if per_copy != 1 else ""
    cel = (
        f"!({_OPERATOR_OWNS_COPIES_CEL}) || !has(self.deploymentConfig) || "
        f"self.runtimeConfig.copyCount == 0 || {present}"
        f"{size}.type != 'COPY_COUNT' || {size}.value{times} <= self.runtimeConfig.copyCount"
    )

    def holds(spec: InferenceComponentSpec) -> bool:
        runtime, deployment = spec.runtime_config, spec.deployment_config
        if runtime is None or deployment is None or spec.copy_count_owner() != "Operator":
            return True
        batch: CapacitySize | None = getattr(deployment.rolling_update_policy, to_snake(member))
        return (
            runtime.copy_count == 0
            or batch is None
            or batch.type != "COPY_COUNT"
            or batch.value * per_copy <= runtime.copy_count
        )

    return Rule(cel, message, holds=holds, detail=_copy_count)


def _copy_count(spec: InferenceComponentSpec) -> str:
    return str(spec.runtime_config.copy_count if spec.runtime_config else None)


def _distinct(values: list[str]) -> bool:
    return len(set(values)) == len(values)


ONE_SPECIFICATION_FORM: Rule[InferenceComponentSpec] = Rule(
    "has(self.specification) != has(self.specifications)",
    "set exactly one of specification or specifications",
    holds=lambda spec: (spec.specification is None) != (spec.specifications is None),
)
INSTANCE_TYPE_PER_SPECIFICATION: Rule[list[ComponentSpecification]] = Rule(
    "size(self) <= 1 || self.all(s, has(s.instanceType))",
    "every entry of specifications needs an instanceType when there are several",
    holds=lambda specs: len(specs) <= 1 or all(s.instance_type is not None for s in specs),
    on="specifications",
)
DISTINCT_INSTANCE_TYPES: Rule[list[ComponentSpecification]] = Rule(
    "size(self) <= 1 || self.all(a, has(a.instanceType) ? "
    "self.exists_one(b, has(b.instanceType) ? b.instanceType == a.instanceType : false) "
    ": true)",
    "the entries of specifications need distinct instanceTypes",
    holds=lambda specs: _distinct([s.instance_type for s in specs if s.instance_type is not None]),
    on="specifications",
)
VARIANT_REQUIRED: Rule[InferenceComponentSpec] = Rule(
    f"{_ADAPTER_CEL} || has(self.variantName)",
    "variantName is required (only an adapter, with baseInferenceComponentName, omits it)",
    holds=lambda spec: spec.is_adapter() or spec.variant_name is not None,
)
NO_VARIANT_ON_ADAPTER: Rule[InferenceComponentSpec] = Rule(
    f"!{_ADAPTER_CEL} || !has(self.variantName)",
    "variantName must not be set on an adapter: it inherits its base component's variant",
    holds=lambda spec: not spec.is_adapter() or spec.variant_name is None,
)
ONE_ENDPOINT_FORM: Rule[InferenceComponentSpec] = Rule(
    "has(self.endpointName) != has(self.endpointRef)",
    "set exactly one of endpointName or endpointRef",
    holds=lambda spec: (spec.endpoint_name is None) != (spec.endpoint_ref is None),
)


def _unchanged(member: str) -> str:
    """CEL: ``member`` is neither added, removed nor changed by an update."""
    return (
        f"has(self.{member}) == has(oldSelf.{member}) && "
        f"(!has(self.{member}) || self.{member} == oldSelf.{member})"
    )


ENDPOINT_IMMUTABLE: Rule[InferenceComponentSpec] = Rule(
    _unchanged("endpointName"),
    "endpointName is immutable",
    holds=None,
)
ENDPOINT_REF_IMMUTABLE: Rule[InferenceComponentSpec] = Rule(
    _unchanged("endpointRef"),
    "endpointRef is immutable",
    holds=None,
)
VARIANT_IMMUTABLE: Rule[InferenceComponentSpec] = Rule(
    _unchanged("variantName"),
    "variantName is immutable",
    holds=None,
)
NAME_IMMUTABLE: Rule[InferenceComponentSpec] = Rule(
    _unchanged("inferenceComponentName"),
    "inferenceComponentName is immutable",
    holds=None,
)
# Once set, the region is the component's place: a changed or removed region would move it
# (the mapping's default region may differ). Setting it where it was unset is left to the
# reconcile-time AccountChanged/RegionNotAllowed, which knows the region it was created in.
REGION_IMMUTABLE: Rule[InferenceComponentSpec] = Rule(
    "!has(oldSelf.region) || (has(self.region) && self.region == oldSelf.region)",
    "region is immutable once set: a component stays in the region it was created in "
    "(re-create it to move it)",
    holds=None,
)
# SageMaker rejects CopyCount 0 on create; zero copies are reached only by scaling an
# existing component.
COPIES_AT_CREATION: Rule[InferenceComponentSpec] = Rule(
    "oldSelf.hasValue() || !has(self.runtimeConfig) || self.runtimeConfig.copyCount >= 1",
    "runtimeConfig.copyCount must be at least 1 when the component is created",
    holds=lambda spec: spec.runtime_config is None or spec.runtime_config.copy_count >= 1,
    at_creation=True,
)
BATCH_AT_MOST_HALF_THE_COPIES = _copy_count_batch_rule(
    "maximumBatchSize",
    optional=False,
    per_copy=2,
    message="deploymentConfig.rollingUpdatePolicy.maximumBatchSize: COPY_COUNT must be at most "
    "half of runtimeConfig.copyCount",
)
ROLLBACK_BATCH_AT_MOST_THE_COPIES = _copy_count_batch_rule(
    "rollbackMaximumBatchSize",
    optional=True,
    per_copy=1,
    message="deploymentConfig.rollingUpdatePolicy.rollbackMaximumBatchSize: COPY_COUNT must be at "
    "most runtimeConfig.copyCount",
)
AUTOSCALING_NEEDS_COPY_COUNT: Rule[InferenceComponentSpec] = Rule(
    f"!has(self.autoScaling) || has(self.runtimeConfig) || {_ADAPTER_CEL}",
    "autoScaling needs runtimeConfig.copyCount: the copy count the component is created with",
    holds=lambda spec: (
        spec.auto_scaling is None or spec.runtime_config is not None or spec.is_adapter()
    ),
)
NO_AUTOSCALING_ON_ADAPTER: Rule[InferenceComponentSpec] = Rule(
    f"!has(self.autoScaling) || !{_ADAPTER_CEL}",
    "autoScaling must not be set on an adapter: it runs on its base component's copies",
    holds=lambda spec: spec.auto_scaling is None or not spec.is_adapter(),
)
COPIES_WITHIN_AUTOSCALING_RANGE: Rule[InferenceComponentSpec] = Rule(
    "oldSelf.hasValue() || !has(self.autoScaling) || !has(self.runtimeConfig) || "
    "(self.runtimeConfig.copyCount >= self.autoScaling.minCopies && "
    "self.runtimeConfig.copyCount <= self.autoScaling.maxCopies)",
    "runtimeConfig.copyCount must be within autoScaling.minCopies and "
    "autoScaling.maxCopies when the component is created",
    holds=lambda spec: (
        spec.runtime_config is None
        or spec.auto_scaling is None
        or spec.auto_scaling.min_copies
        <= spec.runtime_config.copy_count
        <= spec.auto_scaling.max_copies
    ),
    at_creation=True,
)


_OPERATOR_TAGS, _AWS_TAGS = RESERVED_TAG_PREFIXES


def _reserved(key: str) -> bool:
    return key.startswith(_OPERATOR_TAGS) or key.lower().startswith(_AWS_TAGS)


NO_RESERVED_TAG_KEYS: Rule[dict[str, str]] = Rule(
    f"self.all(k, !k.startsWith('{_OPERATOR_TAGS}') && !k.lowerAscii().startsWith('{_AWS_TAGS}'))",
    f"tag keys starting with '{_OPERATOR_TAGS}' or '{_AWS_TAGS}' are reserved",
    holds=lambda tags: not any(_reserved(key) for key in tags),
    detail=lambda tags: ", ".join(repr(key) for key in tags if _reserved(key)),
)

# --- autoScaling -----------------------------------------------------------------------

ONE_CUSTOMIZED_METRIC_FORM: Rule[CustomizedMetricSpecification] = Rule(
    "has(self.metrics) ? !(has(self.metricName) || has(self.namespace) || "
    "has(self.dimensions) || has(self.statistic) || has(self.unit)) : "
    "(has(self.metricName) && has(self.namespace) && has(self.statistic))",
    "customizedMetricSpecification: set either metrics, or metricName, namespace and statistic",
    holds=lambda m: (
        all(v is None for v in (m.metric_name, m.namespace, m.dimensions, m.statistic, m.unit))
        if m.metrics is not None
        else None not in (m.metric_name, m.namespace, m.statistic)
    ),
)
ONE_METRIC: Rule[TargetTracking] = Rule(
    "has(self.predefinedMetricSpecification) != has(self.customizedMetricSpecification)",
    "set exactly one of predefinedMetricSpecification or customizedMetricSpecification",
    holds=lambda t: (
        (t.predefined_metric_specification is None) != (t.customized_metric_specification is None)
    ),
)
POSITIVE_TARGET: Rule[TargetTracking] = Rule(
    "self.targetValue > 0.0",
    "targetValue must be greater than 0",
    holds=lambda t: t.target_value > 0,
)
NOT_THE_STEP_POLICY: Rule[str] = Rule(
    f"self != '{STEP_POLICY_NAME}'",
    f"policyName '{STEP_POLICY_NAME}' is reserved for the operator",
    holds=lambda name: name != STEP_POLICY_NAME,
    on="policy_name",
)
SCHEDULED_ACTION_SETS_A_BOUND: Rule[ScheduledAction] = Rule(
    "has(self.minCopies) || has(self.maxCopies)",
    "a scheduled action sets minCopies, maxCopies or both",
    holds=lambda a: a.min_copies is not None or a.max_copies is not None,
)
_MIN_AT_MOST_MAX = "minCopies must be at most maxCopies"
SCHEDULED_MIN_AT_MOST_MAX: Rule[ScheduledAction] = Rule(
    "!has(self.minCopies) || !has(self.maxCopies) || self.minCopies <= self.maxCopies",
    _MIN_AT_MOST_MAX,
    holds=lambda a: a.min_copies is None or a.max_copies is None or a.min_copies <= a.max_copies,
)
SCHEDULE_EXPRESSION: Rule[str] = Rule(
    f"self.matches(r'{SCHEDULE_FORM}')",
    "schedule must be at(...), rate(...) or cron(...)",
    holds=lambda schedule: re.fullmatch(SCHEDULE_FORM, schedule) is not None,
)
MIN_AT_MOST_MAX: Rule[AutoScaling] = Rule(
    "self.minCopies <= self.maxCopies",
    _MIN_AT_MOST_MAX,
    holds=lambda s: s.min_copies <= s.max_copies,
)
DISTINCT_POLICY_NAMES: Rule[list[ScalingPolicy]] = Rule(
    "self.all(p, self.exists_one(q, q.policyName == p.policyName))",
    "policies need distinct policyNames",
    holds=lambda policies: _distinct([p.policy_name for p in policies]),
    on="policies",
)
DISTINCT_ACTION_NAMES: Rule[list[ScheduledAction]] = Rule(
    "self.all(a, self.exists_one(b, b.scheduledActionName == a.scheduledActionName))",
    "scheduledActions need distinct scheduledActionNames",
    holds=lambda actions: _distinct([a.scheduled_action_name for a in actions]),
    on="scheduled_actions",
)
