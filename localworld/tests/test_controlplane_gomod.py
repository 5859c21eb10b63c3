"""tools/controlplane stays as gen-gomod.py writes it: one version drives every pin."""

from __future__ import annotations

import re

from ic_sandbox.cluster.binaries import tools_dir

TOOLS = tools_dir()


def test_go_mod_pins_follow_version_file() -> None:
    version = (TOOLS / "VERSION").read_text().strip()
    major_minor_patch = re.fullmatch(r"v1\.(\d+)\.(\d+)", version)
    assert major_minor_patch, version
    staging = f"v0.{major_minor_patch[1]}.{major_minor_patch[2]}"
    gomod = (TOOLS / "go.mod").read_text()
    assert f"require k8s.io/kubernetes {version}\n" in gomod
    replaces = re.findall(r"^\t(k8s\.io/\S+) => (\S+) (\S+)$", gomod, re.M)
    assert len(replaces) > 20, "the staging replace list is missing"
    for module, target, target_version in replaces:
        assert (module, target_version) == (target, staging)
    assert {"k8s.io/api", "k8s.io/apiserver", "k8s.io/apiextensions-apiserver"} <= {
        m for m, _, _ in replaces
    }


def test_etcd_module_pins_the_version_file() -> None:
    etcd_version = (TOOLS / "etcd" / "VERSION").read_text().strip()
    etcd_gomod = (TOOLS / "etcd" / "go.mod").read_text()
    assert f"require go.etcd.io/etcd/server/v3 {etcd_version}\n" in etcd_gomod
    kube_gomod = (TOOLS / "go.mod").read_text()
    # kube-apiserver's etcd client and the etcd server come from the same release.
    assert f"go.etcd.io/etcd/client/v3 {etcd_version}" in kube_gomod
