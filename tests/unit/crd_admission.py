"""A small stand-in for the API server's CRD admission, for unit tests.

It applies the generated openAPIV3Schema the way kube-apiserver does for the
parts our CRD uses: defaults, types, bounds, patterns (RE2), enums, required,
unknown fields (as `kubectl --validate=strict` reports them) and the CEL
rules (evaluated with cel-python on RE2, with `number` fields as doubles, and
transition rules only on update). It lets the unit tests prove that every
CEL rule accepts the examples and rejects the invalid corpus without starting
an API server; tests against the real one live with the control plane.

Its messages are worded as kube-apiserver v1.37.1 words them (minus the leading
'The InferenceComponent "x" is invalid: '). tests/controlplane/test_invalid.py
sends every case of invalid_specs.yaml to a real v1.37.1 API server with
`kubectl create --dry-run=server` and finds exactly these messages; the transition
rules (immutability, copyCount at creation) and the metadata.name rule were
checked the same way by hand.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import celpy
import re2
from celpy import celtypes

Schema = dict[str, Any]

_ENV = celpy.Environment()
_PROGRAMS: dict[str, Any] = {}


def _lower_ascii(value: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType(value.lower())


def _has_value(value: Any) -> celtypes.BoolType:
    return celtypes.BoolType(value is not None and not isinstance(value, _Absent))


class _Absent(celtypes.MapType):
    """oldSelf when there is none (creation) for rules with optionalOldSelf."""


FUNCTIONS = {"lowerAscii": _lower_ascii, "hasValue": _has_value}


def _program(rule: str) -> Any:
    if rule not in _PROGRAMS:
        _PROGRAMS[rule] = _ENV.program(_ENV.compile(rule), functions=FUNCTIONS)
    return _PROGRAMS[rule]


def to_cel(value: Any, schema: Schema) -> Any:
    """JSON -> CEL value typed by the schema, as the API server converts it."""
    kind = schema["type"]
    if kind == "object" and "properties" not in schema and "additionalProperties" not in schema:
        return celpy.json_to_cel(value)  # metadata: free-form here, typed by the server
    if kind == "object":
        props = schema.get("properties")
        return celtypes.MapType(
            {
                celtypes.StringType(k): to_cel(
                    v, props[k] if props is not None else schema["additionalProperties"]
                )
                for k, v in value.items()
            }
        )
    if kind == "array":
        return celtypes.ListType([to_cel(v, schema["items"]) for v in value])
    if kind == "string":
        return celtypes.StringType(value)
    if kind == "integer":
        return celtypes.IntType(value)
    if kind == "number":
        return celtypes.DoubleType(float(value))
    if kind == "boolean":
        return celtypes.BoolType(value)
    raise AssertionError(f"unexpected type {kind}")


def apply_defaults(value: Any, schema: Schema) -> Any:
    value = copy.deepcopy(value)
    _default(value, schema)
    return value


def _default(value: Any, schema: Schema) -> None:
    if schema["type"] == "object" and isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                _default(value[name], sub)
        if "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
            for v in value.values():
                _default(v, schema["additionalProperties"])
    elif schema["type"] == "array" and isinstance(value, list):
        for v in value:
            _default(v, schema["items"])


def _type_ok(value: Any, kind: str) -> bool:
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
    }[kind]


# Error kinds after which the API server does not run CEL rules (apiextensions-apiserver
# strategy.go, hasBlockingErr): enum, required, too long, too many, wrong type.
BLOCKING = frozenset({"NotSupported", "Required", "TooLong", "TooMany", "TypeInvalid"})
NOT_CHECKED = (
    "<nil>: Invalid value: null: some validation rules were not checked because the object "
    "was invalid; correct the existing errors to complete validation"
)


def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def schema_errors(value: Any, schema: Schema, path: str) -> Iterator[tuple[str, str]]:
    """(kind, message) pairs, worded as kube-apiserver words them."""
    kind = schema["type"]
    if not _type_ok(value, kind):
        yield "TypeInvalid", f"{path}: Invalid value: {_q(value)}: must be of type {kind}"
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(f'"{v}"' for v in schema["enum"])
        yield "NotSupported", f"{path}: Unsupported value: {_q(value)}: supported values: {allowed}"
    if kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            yield (
                "Invalid",
                (
                    f"{path}: Invalid value: {_q(value)}: {path} in body should be greater than "
                    f"or equal to {schema['minimum']}"
                ),
            )
        if "maximum" in schema and value > schema["maximum"]:
            yield (
                "Invalid",
                (
                    f"{path}: Invalid value: {_q(value)}: {path} in body should be less than or "
                    f"equal to {schema['maximum']}"
                ),
            )
    if kind == "string":
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            yield "TooLong", f"{path}: Too long: may not be more than {schema['maxLength']} bytes"
        elif "minLength" in schema and len(value) < schema["minLength"]:
            yield (
                "Invalid",
                (
                    f"{path}: Invalid value: {_q(value)}: {path} in body should be at least "
                    f"{schema['minLength']} chars long"
                ),
            )
        elif "pattern" in schema and re2.search(schema["pattern"], value) is None:
            yield (
                "Invalid",
                (
                    f"{path}: Invalid value: {_q(value)}: {path} in body should match "
                    f"'{schema['pattern']}'"
                ),
            )
    if kind == "array":
        if "minItems" in schema and len(value) < schema["minItems"]:
            yield (
                "Invalid",
                (
                    f"{path}: Invalid value: {len(value)}: {path} in body should have at least "
                    f"{schema['minItems']} items"
                ),
            )
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            yield "TooMany", _too_many(path, len(value), schema["maxItems"])
        for i, item in enumerate(value):
            yield from schema_errors(item, schema["items"], f"{path}[{i}]")
    if kind == "object":
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            yield "TooMany", _too_many(path, len(value), schema["maxProperties"])
        for name in schema.get("required", []):
            if name not in value:
                yield "Required", f"{path}.{name}: Required value"
        props = schema.get("properties")
        for name, item in value.items():
            if props is not None:
                if name not in props:
                    yield "Unknown", f'unknown field "{f"{path}.{name}".lstrip(".")}"'
                else:
                    yield from schema_errors(item, props[name], f"{path}.{name}")
            elif "additionalProperties" in schema:
                yield from schema_errors(item, schema["additionalProperties"], f"{path}.{name}")


def _too_many(path: str, count: int, limit: int) -> str:
    return f"{path}: Too many: {count}: must have at most {limit} item{'s' if limit != 1 else ''}"


def cel_errors(value: Any, old: Any, schema: Schema, path: str, *, creating: bool) -> Iterator[str]:
    for rule in schema.get("x-kubernetes-validations", []):
        expr = rule["rule"]
        transition = "oldSelf" in expr
        if transition and old is None and not rule.get("optionalOldSelf"):
            continue  # transition rules run only when there is an old value
        activation: dict[str, Any] = {"self": to_cel(value, schema)}
        if transition:
            activation["oldSelf"] = _Absent() if old is None else to_cel(old, schema)
        result = _program(expr).evaluate(activation)
        if isinstance(result, celpy.CELEvalError):
            yield f"{path}: CEL error in {expr!r}: {result}"
        elif not result:
            shown = "" if schema["type"] in ("object", "array") else f" {_q(value)}:"
            yield f"{path}: Invalid value:{shown} {rule['message']}"
    kind = schema["type"]
    if kind == "object" and "properties" in schema:
        for name, sub in schema["properties"].items():
            if name in value:
                sub_old = old.get(name) if isinstance(old, dict) else None
                yield from cel_errors(
                    value[name], sub_old, sub, f"{path}.{name}", creating=creating
                )
    elif kind == "object" and "additionalProperties" in schema:
        for key, item in value.items():
            sub_old = old.get(key) if isinstance(old, dict) else None
            yield from cel_errors(
                item, sub_old, schema["additionalProperties"], f"{path}.{key}", creating=creating
            )
    elif kind == "array":
        # Old items are correlated only for list-maps and sets; ours are atomic lists.
        for i, item in enumerate(value):
            yield from cel_errors(item, None, schema["items"], f"{path}[{i}]", creating=creating)


def admit(obj: dict[str, Any], schema: Schema, old: dict[str, Any] | None = None) -> list[str]:
    """Admission errors for creating (old None) or updating ``obj``; [] when admitted.

    Unknown fields fail first (strict decoding), then the schema; CEL rules run unless
    a blocking schema error was found, as in kube-apiserver.
    """
    obj = apply_defaults(obj, schema)
    found = [
        (kind, msg.replace(": .", ": ").lstrip(".")) for kind, msg in schema_errors(obj, schema, "")
    ]
    unknown = [msg for kind, msg in found if kind == "Unknown"]
    if unknown:
        return unknown
    errors = [msg for _, msg in found]
    if any(kind in BLOCKING for kind, _ in found):
        return [*errors, NOT_CHECKED]
    old_obj = apply_defaults(old, schema) if old is not None else None
    cel = cel_errors(obj, old_obj, schema, "", creating=old is None)
    return [*errors, *(e.lstrip(".: ") for e in cel)]
