"""Base classes shared by the spec and status models.

Three spellings of every field exist: snake_case in Python, lowerCamelCase in
Kubernetes (the alias, used for validation and ``to_k8s``) and PascalCase on
the AWS wire. The wire name is derived from the alias so that a new member
needs one declaration, not three; the botocore walk test proves the derivation
right for every member.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


def _pascal(camel: str) -> str:
    return camel[:1].upper() + camel[1:]


def _wire(value: Any) -> Any:
    if isinstance(value, WireModel):
        return value.to_aws()
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, dict):
        # Maps (Environment) are user data: keys go out exactly as written.
        return dict(value)
    return value


class K8sModel(BaseModel):
    """Kubernetes-facing model: camelCase in and out, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
    )

    def to_k8s(self) -> dict[str, Any]:
        """The camelCase dict Kubernetes stores, with unset (None) members left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class WireModel(K8sModel):
    """A spec model that also has an AWS request form."""

    # Fields that exist only for the operator and never go on the wire.
    operator_only: ClassVar[frozenset[str]] = frozenset()

    def to_aws(self) -> dict[str, Any]:
        """The PascalCase AWS form: None members omitted, map keys untouched."""
        out: dict[str, Any] = {}
        for name, field in type(self).model_fields.items():
            if name in self.operator_only:
                continue
            value = getattr(self, name)
            if value is None:
                continue
            out[_pascal(field.alias or to_camel(name))] = _wire(value)
        return out


class LenientModel(K8sModel):
    """A status model: unknown keys are ignored, because a status outlives operator
    versions and a newer operator must read what an older one wrote."""

    model_config = ConfigDict(extra="ignore")
