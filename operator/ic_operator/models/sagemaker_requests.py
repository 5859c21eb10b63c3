"""The SageMaker requests an `InferenceComponentSpec` becomes, in boto3 keyword form.

The wire form of each member is derived by `WireModel.to_aws`; what is decided here
is which members go in which request. `InferenceComponentSpec` binds these as
methods, so callers write ``spec.update_request(name, copy_count=...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ic_operator.models.spec import InferenceComponentSpec


def aws_specification(spec: InferenceComponentSpec) -> dict[str, Any]:
    """``{"Specification": {...}}`` or ``{"Specifications": [...]}`` in wire form."""
    if spec.specifications is not None:
        return {"Specifications": [s.to_aws() for s in spec.specifications]}
    assert spec.specification is not None  # guaranteed by rules.ONE_SPECIFICATION_FORM
    return {"Specification": spec.specification.to_aws()}


def create_request(
    spec: InferenceComponentSpec, name: str, *, tags: Mapping[str, str]
) -> dict[str, Any]:
    """CreateInferenceComponent keyword arguments.

    ``tags`` are the operator's ownership tags, appended to the user's. It does
    not refuse copyCount 0: callers check ``creation_problems()`` first.
    """
    request: dict[str, Any] = {
        "InferenceComponentName": name,
        "EndpointName": spec.endpoint_name,
    }
    if spec.variant_name is not None:
        request["VariantName"] = spec.variant_name
    request.update(aws_specification(spec))
    if spec.runtime_config is not None:
        request["RuntimeConfig"] = spec.runtime_config.to_aws()
    all_tags = {**spec.tags, **tags}
    if all_tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in all_tags.items()]
    return request


def update_request(
    spec: InferenceComponentSpec, name: str, *, copy_count: int | None
) -> dict[str, Any]:
    """UpdateInferenceComponent keyword arguments: the full specification,
    DeploymentConfig when set, and RuntimeConfig only when ``copy_count`` is given
    (the planner passes None when the copy count is owned externally or unchanged)."""
    request: dict[str, Any] = {"InferenceComponentName": name}
    request.update(aws_specification(spec))
    if copy_count is not None:
        request["RuntimeConfig"] = {"CopyCount": copy_count}
    if spec.deployment_config is not None:
        request["DeploymentConfig"] = spec.deployment_config.to_aws()
    return request


def runtime_config_request(
    spec: InferenceComponentSpec, name: str, copy_count: int
) -> dict[str, Any]:
    """UpdateInferenceComponentRuntimeConfig keyword arguments (the spec is not needed:
    a scale names the component and the count only)."""
    return {"InferenceComponentName": name, "DesiredRuntimeConfig": {"CopyCount": copy_count}}
