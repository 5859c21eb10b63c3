"""Run the shipped Argo CD health script with a real Lua 5.1 interpreter: the fast check.

Argo CD evaluates health.lua with gopher-lua (Lua 5.1) and a restricted set of
libraries; lupa's bundled Lua 5.1 with the libraries Argo CD does not open
removed runs in milliseconds. test_health_argocd.py runs the same cases through
Argo CD's own code. Cases come from health_test.yaml, the file Argo CD's own
test runner reads, so adding a case there adds a test.
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
# A script from argocd-cm (useOpenLibs false) gets base, table, package and an os with only
# time and date (argo-cd util/lua runLua); none of these.
ABSENT_LIBRARIES = ("string", "math", "io", "debug", "coroutine")


def _cases() -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = yaml.safe_load(HEALTH_TESTS.read_text())["tests"]
    return tests


def argo_runtime(obj: dict[str, Any]) -> Any:
    """A Lua 5.1 runtime with Argo CD's library set and the object as the `obj` global."""
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua_globals = runtime.globals()
    safe_os = runtime.table_from({"time": lua_globals.os.time, "date": lua_globals.os.date})
    runtime.execute('debug.setmetatable("", nil)')  # no string library: no ("x"):upper() either
    for name in ABSENT_LIBRARIES:
        lua_globals[name] = None
    lua_globals.os = safe_os
    lua_globals.obj = runtime.table_from(obj, recursive=True)
    return runtime


def run_health(obj: dict[str, Any]) -> dict[str, Any]:
    """Evaluate health.lua on one object the way Argo CD does: `obj` global, returns hs."""
    result = argo_runtime(obj).execute(HEALTH_LUA.read_text())
    return {str(k): v for k, v in dict(result).items()}


@pytest.mark.parametrize(
    "snippet", ['return string.format("%d", 1)', 'return ("x"):upper()', "return math.max(1, 2)"]
)
def test_runtime_lacks_what_argo_cd_does_not_open(snippet: str) -> None:
    """The fast check must reject what Argo CD would: else it passes scripts Argo CD fails."""
    with pytest.raises(lua51.LuaError):
        argo_runtime({}).execute(snippet)


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
    assert statuses == {"Healthy", "Progressing", "Degraded", "Suspended"}
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
