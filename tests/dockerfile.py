"""The Dockerfile as data, and what a Kubernetes container built from it executes.

Kubernetes appends a container's `args` to the image's ENTRYPOINT (they replace
CMD) unless the container sets `command`. The image and the chart each own half of
that command line, so tests check the two halves together here, through the
operator's own argument parser, rather than each half on its own.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ic_operator import cli

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
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


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def runtime_exec_form(keyword: str) -> list[str]:
    """The runtime stage's ENTRYPOINT or CMD, which must be exec form (a JSON list)."""
    values = [rest for kw, rest in stages()[-1] if kw == keyword]
    assert len(values) == 1, f"expected one {keyword} in the runtime stage, got {values}"
    parsed = json.loads(values[0])
    assert isinstance(parsed, list) and all(isinstance(p, str) for p in parsed), values[0]
    return parsed


def container_argv(entrypoint: list[str], cmd: list[str], spec: dict[str, Any]) -> list[str]:
    """What the kubelet executes for a container spec on an image with this ENTRYPOINT/CMD."""
    if "command" in spec:
        return [*spec["command"], *spec.get("args", [])]
    return [*entrypoint, *spec.get("args", cmd)]


def parse_operator_argv(argv: Sequence[str]) -> argparse.Namespace:
    """Parse a full command line with `ic-operator`'s own parser; fail with the reason."""
    assert argv and argv[0] == "ic-operator", f"the image does not run ic-operator: {argv}"
    rest = list(argv[1:])
    selected = next((a for a in rest if a in cli.COMMANDS), None)
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return cli.build_parser(selected).parse_args(rest)
    except SystemExit as exc:
        raise AssertionError(f"ic-operator rejects {rest}: {errors.getvalue()}") from exc
