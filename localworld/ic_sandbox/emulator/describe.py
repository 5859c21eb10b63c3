"""What DescribeInferenceComponent answers for what CreateInferenceComponent asked.

A request's specification carries `Container.Image`; Describe answers the summary shape:
`DeployedImage {SpecifiedImage, ResolvedImage, ResolutionTime}` in place of the image, only
the members that shape has, and a `DataCacheConfig` the service chose. The emulator renders
its records with these functions, and the operator's test fakes (tests/reconciler/fake.py,
tests/unit/planner_fixtures.py) render their documents with them too, so every test sees
one shape. Pure: no I/O and no aiohttp, so a unit test can import it cheaply.
"""

from __future__ import annotations

import copy
import hashlib

from .records import ComponentRecord, Json


def resolve_image(image: str) -> str:
    """A deterministic digest form `registry/repo@sha256:<hex>` for an image reference."""
    if "@sha256:" in image:
        return image
    slash = image.rfind("/")
    colon = image.rfind(":")
    repo = image[:colon] if colon > slash else image
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"{repo}@sha256:{digest}"


def deployed_image(spec: Json | None, resolved_at: float) -> Json | None:
    """Describe's `DeployedImage` for a request specification's `Container.Image` (None: no
    image, as for a model-based component or a `Specifications` entry)."""
    image = ((spec or {}).get("Container") or {}).get("Image")
    if image is None:
        return None
    return {
        "SpecifiedImage": image,
        "ResolvedImage": resolve_image(image),
        "ResolutionTime": resolved_at,
    }


def specification_summary(
    spec: Json, deployed: Json | None = None, *, cache_default: bool = False
) -> Json:
    """Describe's Specification (or one entry of Specifications) for a request's.

    Only the summary shape's members are kept; `deployed` (see :func:`deployed_image`) takes
    the place of `Container.Image`; `DataCacheConfig {EnableCaching: true}` appears unasked
    when `cache_default` (an instance type with accelerators: doc+obs, docs/emulator.md).
    """
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
        if deployed is not None:
            summary["DeployedImage"] = dict(deployed)
        for key in ("ArtifactUrl", "Environment", "ContainerMetricsConfig"):
            if key in container:
                summary[key] = copy.deepcopy(container[key])
        out["Container"] = summary
    if "DataCacheConfig" in spec:
        out["DataCacheConfig"] = {"EnableCaching": spec["DataCacheConfig"]["EnableCaching"]}
    elif cache_default:
        out["DataCacheConfig"] = {"EnableCaching": True}
    return out


def described_specification(spec: Json, resolved_at: float, *, cache_default: bool = False) -> Json:
    """Describe's Specification for a request's, its image resolved at `resolved_at`: what a
    fake SageMaker answers after a Create or Update."""
    return specification_summary(
        spec, deployed_image(spec, resolved_at), cache_default=cache_default
    )


def describe_component(
    ic: ComponentRecord, base: ComponentRecord | None, instance_type: str
) -> Json:
    """DescribeInferenceComponent's answer for a record (adapters echo the base's compute)."""
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
        summary = specification_summary(
            ic.specification, ic.resolved_image, cache_default=ic.cache_default
        )
        if base is not None and base.effective_spec():
            base_spec = base.effective_spec() or {}
            if "ComputeResourceRequirements" in base_spec:
                summary["ComputeResourceRequirements"] = copy.deepcopy(
                    base_spec["ComputeResourceRequirements"]
                )
        out["Specification"] = summary
    if ic.specifications is not None:
        out["Specifications"] = [
            specification_summary(s, cache_default=ic.cache_default) for s in ic.specifications
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
    """The component as ListInferenceComponents lists it."""
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
