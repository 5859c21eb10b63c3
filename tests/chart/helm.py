"""Run the pinned helm binary on the chart and parse what it renders."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "sagemaker-ic-operator"
VALUES = Path(__file__).resolve().parent / "values"
INSTALLER = ROOT / "tools" / "helm" / "install.py"
RELEASE = "ic"
RELEASE_NAMESPACE = "ic-system"
FULLNAME = "ic-sagemaker-ic-operator"


def install_helm() -> Path:
    """The cached helm binary; installs it on first use (same script as `make helm`)."""
    out = subprocess.run(
        [sys.executable, str(INSTALLER)], check=True, capture_output=True, text=True
    ).stdout
    return Path(out.strip().splitlines()[-1])


@dataclass(frozen=True)
class Helm:
    binary: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, timeout=120, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}{result.stdout}")
        return result

    def template_args(
        self,
        values: str | None,
        *extra: str,
        release: str = RELEASE,
        namespace: str = RELEASE_NAMESPACE,
    ) -> list[str]:
        args = ["template", release, str(CHART), "--namespace", namespace]
        if values:
            args += ["--values", str(VALUES / values)]
        return [*args, *extra]

    def render(self, values: str | None = None, *extra: str) -> list[dict[str, Any]]:
        text = self.run(*self.template_args(values, *extra)).stdout
        return [doc for doc in yaml.safe_load_all(text) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = one(docs, "Deployment")["spec"]["template"]["spec"][
        "containers"
    ]
    assert len(containers) == 1
    return containers[0]


Grant = tuple[str, str, str]  # (apiGroup, resource, verb)


def grants(role: dict[str, Any]) -> set[Grant]:
    """Flatten a Role/ClusterRole into (apiGroup, resource, verb) triples."""
    result: set[Grant] = set()
    for rule in role["rules"]:
        assert set(rule) <= {"apiGroups", "resources", "verbs"}, rule  # no resourceNames/urls
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    result.add((group, resource, verb))
    return result
