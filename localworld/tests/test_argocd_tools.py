"""What the Argo CD harness puts on its processes' PATH: the repo-server runs
git-verify-wrapper.sh on every manifest generation and `helm template` for every helm
source, both looked up on PATH; nothing else of the helm binary's directory may shadow
the machine's tools. No Argo CD runs here."""

from __future__ import annotations

import os
from pathlib import Path

from ic_sandbox.peers.argocd import ArgoCd, ArgoCdBuild


def _build(tmp_path: Path) -> ArgoCdBuild:
    directory = tmp_path / "cache"
    (directory / "bin").mkdir(parents=True)
    (directory / "bin" / "git-verify-wrapper.sh").write_text("#!/bin/sh\n")
    return ArgoCdBuild(binary=directory / "argocd", directory=directory, version="v0")


def _first_on_path(argocd: ArgoCd) -> Path:
    return Path(argocd._env()["PATH"].split(os.pathsep)[0])


def test_helm_and_the_wrapper_come_first_on_path_and_nothing_else(tmp_path: Path) -> None:
    helm_dir = tmp_path / "helm-cache" / "bin"
    helm_dir.mkdir(parents=True)
    helm = helm_dir / "helm"
    helm.write_text("#!/bin/sh\n")
    (helm_dir / "kubectl").write_text("#!/bin/sh\n")  # beside helm in a shared cache
    build = _build(tmp_path)
    argocd = ArgoCd(tmp_path / "work", build, tmp_path / "kubeconfig", helm=helm)
    tools = _first_on_path(argocd)
    assert sorted(p.name for p in tools.iterdir()) == ["git-verify-wrapper.sh", "helm"]
    assert (tools / "helm").resolve() == helm.resolve()
    wrapper = build.bin_dir / "git-verify-wrapper.sh"
    assert (tools / "git-verify-wrapper.sh").resolve() == wrapper.resolve()
    # Each process's environment is built again: the links are replaced, not duplicated.
    assert _first_on_path(argocd) == tools


def test_without_helm_only_the_wrapper(tmp_path: Path) -> None:
    argocd = ArgoCd(tmp_path / "work", _build(tmp_path), tmp_path / "kubeconfig")
    assert [p.name for p in _first_on_path(argocd).iterdir()] == ["git-verify-wrapper.sh"]
