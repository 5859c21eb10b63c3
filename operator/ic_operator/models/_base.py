"""Base classes shared by the spec and status models.

Three spellings of every field exist: snake_case in Python, lowerCamelCase in
Kubernetes (the alias, used for validation and ``to_k8s``) and PascalCase on
the AWS wire. The wire name is derived from the alias so that a new member
needs one declaration, not three; the botocore walk test proves the derivation
right for every member.

A rule the schema cannot express is a `Rule`, declared once in rules.py and
attached once: to a model's ``rules`` or, as ``Annotated`` metadata, to a field's
type. Either way it becomes both the CRD's ``x-kubernetes-validations`` entry and
the check the operator runs when it parses a spec, with one message for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    JsonValue,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

T = TypeVar("T")

VALIDATIONS = "x-kubernetes-validations"


@dataclass(frozen=True)
class Rule(Generic[T]):
    """One validation rule: the API server's CEL expression, the operator's check and
    the message both report.

    The API server checks ``cel`` at admission; the operator checks ``holds`` again
    when it parses a spec, because a spec can be stored without admission (a CRD
    installed later, an older CRD) and the operator must not send it to AWS. Both
    say ``message``, so ``kubectl apply`` and the Degraded condition read alike.
    """

    cel: str
    message: str
    # Whether the value obeys the rule (the model, or the field named by ``on``).
    # None for transition rules: they compare with the stored object (oldSelf), which
    # only the API server has.
    holds: Callable[[T], bool] | None
    # What the operator can add in parentheses and a CEL message cannot: the value
    # that broke the rule.
    detail: Callable[[T], str] | None = None
    # The field (Python name) whose schema carries the rule and whose value the check
    # receives, for a rule declared in a model's ``rules`` (it then fails at the
    # model's path); None: the model itself.
    on: str | None = None
    # Holds only for CreateInferenceComponent: CEL with optionalOldSelf, and checked
    # by the operator only when it parses with ``creating=True``, after every rule
    # that always holds.
    at_creation: bool = False

    def validation(self) -> dict[str, JsonValue]:
        """The ``x-kubernetes-validations`` entry."""
        entry: dict[str, JsonValue] = {"rule": self.cel, "message": self.message}
        if self.at_creation:
            entry["optionalOldSelf"] = True
        return entry

    def problem(self, value: T) -> str | None:
        """The message when ``value`` breaks the rule, else None."""
        if self.holds is None or self.holds(value):
            return None
        if self.detail is None:
            return self.message
        return f"{self.message} ({self.detail(value)})"

    def enforce(self, value: T) -> T:
        problem = self.problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    # As ``Annotated`` metadata on a field's type, the rule checks the field itself and
    # fails at the field's path.

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.enforce, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema[VALIDATIONS] = [*json_schema.get(VALIDATIONS, []), self.validation()]
        return json_schema


def _add_model_rules(schema: dict[str, Any], model: type[Any]) -> None:
    """json_schema_extra of every K8sModel: its ``rules`` into the schema, in order."""
    for rule in getattr(model, "rules", ()):
        node = schema
        if rule.on is not None:
            field = model.model_fields[rule.on]
            properties = schema["properties"]
            node = properties.get(field.alias or rule.on) or properties[rule.on]
        node[VALIDATIONS] = [*node.get(VALIDATIONS, []), rule.validation()]


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
        json_schema_extra=_add_model_rules,
    )

    # The model's rules, in the order the API server reports them.
    rules: ClassVar[tuple[Rule[Any], ...]] = ()

    @model_validator(mode="after")
    def _keep_rules(self, info: ValidationInfo) -> Self:
        """The first broken rule fails the model, as a validator raising it would:
        those that always hold first, then (when creating) those that hold at creation."""
        if type(self).rules:
            problem = self.broken_rule(at_creation=False)
            if problem is None and info.context and info.context.get("creating"):
                problem = self.broken_rule(at_creation=True)
            if problem is not None:
                raise ValueError(problem)
        return self

    def broken_rule(self, *, at_creation: bool) -> str | None:
        """The message of the first broken rule among those that always hold, or among
        those that hold only at creation; None when all hold. A rule on an unset field
        does not apply (CEL does not run it)."""
        for rule in type(self).rules:
            if rule.at_creation != at_creation:
                continue
            value = self if rule.on is None else getattr(self, rule.on)
            problem = None if value is None else rule.problem(value)
            if problem is not None:
                return problem
        return None

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
