"""A corpus of invalid specs (invalid_specs.yaml), each with the exact error a user
sees from the operator and from the API server at admission."""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from ic_operator.models import InferenceComponentSpec, validation_message
from tests.unit.crd_admission import admit
from tests.unit.test_crd import example_docs, schema

CORPUS = yaml.safe_load((pathlib.Path(__file__).parent / "invalid_specs.yaml").read_text())


def _walk(spec: dict[str, Any], dotted: str) -> tuple[Any, str | int]:
    *parents, last = dotted.split(".")
    node: Any = spec
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, int(last) if isinstance(node, list) else last


def build(case: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(dict(example_docs())[case["base"]])
    for dotted, value in case.get("set", {}).items():
        node, key = _walk(doc["spec"], dotted)
        node[key] = copy.deepcopy(value)
    for dotted in case.get("unset", []):
        node, key = _walk(doc["spec"], dotted)
        del node[key]
    return doc  # type: ignore[no-any-return]


def model_error(doc: dict[str, Any]) -> str | None:
    try:
        InferenceComponentSpec.parse(doc["spec"], creating=True)
    except ValidationError as err:
        return validation_message(err)
    return None


def test_corpus_names_are_unique() -> None:
    names = [c["name"] for c in CORPUS]
    assert len(names) == len(set(names))
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_operator_reports_the_error(case: dict[str, Any]) -> None:
    assert model_error(build(case)) == case["model"]


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_api_server_rejects_at_admission(case: dict[str, Any]) -> None:
    assert admit(build(case), schema()) == case["admission"]
