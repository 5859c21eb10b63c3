"""Invalid InferenceComponents are rejected by the API server at `kubectl apply`, clearly.

Each case edits the minimal valid manifest in one way and names the text the
user must see. The valid manifest itself is applied first in every namespace, so
a rejection can only come from the edit.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ic_sandbox.harness.crds import install_crds
from tests.controlplane.crds import PLURAL
from tests.controlplane.manifests import DELETE, edited, valid_manifest
from tests.fixtures.controlplane import Kubectl
from tests.unit.test_crd import example_docs
from tests.unit.test_invalid_specs import CORPUS, build

pytestmark = pytest.mark.controlplane

RUP = "spec.deploymentConfig.rollingUpdatePolicy"
SIX_INSTANCE_TYPES = [f"ml.g5.{size}xlarge" for size in ("", "2", "4", "8", "12", "16")]
SPEC = "spec.specification"

# id -> (edits to a new object, text that must appear in kubectl's error)
AT_CREATION: dict[str, tuple[dict[str, Any], str]] = {
    "bad-enum": (
        {"spec.deletionPolicy": "Sometimes"},
        'spec.deletionPolicy: Unsupported value: "Sometimes": supported values: "Delete", "Retain"',
    ),
    "bad-batch-type-enum": (
        {f"{RUP}.maximumBatchSize.type": "PERCENT"},
        'Unsupported value: "PERCENT": supported values: "COPY_COUNT", "CAPACITY_PERCENT"',
    ),
    "negative-copy-count": (
        {"spec.runtimeConfig.copyCount": -1},
        "spec.runtimeConfig.copyCount in body should be greater than or equal to 0",
    ),
    "zero-copy-count-at-creation": (
        {"spec.runtimeConfig.copyCount": 0},
        "runtimeConfig.copyCount must be at least 1 when the component is created",
    ),
    "batch-value-0": (
        {f"{RUP}.maximumBatchSize.value": 0},
        f"{RUP}.maximumBatchSize.value in body should be greater than or equal to 1",
    ),
    "wait-interval-over-3600": (
        {f"{RUP}.waitIntervalInSeconds": 3601},
        f"{RUP}.waitIntervalInSeconds in body should be less than or equal to 3600",
    ),
    "batch-over-half-of-copies": (
        {f"{RUP}.maximumBatchSize.value": 2},
        "maximumBatchSize: COPY_COUNT must be at most half of runtimeConfig.copyCount",
    ),
    "capacity-percent-over-50": (
        {f"{RUP}.maximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 60}},
        "maximumBatchSize: CAPACITY_PERCENT must be between 5 and 50",
    ),
    "both-specification-and-specifications": (
        {"spec.specifications": [{"modelName": "other-model"}]},
        "set exactly one of specification or specifications",
    ),
    "neither-specification-nor-specifications": (
        {SPEC: DELETE},
        "set exactly one of specification or specifications",
    ),
    "six-specifications": (
        {
            SPEC: DELETE,
            "spec.specifications": [
                {"modelName": f"m{i}", "instanceType": t} for i, t in enumerate(SIX_INSTANCE_TYPES)
            ],
        },
        "spec.specifications: Too many: 6: must have at most 5 items",
    ),
    "missing-endpoint-name": (
        {"spec.endpointName": DELETE},
        "spec: Invalid value: set exactly one of endpointName or endpointRef",
    ),
    "endpoint-name-pattern": (
        {"spec.endpointName": "under_score"},
        "spec.endpointName in body should match '^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$'",
    ),
    "variant-name-missing": (
        {"spec.variantName": DELETE},
        "variantName is required",
    ),
    "adapter-with-variant-name": (
        {
            SPEC: {"baseInferenceComponentName": "base-ic", "container": {"image": "x:1"}},
        },
        "variantName must not be set on an adapter",
    ),
    "max-memory-below-min": (
        {f"{SPEC}.computeResourceRequirements.maxMemoryRequiredInMb": 512},
        "maxMemoryRequiredInMb must be at least minMemoryRequiredInMb",
    ),
    "reserved-tag-key": (
        {"spec.tags": {"aws:owner": "me"}},
        "tag keys starting with 'sagemaker.ic-operator.io/' or 'aws:' are reserved",
    ),
    "tag-key-characters": (
        {"spec.tags": {"team#1": "ml"}},
        r"spec.tags: Invalid value: keys must match ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$ and be 1-128 "
        "characters long",
    ),
    "metrics-path-traversal": (
        {
            f"{SPEC}.container": {
                "image": "x:1",
                "containerMetricsConfig": {
                    "metricsEndpoints": [{"metricsEndpointPath": "/../metrics"}]
                },
            }
        },
        "metricsEndpointPath must not contain '..'",
    ),
    "several-specifications-without-instance-type": (
        {
            SPEC: DELETE,
            "spec.specifications": [{"modelName": "a"}, {"modelName": "b"}],
        },
        "every entry of specifications needs an instanceType when there are several",
    ),
    "unknown-field": (
        {"spec.copyCount": 2},
        'unknown field "spec.copyCount"',
    ),
}

# The autoScaling block of examples/autoscaling.yaml (1 to 8 copies).
AUTOSCALING = {
    "spec.autoScaling": dict(example_docs())["autoscaling.yaml:chat-mistral-7b"]["spec"][
        "autoScaling"
    ]
}
AT_CREATION.update(
    {
        "autoscaling-min-above-max": (
            {**AUTOSCALING, "spec.autoScaling.minCopies": 9, "spec.runtimeConfig.copyCount": 9},
            "spec.autoScaling: Invalid value: minCopies must be at most maxCopies",
        ),
        "autoscaling-copy-count-above-max": (
            {**AUTOSCALING, "spec.runtimeConfig.copyCount": 9},
            "runtimeConfig.copyCount must be within autoScaling.minCopies and "
            "autoScaling.maxCopies when the component is created",
        ),
        "autoscaling-no-policies": (
            {**AUTOSCALING, "spec.autoScaling.policies": []},
            "spec.autoScaling.policies in body should have at least 1 items",
        ),
    }
)

# id -> (edits applied to an existing valid object, text that must appear)
ON_UPDATE: dict[str, tuple[dict[str, Any], str]] = {
    "change-endpoint-name": ({"spec.endpointName": "other-endpoint"}, "endpointName is immutable"),
    "add-endpoint-ref": ({"spec.endpointRef": {"name": "ack-ep"}}, "endpointRef is immutable"),
    "change-variant-name": ({"spec.variantName": "Other"}, "variantName is immutable"),
    "set-inference-component-name": (
        {"spec.inferenceComponentName": "renamed"},
        "inferenceComponentName is immutable",
    ),
}


@pytest.fixture(scope="module", autouse=True)
def _crds(kubectl: Kubectl) -> None:
    install_crds(kubectl)


def _apply(kubectl: Kubectl, namespace: str, manifest: dict[str, Any]) -> Any:
    return kubectl("-n", namespace, "apply", "-f", "-", input=json.dumps(manifest), check=False)


def test_the_base_manifest_is_valid(kubectl: Kubectl, namespace: str) -> None:
    applied = _apply(kubectl, namespace, valid_manifest("base"))
    assert applied.returncode == 0, applied.stderr


@pytest.mark.parametrize(("edits", "message"), AT_CREATION.values(), ids=AT_CREATION.keys())
def test_rejected_at_creation(
    kubectl: Kubectl, namespace: str, edits: dict[str, Any], message: str
) -> None:
    rejected = _apply(kubectl, namespace, edited(valid_manifest("ic"), edits))
    assert rejected.returncode != 0, f"accepted: {rejected.stdout}"
    assert message in rejected.stderr
    assert kubectl("-n", namespace, "get", PLURAL, "-o", "name").stdout == ""


@pytest.mark.parametrize(("edits", "message"), ON_UPDATE.values(), ids=ON_UPDATE.keys())
def test_rejected_on_update(
    kubectl: Kubectl, namespace: str, edits: dict[str, Any], message: str
) -> None:
    original = valid_manifest("ic")
    created = _apply(kubectl, namespace, original)
    assert created.returncode == 0, created.stderr
    rejected = _apply(kubectl, namespace, edited(original, edits))
    assert rejected.returncode != 0, f"accepted: {rejected.stdout}"
    assert message in rejected.stderr
    stored = json.loads(kubectl("-n", namespace, "get", PLURAL, "ic", "-o", "json").stdout)
    assert stored["spec"]["endpointName"] == original["spec"]["endpointName"]
    assert stored["metadata"]["generation"] == 1


def test_unicode_tag_keys_are_accepted(kubectl: Kubectl, namespace: str) -> None:
    """The tag-key rule uses \\p{L}; the API server's RE2 must accept letters beyond ASCII."""
    manifest = edited(valid_manifest("ic"), {"spec.tags": {"équipe/coût": "ml"}})
    applied = _apply(kubectl, namespace, manifest)
    assert applied.returncode == 0, applied.stderr


def test_copy_count_may_drop_to_zero_after_creation(kubectl: Kubectl, namespace: str) -> None:
    """The at-creation rule is a transition rule: scaling an existing component to 0 is fine."""
    original = valid_manifest("ic")
    assert _apply(kubectl, namespace, original).returncode == 0
    scaled = _apply(kubectl, namespace, edited(original, {"spec.runtimeConfig.copyCount": 0}))
    assert scaled.returncode == 0, scaled.stderr


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_corpus_is_refused_with_its_messages(
    kubectl: Kubectl, namespace: str, case: dict[str, Any]
) -> None:
    """Every case of tests/unit/invalid_specs.yaml, sent to the real API server: each
    message the unit corpus states appears in kubectl's answer, word for word."""
    doc = build(case)
    doc["metadata"]["namespace"] = namespace
    refused = kubectl(
        "-n", namespace, "create", "--dry-run=server", "-f", "-", input=json.dumps(doc), check=False
    )
    assert refused.returncode != 0, f"accepted: {refused.stdout}"
    answer = " ".join(refused.stderr.split())
    for message in case["admission"]:
        assert " ".join(message.split()) in answer, (message, refused.stderr)
