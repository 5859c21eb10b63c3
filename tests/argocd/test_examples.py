"""examples/argocd/ holds what docs/gitops.md shows: every InferenceComponent in it passes
the CRD's admission and the operator's own parsing, like the top-level examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ic_operator.models import InferenceComponentSpec
from tests.unit.crd_admission import admit
from tests.unit.test_crd import schema

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "argocd"
WAVE = "argocd.argoproj.io/sync-wave"


def components() -> dict[str, dict[str, Any]]:
    return {
        f"{path.name}:{doc['metadata']['name']}": doc
        for path in sorted((EXAMPLES / "models").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
    }


@pytest.mark.parametrize("name", sorted(components()))
def test_components_are_admitted_and_parse(name: str) -> None:
    doc = components()[name]
    assert "namespace" not in doc["metadata"], "the Application's destination names it"
    assert admit(doc, schema()) == []
    assert InferenceComponentSpec.parse(doc["spec"], creating=True).creation_problems() == []


def test_each_adapter_syncs_in_a_later_wave_than_its_base() -> None:
    docs = {doc["metadata"]["name"]: doc for doc in components().values()}
    adapters = [
        d for d in docs.values() if "baseInferenceComponentName" in d["spec"]["specification"]
    ]
    assert adapters
    for adapter in adapters:
        base = docs[adapter["spec"]["specification"]["baseInferenceComponentName"]]
        wave = int(adapter["metadata"]["annotations"][WAVE])
        assert wave > int(base["metadata"]["annotations"][WAVE])


def test_the_application_prunes_and_heals() -> None:
    app = yaml.safe_load((EXAMPLES / "application.yaml").read_text())
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}


def test_the_operator_application_installs_this_repository_s_chart() -> None:
    """examples/argocd/operator.yaml as tests/node/test_argocd_chart.py syncs it: its path
    is the chart in this repository, its values are the chart's, and its values file stays
    inside the repository (Argo CD refuses one outside)."""
    app = yaml.safe_load((EXAMPLES / "operator.yaml").read_text())
    source = app["spec"]["source"]
    root = EXAMPLES.parents[1]
    chart = root / source["path"]
    assert (chart / "Chart.yaml").is_file()
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    assert set(source["helm"]["valuesObject"]) <= set(defaults)
    assert set(source["helm"]["valuesObject"]["image"]) <= set(defaults["image"])
    for values_file in source["helm"]["valueFiles"]:
        assert (chart / values_file).resolve().is_relative_to(root)
    assert source["helm"]["releaseName"]
    assert {"CreateNamespace=true", "ServerSideApply=true"} <= set(
        app["spec"]["syncPolicy"]["syncOptions"]
    )
    assert int(app["metadata"]["annotations"][WAVE]) < 0  # before the components' wave 0
