"""Shared helpers for the tests that install crds/ into the control plane."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ic_sandbox.components import crd_established
from tests.fixtures.controlplane import Kubectl
from tests.fixtures.emulator import wait_for

REPO = Path(__file__).resolve().parents[2]
CRD_FILES = sorted((REPO / "crds").glob("*.yaml"))
EXAMPLE_FILES = sorted((REPO / "examples").glob("*.yaml"))
GROUP = "sagemaker.ic-operator.io"
API_VERSION = f"{GROUP}/v1alpha1"
PLURAL = f"inferencecomponents.{GROUP}"


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def crd_documents() -> list[dict[str, Any]]:
    return [
        doc
        for path in CRD_FILES
        for doc in documents(path)
        if doc.get("kind") == "CustomResourceDefinition"
    ]


def storage_schema(crd: dict[str, Any]) -> dict[str, Any]:
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def install_crds(kubectl: Kubectl) -> list[dict[str, Any]]:
    """Apply every file in crds/ and wait until each CRD is Established."""
    crds = crd_documents()
    assert crds, "crds/ holds no CustomResourceDefinition"
    for path in CRD_FILES:
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    for crd in crds:
        name = crd["metadata"]["name"]
        wait_for(
            lambda name=name: crd_established(kubectl, name),
            timeout=60,
            interval=0.1,
            what=f"CRD {name} Established",
        )
    return crds


def get(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    out = kubectl("-n", namespace, "get", PLURAL, name, "-o", "json").stdout
    obj: dict[str, Any] = json.loads(out)
    return obj
