"""crds/ and examples/ against the real API server: schema, explain, subresources, generation."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ic_operator.models.autoscaling_status import auto_scaling_status
from ic_sandbox.harness.crds import install_crds
from tests.controlplane.crds import (
    CRD_FILES,
    EXAMPLE_FILES,
    PLURAL,
    REPO,
    crd_documents,
    documents,
    get,
    storage_schema,
)
from tests.controlplane.manifests import valid_manifest
from tests.fixtures.controlplane import Kubectl
from tests.fixtures.emulator import wait_for

pytestmark = pytest.mark.controlplane


@pytest.fixture(scope="module")
def crds(kubectl: Kubectl) -> list[dict[str, Any]]:
    return install_crds(kubectl)


def _words(text: str) -> str:
    return " ".join(text.split())


def test_crds_and_examples_exist() -> None:
    assert CRD_FILES, f"no *.yaml in {REPO / 'crds'}"
    assert EXAMPLE_FILES, f"no *.yaml in {REPO / 'examples'}"


@pytest.mark.parametrize("crd_name", [c["metadata"]["name"] for c in crd_documents()])
def test_crd_is_established(crds: list[dict[str, Any]], kubectl: Kubectl, crd_name: str) -> None:
    got = json.loads(kubectl("get", "crd", crd_name, "-o", "json").stdout)
    conditions = {c["type"]: c["status"] for c in got["status"]["conditions"]}
    assert conditions.get("Established") == "True", conditions
    assert conditions.get("NamesAccepted") == "True", conditions
    assert conditions.get("NonStructuralSchema") is None, conditions


def _explain(kubectl: Kubectl, path: str) -> str:
    """kubectl explain, polled: the CRD's OpenAPI is published a moment after Established."""

    def explained() -> str | None:
        run = kubectl("explain", path, check=False)
        return run.stdout if run.returncode == 0 else None

    return wait_for(explained, timeout=60, interval=0.1, what=f"kubectl explain {path}")


def _spec_schema(crds: list[dict[str, Any]]) -> dict[str, Any]:
    crd = next(c for c in crds if c["spec"]["names"]["plural"] == "inferencecomponents")
    spec: dict[str, Any] = storage_schema(crd)["properties"]["spec"]
    return spec


def test_explain_shows_deployment_config_descriptions(
    crds: list[dict[str, Any]], kubectl: Kubectl
) -> None:
    schema = _spec_schema(crds)["properties"]["deploymentConfig"]
    out = _explain(kubectl, "smic.spec.deploymentConfig")
    assert "KIND:       InferenceComponent" in out
    assert _words(schema["description"]) in _words(out)
    for name, child in schema["properties"].items():
        assert re.search(rf"^\s+{name}\s", out, re.M), f"{name} not listed:\n{out}"
        assert _words(child["description"]) in _words(out), f"{name}'s description missing"


def test_explain_describes_every_spec_field(crds: list[dict[str, Any]], kubectl: Kubectl) -> None:
    out = _words(_explain(kubectl, "smic.spec"))
    for name, child in _spec_schema(crds)["properties"].items():
        assert child.get("description"), f"spec.{name} has no description in the CRD"
        assert _words(child["description"]) in out, f"spec.{name}'s description missing"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_is_accepted(
    crds: list[dict[str, Any]], kubectl: Kubectl, namespace: str, path: Path
) -> None:
    docs = documents(path)
    assert docs, f"{path} is empty"
    # Examples name the namespace a user would use; each test gets its own instead.
    for doc in docs:
        doc.setdefault("metadata", {})["namespace"] = namespace
    manifest = yaml.safe_dump_all(docs)
    dry = kubectl("-n", namespace, "apply", "--dry-run=server", "-f", "-", input=manifest)
    assert dry.stdout.count("(server dry run)") == len(docs), dry.stdout
    assert kubectl("-n", namespace, "get", PLURAL, "-o", "name").stdout == ""
    kubectl("-n", namespace, "create", "-f", "-", input=manifest)
    for doc in docs:
        if doc.get("kind") != "InferenceComponent":
            continue
        stored = get(kubectl, namespace, doc["metadata"]["name"])
        _assert_subset(doc["spec"], stored["spec"], "spec")


def _assert_subset(expected: Any, actual: Any, where: str) -> None:
    """What the example says survives the round trip; the server may add defaults."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} was dropped (pruned by the schema?)"
            _assert_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _assert_subset(e, a, f"{where}[{i}]")
    else:
        assert expected == actual, f"{where}: {expected!r} stored as {actual!r}"


def test_status_is_written_only_through_the_status_subresource(
    crds: list[dict[str, Any]], kubectl: Kubectl, namespace: str
) -> None:
    kubectl("-n", namespace, "create", "-f", "-", input=json.dumps(valid_manifest("ic")))
    status = {"status": {"observedGeneration": 1, "inferenceComponentStatus": "InService"}}

    # Through the main resource the status is silently reset, like any built-in type.
    kubectl("-n", namespace, "patch", PLURAL, "ic", "--type=merge", "-p", json.dumps(status))
    assert "status" not in get(kubectl, namespace, "ic")

    kubectl(
        "-n", namespace, "patch", PLURAL, "ic", "--subresource=status",
        "--type=merge", "-p", json.dumps(status),
    )  # fmt: skip
    stored = get(kubectl, namespace, "ic")
    assert stored["status"]["inferenceComponentStatus"] == "InService"

    # ...and the status subresource cannot change the spec.
    spec_change = {"spec": {"runtimeConfig": {"copyCount": 5}}}
    kubectl(
        "-n", namespace, "patch", PLURAL, "ic", "--subresource=status",
        "--type=merge", "-p", json.dumps(spec_change),
    )  # fmt: skip
    assert get(kubectl, namespace, "ic")["spec"]["runtimeConfig"]["copyCount"] == 2


def test_generation_moves_on_spec_changes_only(
    crds: list[dict[str, Any]], kubectl: Kubectl, namespace: str
) -> None:
    kubectl("-n", namespace, "create", "-f", "-", input=json.dumps(valid_manifest("ic")))

    def generation() -> int:
        value: int = get(kubectl, namespace, "ic")["metadata"]["generation"]
        return value

    assert generation() == 1
    kubectl(
        "-n", namespace, "patch", PLURAL, "ic", "--subresource=status",
        "--type=merge", "-p", '{"status": {"observedGeneration": 1}}',
    )  # fmt: skip
    assert generation() == 1
    kubectl("-n", namespace, "label", PLURAL, "ic", "team=ml")
    kubectl("-n", namespace, "annotate", PLURAL, "ic", "note=metadata only")
    assert generation() == 1
    kubectl(
        "-n", namespace, "patch", PLURAL, "ic", "--type=merge",
        "-p", '{"spec": {"runtimeConfig": {"copyCount": 3}}}',
    )  # fmt: skip
    assert generation() == 2
    # A no-op spec write does not move it either.
    kubectl(
        "-n", namespace, "patch", PLURAL, "ic", "--type=merge",
        "-p", '{"spec": {"runtimeConfig": {"copyCount": 3}}}',
    )  # fmt: skip
    assert generation() == 2


def test_autoscaling_status_is_stored_and_printed(
    crds: list[dict[str, Any]], kubectl: Kubectl, namespace: str
) -> None:
    """status.autoScaling as the model builds it survives the schema (nothing pruned),
    and `kubectl get -o wide` shows the autoscaler's state, range and last activity."""
    (doc,) = documents(REPO / "examples" / "autoscaling.yaml")
    doc["metadata"]["namespace"] = namespace
    kubectl("-n", namespace, "create", "-f", "-", input=json.dumps(doc))
    name = doc["metadata"]["name"]
    scaling = auto_scaling_status(
        {"MinCapacity": 1, "MaxCapacity": 8},
        [
            {
                "StartTime": datetime(2026, 12, 1, 11, 0, tzinfo=UTC),
                "StatusCode": "InProgress",
                "Description": "Setting desired copy count to 5.",
                "Cause": "monitor alarm TargetTracking-AlarmHigh in state ALARM",
            }
        ],
        desired_copies=5,
        current_copies=3,
        registered_by_operator=True,
    ).to_k8s()
    status = {"status": {"copies": "3/5", "autoScaling": scaling}}
    kubectl(
        "-n", namespace, "patch", PLURAL, name, "--subresource=status",
        "--type=merge", "-p", json.dumps(status),
    )  # fmt: skip
    assert get(kubectl, namespace, name)["status"]["autoScaling"] == scaling
    table = kubectl("-n", namespace, "get", PLURAL, name, "-o", "wide").stdout.splitlines()
    header, row = table[0].split(), _words(table[1])
    assert header[:4] == ["NAME", "ENDPOINT", "STATUS", "COPIES"]
    assert {"SCALING", "MIN-MAX", "LAST-SCALING"} <= set(header)
    assert "3/5 Scaling" in row and "1-8 Setting desired copy count to 5." in row
