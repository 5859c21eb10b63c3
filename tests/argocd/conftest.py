"""Fixtures of the Argo CD sync suite: Argo CD and Kubernetes' garbage collector beside the
control plane (once per session), a git repository and Applications per test.

The health-check tests in this directory use none of them and need no cluster.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ic_sandbox.cluster.binaries import BinariesMissing, ensure_node_binaries
from ic_sandbox.cluster.garbage_collector import GarbageCollector
from ic_sandbox.peers.argocd import ArgoCd, ensure_argocd, install
from tests.argocd.gitops import GitOps, GitRepo
from tests.fixtures.controlplane import Cluster, Kubectl
from tests.fixtures.operator import OperatorTestbed

# Argo CD compares each Application with git this often (seconds; upstream's default is
# 120): the quiet-window scenarios wait for three such periods. What they prove is counted
# in comparisons (status.reconciledAt), not seconds, so a short period keeps their meaning
# and halves their wait (10 s before: 413 s for test_sync.py, 5 s: see README's figures).
APP_RESYNC = 5


@pytest.fixture(scope="session")
def garbage_collector(
    control_plane: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """kube-controller-manager's garbage collector, which Argo CD's foreground prune needs
    (ic_sandbox.cluster.garbage_collector says why the real one); an existing cluster has
    its own."""
    if control_plane.control_plane is None:
        yield
        return
    try:
        binaries = ensure_node_binaries(build=False)
    except BinariesMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    workdir = tmp_path_factory.mktemp("garbage-collector")
    with GarbageCollector(workdir, binaries, control_plane.kubeconfig):
        yield


@pytest.fixture(scope="session")
def argocd(
    control_plane: Cluster,
    kubectl: Kubectl,
    garbage_collector: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ArgoCd]:
    try:
        # build=False: a first build takes many minutes; `make test` builds it (`make argocd`)
        # in the background, and this waits for that build (ic_sandbox.cluster.background).
        build = ensure_argocd(build=False)
    except BinariesMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    install(kubectl, build)
    workdir = tmp_path_factory.mktemp("argocd")
    with ArgoCd(workdir, build, control_plane.kubeconfig, app_resync=APP_RESYNC) as running:
        yield running


@pytest.fixture
def gitops(
    request: pytest.FixtureRequest,
    world: OperatorTestbed,
    argocd: ArgoCd,
    kubectl: Kubectl,
    tmp_path: Path,
) -> Iterator[GitOps]:
    """The test's world, a repository of its own, and Argo CD to sync one into the other."""
    gitops = GitOps(world, kubectl, GitRepo(tmp_path / "repo"), APP_RESYNC)
    yield gitops
    last = gitops.close()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for app in last:
            print(f"---- Application ----\n{app}", file=sys.stderr)
        for name in ("controller", "repo-server"):
            tail = argocd.log(name).read_text(errors="replace")[-6000:]
            print(f"---- Argo CD {name} log (tail) ----\n{tail}", file=sys.stderr)
