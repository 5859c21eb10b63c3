"""What can be checked of the container image without a container engine.

The Dockerfile is parsed for the properties the chart's securityContext relies
on (numeric non-root USER, exec-form entrypoint, no mutable `latest` base), and
the wheel the builder stage makes is really built and inspected.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, rest = stripped.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def _args() -> dict[str, str]:
    args = {}
    for keyword, rest in _instructions():
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name] = value
    return args


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


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


def test_entrypoint_is_exec_form_ic_operator_run() -> None:
    runtime = _stages()[-1]
    entrypoints = [rest for keyword, rest in runtime if keyword == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    assert json.loads(entrypoints[0]) == ["ic-operator", "run"]
    assert not [rest for keyword, rest in runtime if keyword == "CMD"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "ic-operator" in scripts


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
        assert {"ic_operator/__init__.py", "ic_operator/cli.py", "ic_operator/py.typed"} <= names
        assert "ic_operator/main.py" in names
        assert not [n for n in names if n.startswith(("tests/", "emulator/"))]
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "ic-operator = ic_operator.cli:main" in wheel.read(entry_points).decode()
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
