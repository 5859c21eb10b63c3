"""Shared pytest configuration for every suite (tests/, bench/tests/, localworld/tests/).

The fixture plugins live in tests/fixtures/. This file sits at the repository root so
that every suite gets them and `tests.fixtures` is importable from all three trees.

Two tiers. Without `--with-cluster`, a test that needs the real control plane, a node,
podman or Go (the markers in CLUSTER_MARKERS, or any test using the `control_plane`
fixture) is skipped with the reason, so plain `pytest` runs the fast suites on any
machine. `make test` and CI pass `--with-cluster`: there a missing binary fails the
test instead (tests/fixtures/controlplane.py), so CI can never pass by skipping.
"""

from __future__ import annotations

import pytest

pytest_plugins: list[str] = [
    "tests.fixtures.emulator",
    "tests.fixtures.controlplane",
    "tests.fixtures.operator",
    "tests.fixtures.faults",
    "tests.fixtures.build_order",  # make test: suites needing no background build first
]

WITH_CLUSTER = "--with-cluster"

# What each marker needs that a plain checkout does not have (pyproject.toml registers them).
CLUSTER_MARKERS: dict[str, str] = {
    "controlplane": "the real kube-apiserver and etcd (make controlplane)",
    "e2e": "the operator against the real control plane",
    "faults": "the operator against the real control plane",
    "node": "a real node (make node; root)",
    "image": "podman and the image build (make image)",
    "go": "the Go toolchain (a build of Argo CD's health engine)",
    "argocd": "a real Argo CD (make argocd) and kube-controller-manager (make node-binaries)",
    "ack": "ACK's SageMaker controller (make ack)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        WITH_CLUSTER,
        action="store_true",
        default=False,
        help="also run the tests that need the real control plane, a node, podman or Go "
        "(make test and CI pass it; without it they are skipped)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption(WITH_CLUSTER):
        return
    for item in items:
        needs = [CLUSTER_MARKERS[m.name] for m in item.iter_markers() if m.name in CLUSTER_MARKERS]
        if not needs and "control_plane" in getattr(item, "fixturenames", ()):
            needs = [CLUSTER_MARKERS["controlplane"]]
        if needs:
            item.add_marker(pytest.mark.skip(reason=f"needs {needs[0]}: pass {WITH_CLUSTER}"))
