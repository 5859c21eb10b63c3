"""The generated CRD: identical to crds/, structural, faithful to the models, and
its CEL rules accept the examples and reject what they are meant to reject."""

from __future__ import annotations

import argparse
import copy
import functools
import pathlib
from typing import Any

import pytest
import yaml

from ic_operator.crd import generate
from ic_operator.crd import schema as crd
from ic_operator.crd.reference import resource_reference
from ic_operator.models import InferenceComponentSpec, InferenceComponentStatus, rules
from ic_operator.models._base import Rule
from tests.unit.crd_admission import admit, apply_defaults

ROOT = pathlib.Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "sagemaker.ic-operator.io_inferencecomponents.yaml"
DOCS_FILE = ROOT / "docs" / "resource.md"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@functools.cache
def _built_schema() -> dict[str, Any]:
    return crd.build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def schema() -> dict[str, Any]:
    """The CRD's schema, a copy per call. Built once: pydantic's JSON schema generation took
    0.2 s a call, two thirds of each generated spec in test_conversion."""
    return copy.deepcopy(_built_schema())


@functools.cache
def _parsed_examples() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}:{doc['metadata']['name']}", doc)
        for path in EXAMPLES
        for doc in yaml.safe_load_all(path.read_text())
    ]


def example_docs() -> list[tuple[str, dict[str, Any]]]:
    """Every document of examples/, a copy per call. Parsed once: the pure-Python YAML
    parser took 30 ms a call, and the invalid-spec corpus builds each case from them."""
    return copy.deepcopy(_parsed_examples())


def test_crds_dir_holds_the_generated_crd() -> None:
    assert CRD_FILE.read_text() == crd.render(), "crds/ is stale: run 'make crd'"


def test_docs_hold_the_generated_reference() -> None:
    assert DOCS_FILE.read_text() == resource_reference(), "docs/ stale: run 'make crd'"


def test_render_is_deterministic_and_plain_yaml() -> None:
    text = crd.render()
    assert text == crd.render()
    assert "&id" not in text and "*id" not in text  # no YAML anchors
    assert yaml.safe_load(text.split("---\n", 1)[1]) == crd.build_crd()


def test_every_node_is_structural_with_type_and_description() -> None:
    problems = []
    for path, node in crd.walk(schema()):
        if "type" not in node:
            problems.append(f"{path}: no type")
        if not node.get("description") and path != ".metadata":
            problems.append(f"{path}: no description")
        bad = crd.FORBIDDEN_KEYWORDS & node.keys()
        if bad:
            problems.append(f"{path}: forbidden keywords {sorted(bad)}")
        if node.get("additionalProperties") is False:
            problems.append(f"{path}: additionalProperties: false")
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{path}: both properties and additionalProperties")
        for rule in node.get("x-kubernetes-validations", []):
            if set(rule) - {"rule", "message", "optionalOldSelf"}:
                problems.append(f"{path}: unexpected keys in {rule}")
            if not rule.get("message"):
                problems.append(f"{path}: CEL rule without a message: {rule['rule']}")
    assert problems == []


def test_crd_metadata() -> None:
    doc = crd.build_crd()
    spec = doc["spec"]
    assert doc["metadata"]["name"] == "inferencecomponents.sagemaker.ic-operator.io"
    assert spec["group"] == "sagemaker.ic-operator.io"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["shortNames"] == ["smic"]
    assert spec["names"]["categories"] == ["sagemaker"]
    (version,) = spec["versions"]
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    assert list(columns) == [
        "Endpoint",
        "Status",
        "Copies",
        "Scaling",
        "Ready",
        "Reason",
        "Pending",
        "Account",
        "Min-Max",
        "Last-Scaling",
        "Age",
    ]
    assert columns["Scaling"]["jsonPath"] == ".status.autoScaling.state"
    assert "priority" not in columns["Scaling"]
    assert columns["Ready"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["Reason"]["priority"] == 1
    assert columns["Pending"] == {**columns["Pending"], "jsonPath": ".status.pendingPlan.summary"}
    assert columns["Pending"]["priority"] == 1
    assert columns["Account"] == {**columns["Account"], "jsonPath": ".status.account.accountId"}
    assert columns["Account"]["priority"] == 1
    conditions = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"][
        "conditions"
    ]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert "type" in conditions["items"]["required"]


CONSTRAINTS = (
    "type",
    "enum",
    "default",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "maxProperties",
    "required",
)


@pytest.mark.parametrize("model", [InferenceComponentSpec, InferenceComponentStatus])
def test_crd_keeps_every_constraint_of_the_models(model: type[Any]) -> None:
    """The structural conversion may move map-key rules into CEL, nothing else."""
    name = "spec" if model is InferenceComponentSpec else "status"
    ours = schema()["properties"][name]
    problems: list[str] = []

    def compare(src: dict[str, Any], dst: dict[str, Any], path: str) -> None:
        src = dict(src)
        if "const" in src:
            src["enum"] = [src.pop("const")]
        for key in CONSTRAINTS:
            if src.get(key) != dst.get(key):
                problems.append(f"{path}.{key}: model {src.get(key)!r} crd {dst.get(key)!r}")
        for prop, sub in src.get("properties", {}).items():
            compare(sub, dst["properties"][prop], f"{path}.{prop}")
        if "items" in src:
            compare(src["items"], dst["items"], f"{path}[]")
        value = src.get("additionalProperties") or next(
            iter(src.get("patternProperties", {}).values()), None
        )
        if isinstance(value, dict):
            compare(value, dst["additionalProperties"], f"{path}[*]")
        if "patternProperties" in src or "propertyNames" in src:
            (pattern,) = src.get("patternProperties", {None: None})
            rules = [r["rule"] for r in dst.get("x-kubernetes-validations", [])]
            lengths = src.get("propertyNames", {})
            if pattern is not None and not any(f"k.matches(r'{pattern}')" in r for r in rules):
                problems.append(f"{path}: key pattern {pattern} has no CEL rule")
            if "maxLength" in lengths and not any(
                f"size(k) <= {lengths['maxLength']}" in r for r in rules
            ):
                problems.append(f"{path}: key maxLength has no CEL rule")

    compare(crd.inline_schema(model), ours, name)
    assert problems == []


@pytest.mark.parametrize("name,doc", example_docs(), ids=[n for n, _ in example_docs()])
def test_examples_are_admitted_and_parse(name: str, doc: dict[str, Any]) -> None:
    assert admit(doc, schema()) == []
    spec = InferenceComponentSpec.parse(doc["spec"], creating=True)
    assert spec.creation_problems() == []


@pytest.mark.parametrize("name,doc", example_docs(), ids=[n for n, _ in example_docs()])
def test_examples_can_be_updated_to_themselves(name: str, doc: dict[str, Any]) -> None:
    assert admit(doc, schema(), old=doc) == []


def basic() -> dict[str, Any]:
    return copy.deepcopy(dict(example_docs())["basic.yaml:llama3-8b"])


@pytest.mark.parametrize(
    "field,new,message",
    [
        ("endpointName", "other-endpoint", "endpointName is immutable"),
        ("variantName", "Blue", "variantName is immutable"),
        ("inferenceComponentName", "renamed", "inferenceComponentName is immutable"),
    ],
)
def test_identity_fields_are_immutable(field: str, new: str, message: str) -> None:
    old = basic()
    changed = copy.deepcopy(old)
    changed["spec"][field] = new
    assert admit(changed, schema(), old=old) == [f"spec: Invalid value: {message}"]


REGION_IMMUTABLE = (
    "spec: Invalid value: region is immutable once set: a component stays in the region it "
    "was created in (re-create it to move it)"
)


def test_region_once_set_can_neither_change_nor_go() -> None:
    old = basic()
    old["spec"]["region"] = "eu-west-1"
    moved = copy.deepcopy(old)
    moved["spec"]["region"] = "us-east-1"
    assert admit(moved, schema(), old=old) == [REGION_IMMUTABLE]
    gone = copy.deepcopy(old)
    del gone["spec"]["region"]
    assert admit(gone, schema(), old=old) == [REGION_IMMUTABLE]
    assert admit(old, schema(), old=old) == []


def test_region_may_be_set_where_it_was_unset() -> None:
    """Naming the region it already lives in is no move; naming another is refused at
    reconcile (AccountChanged/RegionNotAllowed), which knows where it was created."""
    old = basic()
    old["spec"].pop("region", None)
    named = copy.deepcopy(old)
    named["spec"]["region"] = "us-east-1"
    assert admit(named, schema(), old=old) == []


def by_ref(name: str = "llm-endpoint", namespace: str | None = None) -> dict[str, Any]:
    doc = basic()
    del doc["spec"]["endpointName"]
    doc["spec"]["endpointRef"] = {"name": name} | ({"namespace": namespace} if namespace else {})
    return doc


def test_endpoint_ref_is_admitted_and_can_be_updated_to_itself() -> None:
    doc = by_ref(namespace="ml-platform")
    assert admit(doc, schema()) == []
    assert admit(doc, schema(), old=doc) == []


@pytest.mark.parametrize(
    "old,new,messages",
    [
        (by_ref(), by_ref("other-endpoint"), ["endpointRef is immutable"]),
        (by_ref(), by_ref(namespace="ml-platform"), ["endpointRef is immutable"]),
        (by_ref(), basic(), ["endpointName is immutable", "endpointRef is immutable"]),
        (basic(), by_ref(), ["endpointName is immutable", "endpointRef is immutable"]),
    ],
    ids=["other-name", "other-namespace", "ref-to-name", "name-to-ref"],
)
def test_endpoint_ref_cannot_change_or_swap_with_endpoint_name(
    old: dict[str, Any], new: dict[str, Any], messages: list[str]
) -> None:
    assert admit(new, schema(), old=old) == [f"spec: Invalid value: {m}" for m in messages]


def test_variant_name_cannot_be_removed() -> None:
    old = basic()
    changed = copy.deepcopy(old)
    del changed["spec"]["variantName"]
    errors = admit(changed, schema(), old=old)
    assert errors == [
        "spec: Invalid value: variantName is required (only an adapter, with "
        "baseInferenceComponentName, omits it)",
        "spec: Invalid value: variantName is immutable",
    ]


def test_copy_count_zero_rejected_at_creation_only() -> None:
    zero = basic()
    zero["spec"]["runtimeConfig"]["copyCount"] = 0
    assert admit(zero, schema()) == [
        "spec: Invalid value: runtimeConfig.copyCount must be at least 1 when the component "
        "is created"
    ]
    assert admit(zero, schema(), old=basic()) == []


def test_metadata_name_must_be_a_sagemaker_name_unless_overridden() -> None:
    dotted = basic()
    dotted["metadata"]["name"] = "llama3.8b"
    (error,) = admit(dotted, schema())
    assert error.startswith(
        "Invalid value: metadata.name is not a valid SageMaker inference component name"
    )
    dotted["spec"]["inferenceComponentName"] = "llama3-8b"
    assert admit(dotted, schema()) == []


def test_defaults_are_applied() -> None:
    obj = apply_defaults(basic(), schema())
    assert obj["spec"]["deletionPolicy"] == "Delete"
    assert obj["spec"]["adoptionPolicy"] == "Never"
    assert obj["spec"]["runtimeConfig"]["copyCountOwner"] == "Operator"


def test_every_rule_is_attached() -> None:
    """A rule declared in rules.py but attached to no model would be checked by
    neither the API server nor the operator."""
    declared = [rule for rule in vars(rules).values() if isinstance(rule, Rule)]
    in_crd = {
        (entry["rule"], entry["message"])
        for _, node in crd.walk(schema())
        for entry in node.get("x-kubernetes-validations", [])
    }
    assert [r.message for r in declared if (r.cel, r.message) not in in_crd] == []


def test_ic_operator_crd_prints_what_crds_holds(capsys: pytest.CaptureFixture[str]) -> None:
    """`ic-operator crd | kubectl apply -f -` installs what `kubectl apply -f crds/` does."""
    parser = argparse.ArgumentParser()
    generate.add_arguments(parser)
    assert generate.run(parser.parse_args([])) == 0
    files = sorted(CRD_FILE.parent.glob("*.yaml"))
    assert len(files) == 2
    assert capsys.readouterr().out == "".join(f.read_text() for f in files)
