"""A minimal valid InferenceComponent and path edits to derive invalid ones from it."""

from __future__ import annotations

import copy
from typing import Any

from tests.controlplane.crds import API_VERSION

_BASE: dict[str, Any] = {
    "apiVersion": API_VERSION,
    "kind": "InferenceComponent",
    "metadata": {"name": "placeholder"},
    "spec": {
        "endpointName": "demo-endpoint",
        "variantName": "AllTraffic",
        "specification": {
            "modelName": "demo-model",
            "computeResourceRequirements": {
                "numberOfCpuCoresRequired": 1,
                "minMemoryRequiredInMb": 1024,
            },
        },
        "runtimeConfig": {"copyCount": 2},
        "deploymentConfig": {
            "rollingUpdatePolicy": {
                "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
                "waitIntervalInSeconds": 60,
            }
        },
    },
}

DELETE = object()


def valid_manifest(name: str) -> dict[str, Any]:
    manifest = copy.deepcopy(_BASE)
    manifest["metadata"]["name"] = name
    return manifest


def edited(manifest: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """Copy of manifest with each dotted path set to its value (or removed for DELETE)."""
    result = copy.deepcopy(manifest)
    for path, value in edits.items():
        *parents, leaf = path.split(".")
        node = result
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            del node[leaf]
        else:
            node[leaf] = copy.deepcopy(value)
    return result
