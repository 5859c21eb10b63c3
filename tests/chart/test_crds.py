"""The chart ships the CRDs helm must install before its templates.

The InferenceComponent CRD is generated into crds/ from the models; the chart
carries a byte-for-byte copy (`make chart-crd`) because helm only installs CRDs
from the chart's own crds/ directory. kopf's peering CRDs sit beside it so that
the peering objects in templates/ can be created in the same install.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from .helm import CHART, ROOT, Helm

CRD_FILE = "sagemaker.ic-operator.io_inferencecomponents.yaml"
MAPPING_CRD_FILE = "sagemaker.ic-operator.io_accountmappings.yaml"


@pytest.mark.parametrize("name", [CRD_FILE, MAPPING_CRD_FILE])
def test_chart_crd_is_identical_to_crds_dir(name: str) -> None:
    source = ROOT / "crds" / name
    copy = CHART / "crds" / name
    assert source.is_file(), f"{source} is missing: run 'make crd'"
    assert copy.is_file(), f"{copy} is missing: run 'make chart-crd'"
    assert copy.read_bytes() == source.read_bytes(), "chart CRD is stale: run 'make chart-crd'"


def test_chart_crds_dir_holds_only_known_files() -> None:
    assert sorted(p.name for p in (CHART / "crds").iterdir()) == sorted(
        [CRD_FILE, MAPPING_CRD_FILE, "kopf.dev_peerings.yaml"]
    )


def _crds(helm: Helm) -> dict[str, dict[str, Any]]:
    text = helm.run(*helm.template_args(None, "--include-crds")).stdout
    docs = [d for d in yaml.safe_load_all(text) if d]
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "CustomResourceDefinition"}


def test_rendered_crds(helm: Helm) -> None:
    crds = _crds(helm)
    assert set(crds) == {
        "inferencecomponents.sagemaker.ic-operator.io",
        "accountmappings.sagemaker.ic-operator.io",
        "kopfpeerings.kopf.dev",
        "clusterkopfpeerings.kopf.dev",
    }
    ic = crds["inferencecomponents.sagemaker.ic-operator.io"]
    assert ic["spec"]["scope"] == "Namespaced"
    assert ic["spec"]["names"]["kind"] == "InferenceComponent"
    assert "smic" in ic["spec"]["names"].get("shortNames", [])
    # Cluster-scoped: no namespace's admin can be granted writing it (docs/accounts.md).
    assert crds["accountmappings.sagemaker.ic-operator.io"]["spec"]["scope"] == "Cluster"
    assert crds["kopfpeerings.kopf.dev"]["spec"]["scope"] == "Namespaced"
    assert crds["clusterkopfpeerings.kopf.dev"]["spec"]["scope"] == "Cluster"


def test_crds_are_not_templates(helm: Helm) -> None:
    """Templates never carry a CRD: helm would delete it (and every resource) on uninstall."""
    text = helm.run(*helm.template_args("peering.yaml")).stdout
    kinds = {d["kind"] for d in yaml.safe_load_all(text) if d}
    assert "CustomResourceDefinition" not in kinds
