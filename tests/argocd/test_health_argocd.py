"""The health check through Argo CD's own code: `go test` in tools/argocd-health.

That Go module requires github.com/argoproj/argo-cd/v3 and runs health.lua with
util/lua's VM (the library set, the `obj` global and the result conversion Argo CD
uses) and with gitops-engine's GetResourceHealth (what the application controller
shows, including its own verdict on terminating objects). The first run downloads
and compiles argo-cd's dependencies (minutes, see docs/argocd.md); Go's build cache
makes later runs take seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.argocd.test_health_lua import CUSTOMIZATION, HEALTH_TESTS

pytestmark = [pytest.mark.slow, pytest.mark.go]

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "tools/argocd-health"
GROUP_KIND = CUSTOMIZATION.relative_to(CUSTOMIZATION.parents[1]).as_posix()
GO = shutil.which("go")


def go_test(customizations: Path | None = None) -> subprocess.CompletedProcess[str]:
    if GO is None:
        pytest.skip("`go` is not on PATH: Go >= 1.21 runs Argo CD's health engine (CI has it)")
    env = {
        **os.environ,
        # argo-cd v3.6.1 needs Go 1.27: an older go fetches go.mod's toolchain line.
        "GOTOOLCHAIN": "auto",
        "GOFLAGS": "-mod=readonly",  # go.sum is committed: a run never rewrites the checkout
    }
    if customizations is not None:
        env["ARGOCD_CUSTOMIZATIONS"] = str(customizations)
    return subprocess.run(
        [GO, "test", "-count=1", "-v", "./..."],
        cwd=MODULE,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _passed(output: str) -> set[str]:
    return set(re.findall(r"^\s*--- PASS: (\S+)", output, re.MULTILINE))


@pytest.mark.timeout(1800)
def test_every_case_passes_in_argo_cds_engine() -> None:
    run = go_test()
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    passed = _passed(run.stdout)
    for case in yaml.safe_load(HEALTH_TESTS.read_text())["tests"]:
        name = f"{GROUP_KIND}/{case['inputPath']}"
        for test in (
            f"TestLuaHealthScript/{name}",
            f"TestLuaHealthScript/{name}/useOpenLibs",
            f"TestControllerHealth/{name}",
        ):
            assert test in passed, f"{test} did not run:\n{run.stdout[-3000:]}"


@pytest.mark.timeout(1800)
def test_a_terminating_object_without_deletion_message_fails(tmp_path: Path) -> None:
    """The Go test bites: without hs.deletionMessage, Argo CD shows its own verdict."""
    copy = tmp_path / "resource_customizations" / GROUP_KIND
    shutil.copytree(CUSTOMIZATION, copy)
    script = copy / "health.lua"
    text = script.read_text()
    assert "hs.deletionMessage = hs.message\n" in text
    script.write_text(text.replace("hs.deletionMessage = hs.message\n", ""))
    run = go_test(tmp_path / "resource_customizations")
    assert run.returncode != 0
    failed = set(re.findall(r"^\s*--- FAIL: (\S+)", run.stdout, re.MULTILINE))
    deleting = f"{GROUP_KIND}/testdata/deleting.yaml"
    assert f"TestControllerHealth/{deleting}" in failed, run.stdout[-3000:]
    assert "Pending deletion; blocked by finalizers: sagemaker.ic-operator.io/finalizer" in (
        run.stdout
    )
    assert f"TestControllerHealth/{GROUP_KIND}/testdata/healthy.yaml" in _passed(run.stdout)
