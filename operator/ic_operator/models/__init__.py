"""Pydantic models of the `InferenceComponent` resource: the single source of truth.

The CRD (`ic_operator.crd.schema`), the resource reference (docs/resource.md) and the
AWS requests are all derived from these classes. No kopf, boto3 or botocore
here (import-linter enforces it): they must stay pure and fast to test.

- spec, specification, deployment, autoscaling: what users write (the spec's parts);
- patterns: the services' patterns, limits and enumerations, and what each means;
- rules: every rule the schema cannot express (CEL, Python check and message together);
- sagemaker_requests, autoscaling_requests: the AWS requests a spec becomes;
- status, autoscaling_status: what the operator writes;
- errors: a ValidationError as the message a user reads.
"""

from ic_operator.models._instance_types import INSTANCE_TYPES, InstanceType
from ic_operator.models.autoscaling import (
    AutoScaling,
    CustomizedMetricSpecification,
    PredefinedMetricSpecification,
    ScalingPolicy,
    ScheduledAction,
    TargetTracking,
)
from ic_operator.models.autoscaling_status import AutoScalingStatus, ScalingActivity
from ic_operator.models.deployment import (
    Alarm,
    AutoRollbackConfiguration,
    CapacitySize,
    DeploymentConfig,
    RollingUpdatePolicy,
)
from ic_operator.models.errors import validation_message
from ic_operator.models.spec import EndpointRef, InferenceComponentSpec, RuntimeConfig
from ic_operator.models.specification import (
    AvailabilityZoneBalance,
    ComponentSpecification,
    ComputeResourceRequirements,
    Container,
    ContainerMetricsConfig,
    DataCacheConfig,
    MetricsEndpoint,
    SchedulingConfig,
    StartupParameters,
)
from ic_operator.models.status import (
    Condition,
    Decision,
    DeploymentOutcome,
    FieldDifference,
    InferenceComponentStatus,
    LastDeployment,
    LastWrite,
    PendingPlan,
    PlannedCall,
)

__all__ = [
    "INSTANCE_TYPES",
    "Alarm",
    "AutoRollbackConfiguration",
    "AutoScaling",
    "AutoScalingStatus",
    "AvailabilityZoneBalance",
    "CapacitySize",
    "ComponentSpecification",
    "ComputeResourceRequirements",
    "Condition",
    "Container",
    "ContainerMetricsConfig",
    "CustomizedMetricSpecification",
    "DataCacheConfig",
    "Decision",
    "DeploymentConfig",
    "DeploymentOutcome",
    "EndpointRef",
    "FieldDifference",
    "InferenceComponentSpec",
    "InferenceComponentStatus",
    "InstanceType",
    "LastDeployment",
    "LastWrite",
    "MetricsEndpoint",
    "PendingPlan",
    "PlannedCall",
    "PredefinedMetricSpecification",
    "RollingUpdatePolicy",
    "RuntimeConfig",
    "ScalingActivity",
    "ScalingPolicy",
    "ScheduledAction",
    "SchedulingConfig",
    "StartupParameters",
    "TargetTracking",
    "validation_message",
]
