"""Builders shared by the planner, diffing and reconciler unit tests.

``describe_of`` renders a desired spec the way DescribeInferenceComponent reports
it (DeployedImage instead of Image, service-chosen extras) with the emulator's own
converter, so the tests exercise the same normalisation real responses need.
"""

from __future__ import annotations

import copy
from typing import Any

from ic_operator.models import InferenceComponentSpec, InferenceComponentStatus, LastDeployment
from ic_operator.names import OWNER_RESOURCE_TAG, OWNER_UID_TAG
from ic_operator.reconcile.diffing import spec_hash
from ic_operator.reconcile.types import Desired, Observed
from ic_sandbox.emulator.describe import described_specification, specification_summary

UID = "0b7c5a52-3c1e-4a9e-9d7e-1a2b3c4d5e6f"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:inference-component/llm"
NOW = 1_800_000_000.0
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:2.4.0"
IMAGE2 = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:2.5.0"


def raw_spec(**over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "endpointName": "llm-endpoint",
        "variantName": "AllTraffic",
        "inferenceComponentName": "llm",
        "specification": {
            "modelName": "llm-model",
            "container": {"image": IMAGE, "environment": {"MAX_TOKENS": "4096"}},
            "computeResourceRequirements": {
                "numberOfAcceleratorDevicesRequired": 1,
                "numberOfCpuCoresRequired": 2,
                "minMemoryRequiredInMb": 8192,
            },
        },
        "runtimeConfig": {"copyCount": 4},
        "deploymentConfig": {
            "rollingUpdatePolicy": {
                "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
                "waitIntervalInSeconds": 60,
            },
            "autoRollbackConfiguration": {"alarms": [{"alarmName": "llm-5xx"}]},
        },
        "tags": {"team": "search"},
    }
    for key, value in over.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return spec


def spec_of(**over: Any) -> InferenceComponentSpec:
    return InferenceComponentSpec.parse(raw_spec(**over))


def with_image(image: str, **over: Any) -> InferenceComponentSpec:
    raw = raw_spec(**over)
    raw["specification"] = copy.deepcopy(raw["specification"])
    raw["specification"]["container"]["image"] = image
    return InferenceComponentSpec.parse(raw)


def desired_of(
    spec: InferenceComponentSpec,
    *,
    retry: str | None = None,
    generation: int = 1,
    redeploy: str | None = None,
) -> Desired:
    return Desired(
        name="llm",
        uid=UID,
        resource="team-a/llm",
        generation=generation,
        retry_token=retry,
        spec=spec,
        redeploy_token=redeploy,
    )


def describe_of(
    spec: InferenceComponentSpec,
    *,
    state: str = "InService",
    copies: int | None = None,
    failure: str | None = None,
    modified: float = NOW - 30,
    extras: bool = True,
) -> dict[str, Any]:
    """A DescribeInferenceComponent response for a component running ``spec``."""
    wire = spec.aws_specification()
    out: dict[str, Any] = {
        "InferenceComponentName": "llm",
        "InferenceComponentArn": ARN,
        "EndpointName": spec.endpoint_name,
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/llm-endpoint",
        "VariantName": spec.variant_name,
        "InferenceComponentStatus": state,
        "CreationTime": NOW - 3600,
        "LastModifiedTime": modified,
    }
    if failure:
        out["FailureReason"] = failure
    if "Specification" in wire:
        # Service-chosen members the user did not ask for (extras): not differences.
        summary = described_specification(wire["Specification"], NOW - 3600, cache_default=extras)
        if extras:
            comp = summary.setdefault("ComputeResourceRequirements", {})
            if "NumberOfCpuCoresRequired" in comp:
                comp["NumberOfCpuCoresRequired"] = float(comp["NumberOfCpuCoresRequired"])
        out["Specification"] = summary
    else:
        # Specifications entries echo no image
        out["Specifications"] = [specification_summary(s) for s in wire["Specifications"]]
    count = (
        copies
        if copies is not None
        else (spec.runtime_config.copy_count if spec.runtime_config else 1)
    )
    out["RuntimeConfig"] = {"DesiredCopyCount": count, "CurrentCopyCount": count}
    return out


def owned_tags(spec: InferenceComponentSpec) -> dict[str, str]:
    return {**spec.tags, OWNER_UID_TAG: UID, OWNER_RESOURCE_TAG: "team-a/llm"}


def observed(component: dict[str, Any] | None, tags: dict[str, str] | None = None) -> Observed:
    return Observed(component=component, tags=tags, now=NOW)


def status_of(
    *,
    arn: str | None = ARN,
    last: LastDeployment | None = None,
    tags_hash: str | None = None,
) -> InferenceComponentStatus:
    return InferenceComponentStatus(
        inference_component_arn=arn, last_deployment=last, tags_hash=tags_hash
    )


def deployment(
    spec: InferenceComponentSpec,
    outcome: str,
    *,
    retry: str | None = None,
    previous_failure: str | None = None,
    failure: str | None = None,
    redeploy: str | None = None,
) -> LastDeployment:
    return LastDeployment(
        generation=1,
        spec_hash=spec_hash(spec.aws_specification()),
        deployment_config=spec.deployment_config,
        started_at="2027-01-15T08:00:00Z",
        finished_at=None if outcome == "InProgress" else "2027-01-15T08:10:00Z",
        outcome=outcome,
        failure_reason=failure,
        retry_token=retry,
        redeploy_token=redeploy,
        previous_failure_reason=previous_failure,
    )
