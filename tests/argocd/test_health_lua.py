"""Run the shipped Argo CD health script with a real Lua 5.1 interpreter.

Argo CD evaluates health.lua with gopher-lua (Lua 5.1) and a restricted set of
libraries; lupa's bundled Lua 5.1 with the same libraries removed is the
closest real interpreter available offline. Cases come from health_test.yaml,
the file Argo CD's own test runner reads, so adding a case there adds a test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import lua51

CUSTOMIZATION = (
    Path(__file__).resolve().parents[2]
    / "deploy/argocd/resource_customizations/sagemaker.ic-operator.io/InferenceComponent"
)
HEALTH_LUA = CUSTOMIZATION / "health.lua"
HEALTH_TESTS = CUSTOMIZATION / "health_test.yaml"
ARGO_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
# Argo CD opens no io/os/package/debug libraries for health scripts.
UNSAFE_GLOBALS = ("io", "os", "package", "debug", "require", "dofile", "loadfile", "load")


def _cases() -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = yaml.safe_load(HEALTH_TESTS.read_text())["tests"]
    return tests


def run_health(obj: dict[str, Any]) -> dict[str, Any]:
    """Evaluate health.lua on one object the way Argo CD does: `obj` global, returns hs."""
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua_globals = runtime.globals()
    for name in UNSAFE_GLOBALS:
        lua_globals[name] = None
    lua_globals.obj = runtime.table_from(obj, recursive=True)
    result = runtime.execute(HEALTH_LUA.read_text())
    return {str(k): v for k, v in dict(result).items()}


@pytest.mark.parametrize("case", _cases(), ids=lambda c: Path(c["inputPath"]).stem)
def test_health_case(case: dict[str, Any]) -> None:
    obj = yaml.safe_load((CUSTOMIZATION / case["inputPath"]).read_text())
    assert run_health(obj) == case["healthStatus"]


def test_every_testdata_file_has_a_case() -> None:
    covered = {Path(c["inputPath"]).name for c in _cases()}
    present = {p.name for p in (CUSTOMIZATION / "testdata").glob("*.yaml")}
    assert present == covered


def test_cases_cover_each_status_we_emit() -> None:
    statuses = {c["healthStatus"]["status"] for c in _cases()}
    assert statuses == {"Healthy", "Progressing", "Degraded"}
    assert statuses <= ARGO_STATUSES


def test_script_uses_only_lua51() -> None:
    """A syntax error in Lua 5.1 (e.g. goto, //) must fail here, not in Argo CD."""
    runtime = lua51.LuaRuntime()
    loadstring = runtime.globals().loadstring
    assert lua51.lua_type(loadstring("local x = 1 // 2")) != "function"  # the check bites
    compiled = loadstring(HEALTH_LUA.read_text())
    assert lua51.lua_type(compiled) == "function", compiled


def test_degraded_message_comes_from_the_condition() -> None:
    obj = yaml.safe_load((CUSTOMIZATION / "testdata/rolled-back.yaml").read_text())
    obj["status"]["conditions"][2]["message"] = "a fresh message from the operator"
    assert run_health(obj) == {
        "status": "Degraded",
        "message": "RolledBack: a fresh message from the operator",
    }


def test_degraded_without_generations_is_degraded() -> None:
    """An object without generation bookkeeping is judged by its conditions alone."""
    obj = {
        "metadata": {"name": "x"},
        "status": {
            "conditions": [{"type": "Degraded", "status": "True", "reason": "InvalidSpec"}],
        },
    }
    assert run_health(obj) == {"status": "Degraded", "message": "InvalidSpec"}
