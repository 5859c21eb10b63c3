"""Shared helpers for the tests that install crds/ into the control plane (the install
itself is the harness's: ic_sandbox.harness.crds.install_crds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ic_operator import API_GROUP
from ic_operator import API_VERSION as VERSION
from ic_sandbox.harness import crds as harness_crds
from tests.fixtures.controlplane import Kubectl

REPO = Path(__file__).resolve().parents[2]
CRD_FILES = sorted((REPO / "crds").glob("*.yaml"))
EXAMPLE_FILES = sorted((REPO / "examples").glob("*.yaml"))
API_VERSION = f"{API_GROUP}/{VERSION}"
PLURAL = harness_crds.CRD_NAME


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def crd_documents() -> list[dict[str, Any]]:
    return harness_crds.crd_documents(harness_crds.crd_manifest())


def storage_schema(crd: dict[str, Any]) -> dict[str, Any]:
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def get(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    out = kubectl("-n", namespace, "get", PLURAL, name, "-o", "json").stdout
    obj: dict[str, Any] = json.loads(out)
    return obj
