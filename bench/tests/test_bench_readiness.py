"""The bench's Ready watch over a scripted API: first-Ready times, resumption from the
last resourceVersion, a relist after the version expired."""

from __future__ import annotations

import itertools
import threading
import urllib.error
from collections.abc import Iterator
from email.message import Message
from typing import Any

from bench.readiness import ReadyWatch
from ic_sandbox.polling import poll


def component(name: str, version: str, *, ready: bool, generation: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "generation": generation, "resourceVersion": version},
        "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


class ScriptedApi:
    """Each watch() call plays the next script: events, or an HTTP status to raise."""

    def __init__(self, listed: list[dict[str, Any]], scripts: list[list[Any] | int]) -> None:
        self.listed = listed
        self.scripts = iter(scripts)
        self.watched_from: list[str] = []
        self.lists = 0
        self.done = threading.Event()

    def list_with_version(self, namespace: str) -> tuple[list[dict[str, Any]], str]:
        self.lists += 1
        return self.listed, f"list-{self.lists}"

    def watch(self, namespace: str, resource_version: str) -> Iterator[dict[str, Any]]:
        self.watched_from.append(resource_version)
        script = next(self.scripts, None)
        if script is None:
            self.done.set()
            threading.Event().wait(5)  # an idle stream
            return
        if isinstance(script, int):
            raise urllib.error.HTTPError("url", script, "gone", Message(), None)
        yield from script


def test_first_ready_times_survive_a_reconnect_and_an_expired_version() -> None:
    ticks = itertools.count(1)
    api = ScriptedApi(
        listed=[component("listed", "1", ready=True)],
        scripts=[
            [
                {"type": "ADDED", "object": component("a", "2", ready=False)},
                {"type": "MODIFIED", "object": component("a", "3", ready=True)},
                {"type": "MODIFIED", "object": component("a", "4", ready=True)},
            ],
            [
                {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "5"}}},
                {"type": "MODIFIED", "object": component("stale", "6", ready=True, generation=2)},
            ],
            410,
            [{"type": "MODIFIED", "object": component("b", "7", ready=True)}],
        ],
    )
    watch = ReadyWatch(api, "ns", clock=lambda: float(next(ticks)))  # type: ignore[arg-type]
    poll(api.done.is_set, timeout=10, interval=0.01, what="the scripts played")
    watch.stop()
    assert watch.failure is None
    first = watch.first_ready()
    assert set(first) == {"listed", "a", "b"}  # "stale" is Ready for an older generation
    assert first["listed"] < first["a"] < first["b"]
    first_added = watch.first_added()
    assert first_added is not None and first_added < first["a"]
    # Resumed where each stream ended; after the 410, from a fresh list's version.
    assert api.watched_from == ["list-1", "4", "6", "list-2", "7"]


def test_a_watch_error_other_than_gone_is_reported() -> None:
    api = ScriptedApi(listed=[], scripts=[[{"type": "ERROR", "object": {"code": 500}}]])
    watch = ReadyWatch(api, "ns")  # type: ignore[arg-type]
    poll(lambda: watch.failure, timeout=10, interval=0.01, what="the failure")
    assert "watch error" in str(watch.failure)
