"""The CustomResourceDefinition, generated from the models.

The pydantic models are the single source of truth; this module turns their
JSON schema into a Kubernetes *structural* schema (no $ref, no anyOf, a type
and a description on every node, maps as additionalProperties, map-key rules
as CEL) and wraps it in the CRD with the status subresource and printer
columns. `crds/` holds the output and `make crd-check` keeps it equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from ic_operator.models import InferenceComponentSpec, InferenceComponentStatus
from ic_operator.models.rules import COMPONENT_NAME
from ic_operator.names import API_GROUP, API_VERSION, KIND, PLURAL

Schema = dict[str, Any]

SHORT_NAME = "smic"
CATEGORIES = ["sagemaker"]
CRD_NAME = f"{PLURAL}.{API_GROUP}"

# Keywords a structural schema may not carry; the converter removes or rewrites them all.
FORBIDDEN_KEYWORDS = frozenset(
    {
        "$ref",
        "$defs",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
        "const",
        "title",
        "patternProperties",
        "propertyNames",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "discriminator",
    }
)

ROOT_DESCRIPTION = (
    "An Amazon SageMaker inference component, kept equal to this spec by sagemaker-ic-operator."
)

PRINTER_COLUMNS: list[Schema] = [
    {
        "name": "Endpoint",
        "type": "string",
        "jsonPath": ".spec.endpointName",
        "description": "SageMaker endpoint that hosts the component",
    },
    {
        "name": "Status",
        "type": "string",
        "jsonPath": ".status.inferenceComponentStatus",
        "description": "SageMaker status of the component",
    },
    {
        "name": "Copies",
        "type": "string",
        "jsonPath": ".status.copies",
        "description": "Current/desired copy count",
    },
    {
        "name": "Scaling",
        "type": "string",
        "jsonPath": ".status.autoScaling.state",
        "description": "What the autoscaler is doing: Steady, Scaling or AtZero (spec.autoScaling)",
    },
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
        "description": "SageMaker matches the spec",
    },
    {
        "name": "Reason",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].reason',
        "description": "Why the component is or is not ready",
        "priority": 1,
    },
    {
        "name": "Pending",
        "type": "string",
        "jsonPath": ".status.pendingPlan.summary",
        "description": "While suspended: the calls resuming will make",
        "priority": 1,
    },
    {
        "name": "Account",
        "type": "string",
        "jsonPath": ".status.account.accountId",
        "description": "The AWS account the component lives in (docs/accounts.md)",
        "priority": 1,
    },
    {
        "name": "Min-Max",
        "type": "string",
        "jsonPath": ".status.autoScaling.range",
        "description": "The autoscaler's copy range as registered",
        "priority": 1,
    },
    {
        "name": "Last-Scaling",
        "type": "string",
        "jsonPath": ".status.autoScaling.lastActivity.description",
        "description": "The latest scaling activity",
        "priority": 1,
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]

# metadata.name becomes the SageMaker name unless spec.inferenceComponentName is set:
# the one rule on the resource's root, where CEL sees both.
NAME_RULE: Schema = COMPONENT_NAME.validation()


class SchemaError(ValueError):
    """The models produce a schema that cannot become a structural CRD schema."""


def _resolve(node: Schema, defs: dict[str, Schema]) -> Schema:
    """Inline $ref and collapse Optional (anyOf [X, null]) into X; the node's own
    keys (the field's description, default, CEL rules) win over the target's."""
    node = dict(node)
    if "anyOf" in node:
        branches = [b for b in node.pop("anyOf") if b.get("type") != "null"]
        if len(branches) != 1:
            raise SchemaError(f"unions are not structural: {branches}")
        if node.get("default", 0) is None:
            del node["default"]
        node = _merge(_resolve(branches[0], defs), node)
    if "$ref" in node:
        target = defs[node.pop("$ref").removeprefix("#/$defs/")]
        node = _merge(_resolve(target, defs), node)
    return node


def _merge(base: Schema, override: Schema) -> Schema:
    out = dict(base)
    for key, value in override.items():
        if key == "x-kubernetes-validations":
            out[key] = [*out.get(key, []), *value]
        else:
            out[key] = value
    return out


def _key_rule(pattern: str | None, names: Schema) -> Schema:
    """A CEL rule for map keys: structural schemas cannot constrain them otherwise."""
    checks = []
    if "minLength" in names:
        checks.append(f"size(k) >= {names['minLength']}")
    if "maxLength" in names:
        checks.append(f"size(k) <= {names['maxLength']}")
    if pattern is not None:
        # A raw CEL string: the regex's backslashes are not CEL escapes.
        checks.append(f"k.matches(r'{pattern}')")
    low, high = names.get("minLength"), names.get("maxLength")
    length = (
        f"{low}-{high} characters long"
        if low is not None and high is not None
        else f"at most {high} characters long"
        if high is not None
        else f"at least {low} characters long"
        if low is not None
        else ""
    )
    parts = [f"match {pattern}" if pattern else "", f"be {length}" if length else ""]
    message = "keys must " + " and ".join(p for p in parts if p)
    return {"rule": f"self.all(k, {' && '.join(checks)})", "message": message}


def _structural(node: Schema, defs: dict[str, Schema], path: str, *, cel: bool) -> Schema:
    node = _resolve(node, defs)
    node.pop("title", None)
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if not cel:
        node.pop("x-kubernetes-validations", None)
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        if key in node:
            raise SchemaError(f"{path}: use ge/le, not gt/lt ({key} is boolean in Kubernetes)")

    kind = node.get("type")
    if kind == "object" and "properties" in node:
        node.pop("additionalProperties", None)  # unknown fields are pruned or rejected anyway
        node["properties"] = {
            name: _structural(sub, defs, f"{path}.{name}", cel=cel)
            for name, sub in node["properties"].items()
        }
    elif kind == "object":
        value: Schema | None = node.pop("additionalProperties", None)
        patterns: dict[str, Schema] = node.pop("patternProperties", {})
        names: Schema = node.pop("propertyNames", {})
        if len(patterns) > 1 or (patterns and value is not None):
            raise SchemaError(f"{path}: one value schema per map")
        pattern = next(iter(patterns), None)
        value = patterns[pattern] if pattern is not None else value
        if value is None:
            raise SchemaError(f"{path}: an object needs properties or a value schema")
        value = dict(value)
        value.setdefault("description", f"A value of {path.rsplit('.', 1)[-1]}.")
        node["additionalProperties"] = _structural(value, defs, f"{path}[*]", cel=cel)
        if (pattern is not None or names) and cel:
            node["x-kubernetes-validations"] = [
                _key_rule(pattern, names),
                *node.get("x-kubernetes-validations", []),
            ]
    elif kind == "array":
        items = dict(node["items"])
        node["items"] = _structural(items, defs, f"{path}[*]", cel=cel)
    if "type" not in node:
        raise SchemaError(f"{path}: no type")
    if not node.get("description"):
        raise SchemaError(f"{path}: no description (give the field a Field(description=...))")
    return _ordered(node)


_ORDER = (
    "description",
    "type",
    "format",
    "enum",
    "default",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "required",
    "properties",
    "additionalProperties",
    "items",
)


def _ordered(node: Schema) -> Schema:
    """Fixed key order: diffs of the generated YAML stay readable."""
    out = {key: node[key] for key in _ORDER if key in node}
    out.update({key: node[key] for key in sorted(node) if key not in out})
    return out


def inline_schema(model: type[Any]) -> Schema:
    """The model's JSON schema with $refs inlined and Optional collapsed, but otherwise
    as pydantic states it (map-key constraints still as patternProperties and
    propertyNames): what the botocore walk test compares with the service model."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})

    def inline(node: Schema) -> Schema:
        node = _resolve(node, defs)
        for key in ("properties", "patternProperties"):
            if key in node:
                node[key] = {name: inline(sub) for name, sub in node[key].items()}
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                node[key] = inline(node[key])
        return node

    return inline(raw)


def structural_schema(model: type[Any], *, cel: bool = True) -> Schema:
    """The structural schema of a pydantic model (camelCase names, CEL rules kept)."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    return _structural(raw, defs, model.__name__, cel=cel)


def root_schema(
    description: str, kind: str, spec: type[Any], status: type[Any], **extra: Any
) -> Schema:
    """A resource's openAPIV3Schema: the spec with its rules, the status without (only
    the operator writes it, and CEL on it would cost every status patch)."""
    return {
        "description": description,
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "description": f"Versioned schema of this object: {API_GROUP}/{API_VERSION}.",
                "type": "string",
            },
            "kind": {"description": f"{kind}.", "type": "string"},
            # The API server allows nothing but the type here (not even a description).
            "metadata": {"type": "object"},
            "spec": structural_schema(spec),
            "status": structural_schema(status, cel=False),
        },
        **extra,
    }


def openapi_schema() -> Schema:
    """The InferenceComponent CRD's openAPIV3Schema (the name rule on its root)."""
    return root_schema(
        ROOT_DESCRIPTION,
        KIND,
        InferenceComponentSpec,
        InferenceComponentStatus,
        **{"x-kubernetes-validations": [NAME_RULE]},
    )


def wrap_crd(
    kind: str,
    plural: str,
    short_name: str,
    *,
    scope: str,
    columns: list[Schema],
    schema: Schema,
) -> Schema:
    """The CustomResourceDefinition of one kind in our group, one served version."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{API_GROUP}"},
        "spec": {
            "group": API_GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": [short_name],
                "categories": CATEGORIES,
            },
            "scope": scope,
            "versions": [
                {
                    "name": API_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def build_crd() -> Schema:
    return wrap_crd(
        KIND,
        PLURAL,
        SHORT_NAME,
        scope="Namespaced",
        columns=PRINTER_COLUMNS,
        schema=openapi_schema(),
    )


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors/aliases (the enum of instance types appears twice)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def render(crd: Schema | None = None) -> str:
    """The CRD as the checked-in YAML: by default the InferenceComponent's."""
    header = "# Generated by `ic-operator crd` from ic_operator.models; do not edit.\n"
    body = yaml.dump(crd or build_crd(), Dumper=_Dumper, sort_keys=False, width=100)
    return header + "---\n" + body


def walk(node: Schema, path: str = "") -> Iterator[tuple[str, Schema]]:
    """Every schema node with its path; tests use it to check structural rules."""
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from walk(sub, f"{path}.{name}")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}[*]")
    if "items" in node:
        yield from walk(node["items"], f"{path}[]")
