"""Install crds/ into an API server and wait until it *serves* the resources.

Established is not enough. The API server builds a CRD's storage at the first request
for its objects and answers 429 "storage is (re)initializing" until its watch cache has
listed; an operator started right after Established met that 429 at its first list, and
kopf's retry a second later was measured by the bench as operator time. So the install
ends only once a list of every resource succeeds, as on a cluster that has served the
CRD for a while. The sandbox, the tests and the bench all install through here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ic_operator import API_GROUP, PLURAL
from ic_sandbox.cluster.binaries import repo_root
from ic_sandbox.cluster.kubectl import Kubectl
from ic_sandbox.polling import poll

CRD_NAME = f"{PLURAL}.{API_GROUP}"


class CrdNotServed(RuntimeError):
    """A CRD was not Established, or its resource not served, in time."""


def crd_files() -> list[Path]:
    """crds/ in the checkout: what users apply."""
    return sorted((repo_root() / "crds").glob("*.yaml"))


def crd_manifest() -> str:
    """crds/ from the checkout (what users apply); generated from the models without one.

    `make crd-check` keeps the two identical, so either is the same CRD.
    """
    files = crd_files()
    if files:
        return "\n---\n".join(path.read_text() for path in files)
    from ic_operator.crd.schema import render  # noqa: PLC0415 - only without a checkout

    return render()


def crd_documents(manifest: str) -> list[dict[str, Any]]:
    """The CustomResourceDefinitions in a manifest (other kinds and empty documents left out)."""
    return [
        doc
        for doc in yaml.safe_load_all(manifest)
        if doc and doc.get("kind") == "CustomResourceDefinition"
    ]


def crd_established(kubectl: Kubectl, name: str = CRD_NAME) -> bool:
    """Whether the API server has Established the CRD. Read as JSON: a jsonpath filter on
    the conditions, like `kubectl wait`, fails (exit 1) while the CRD has none, which is
    how a freshly applied CRD starts."""
    out = kubectl("get", "crd", name, "-o", "json", check=False)
    if out.returncode != 0:
        return False
    conditions = (json.loads(out.stdout).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def resource_served(kubectl: Kubectl, name: str = CRD_NAME) -> bool:
    """Whether a list of the CRD's objects succeeds (past the 429 of a cold watch cache)."""
    return kubectl("get", name, "-A", "-o", "name", check=False).returncode == 0


def install_crds(
    kubectl: Kubectl,
    *,
    manifest: str | None = None,
    timeout: float = 60.0,
    error: Callable[[str], BaseException] = CrdNotServed,
) -> list[dict[str, Any]]:
    """Apply ``manifest`` (crds/ by default) server-side, like an upgrade, and wait until
    every CRD in it is Established and its resource served; returns the CRDs applied."""
    text = crd_manifest() if manifest is None else manifest
    crds = crd_documents(text)
    if not crds:
        raise error("the manifest holds no CustomResourceDefinition")
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=text)
    for name in (crd["metadata"]["name"] for crd in crds):
        # Not `kubectl wait`: it fails when it reads the CRD before any condition is written.
        for ready, what in (
            (crd_established, f"CRD {name} Established"),
            (resource_served, f"the API server to serve {name}"),
        ):
            poll(
                functools.partial(ready, kubectl, name),
                timeout=timeout,
                interval=0.1,
                what=what,
                error=error,
            )
    return crds
