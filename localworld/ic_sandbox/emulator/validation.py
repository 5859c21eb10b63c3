"""Server-side validation of a request against the botocore SageMaker model.

botocore validates only required members, types and minimums on the client (reference
§1.4, [PROBE]); the service enforces the rest. This walks the operation's input shape
and reports every violated constraint the way SageMaker's front end does:
``N validation error(s) detected: Value '<v>' at '<path>' failed to satisfy constraint:
Member must …`` joined with ``; `` (obs, reference §3). Paths are lowerCamel member names
joined by dots; list items appear as ``<list>.<1-based index>.member`` (the AWS front-end
convention, inf); map keys and values are reported against the map's own path.

Type mismatches are not constraint violations: AWS JSON services answer them with a
``SerializationException`` (inf), so they are collected separately.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from .errors import ApiError
from .patterns import compile_pattern


@dataclass
class _Findings:
    errors: list[str] = field(default_factory=list)
    type_errors: list[str] = field(default_factory=list)


def lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _render(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"'{str(value).lower()}'"
    if isinstance(value, str | int | float):
        return f"'{value}'"
    return f"'{json.dumps(value, separators=(',', ':'), sort_keys=True)}'"


def _violation(findings: _Findings, value: Any, path: str, constraint: str) -> None:
    findings.errors.append(
        f"Value {_render(value)} at '{path}' failed to satisfy constraint: {constraint}"
    )


def _report(findings: _Findings, value: Any, path: str, constraints: list[str]) -> None:
    for constraint in constraints:
        _violation(findings, value, path, constraint)


def _bounds(shape: Shape, measure: float, noun: str) -> list[str]:
    """The shape's min/max against a length (noun "length") or a number ("value")."""
    out: list[str] = []
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")
    if hi is not None and measure > hi:
        out.append(f"Member must have {noun} less than or equal to {hi}")
    if lo is not None and measure < lo:
        out.append(f"Member must have {noun} greater than or equal to {lo}")
    return out


def _string_constraints(shape: Shape, value: str) -> list[str]:
    out = _bounds(shape, len(value), "length")
    pattern = shape.metadata.get("pattern")
    if pattern is not None and not compile_pattern(pattern).fullmatch(value):
        out.append(f"Member must satisfy regular expression pattern: {pattern}")
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        out.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
    return out


def _is_integer(value: Any) -> bool:
    return isinstance(value, int)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not math.isnan(value)


# Container shapes: the JSON value each needs, and what a type error calls it.
_CONTAINERS: dict[str, tuple[type, str]] = {
    "structure": (dict, "a structure"),
    "list": (list, "a list"),
    "map": (dict, "a map"),
}

# Number shapes: what a type error calls them and which JSON values they accept (never a bool).
_NUMBERS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "integer": ("an integer", _is_integer),
    "long": ("an integer", _is_integer),
    "float": ("a number", _is_number),
    "double": ("a number", _is_number),
}


def _walk(shape: Shape, value: Any, path: str, findings: _Findings) -> None:
    kind = shape.type_name
    where = path or "input"
    if kind in _CONTAINERS:
        python_type, expected = _CONTAINERS[kind]
        if not isinstance(value, python_type):
            findings.type_errors.append(f"Expected {expected} at '{where}'")
            return
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        for req in shape.required_members:
            if value.get(req) is None:
                _violation(findings, None, _join(path, req), "Member must not be null")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                _walk(member, value[name], _join(path, name), findings)
    elif kind == "list":
        assert isinstance(shape, ListShape)
        _report(findings, value, where, _bounds(shape, len(value), "length"))
        for i, item in enumerate(value, start=1):
            if item is None:
                _violation(findings, None, f"{where}.{i}.member", "Member must not be null")
            else:
                _walk(shape.member, item, f"{where}.{i}.member", findings)
    elif kind == "map":
        assert isinstance(shape, MapShape)
        _report(findings, value, where, _bounds(shape, len(value), "length"))
        for key, item in value.items():
            key_problems = _string_constraints(shape.key, key)
            if key_problems:
                _violation(
                    findings,
                    value,
                    where,
                    f"Map keys must satisfy constraint: [{', '.join(key_problems)}]",
                )
            if not isinstance(item, str) and shape.value.type_name == "string":
                findings.type_errors.append(f"Expected a string at '{where}.{key}'")
                continue
            if shape.value.type_name == "string":
                value_problems = _string_constraints(shape.value, item)
                if value_problems:
                    _violation(
                        findings,
                        value,
                        where,
                        f"Map value must satisfy constraint: [{', '.join(value_problems)}]",
                    )
            else:
                _walk(shape.value, item, f"{where}.{key}", findings)
    elif kind == "string":
        if not isinstance(value, str):
            findings.type_errors.append(f"Expected a string at '{where}'")
            return
        _report(findings, value, where, _string_constraints(shape, value))
    elif kind in _NUMBERS:
        expected, accepts = _NUMBERS[kind]
        if isinstance(value, bool) or not accepts(value):
            findings.type_errors.append(f"Expected {expected} at '{where}'")
            return
        _report(findings, value, where, _bounds(shape, value, "value"))
    elif kind == "boolean" and not isinstance(value, bool):
        findings.type_errors.append(f"Expected a boolean at '{where}'")
    elif kind == "timestamp" and (
        isinstance(value, bool) or not isinstance(value, int | float | str)
    ):
        findings.type_errors.append(f"Expected a timestamp at '{where}'")
    # blobs and documents carry no constraints the operations here use


def _join(path: str, member: str) -> str:
    camel = lower_camel(member)
    return f"{path}.{camel}" if path else camel


def validate_request(operation: OperationModel, body: dict[str, Any]) -> None:
    """Raise the error SageMaker would give for `body`, or return if it satisfies the model."""
    shape = operation.input_shape
    if shape is None:
        return
    findings = _Findings()
    _walk(shape, body, "", findings)
    if findings.type_errors:
        raise ApiError("SerializationException", findings.type_errors[0])
    if findings.errors:
        n = len(findings.errors)
        noun = "error" if n == 1 else "errors"
        raise ApiError(
            "ValidationException",
            f"{n} validation {noun} detected: " + "; ".join(findings.errors),
        )
