"""When each component first turned Ready, from a watch rather than from list polls.

Polling a thousand-object list every half second cost the bench's own measurement up
to a poll interval plus a list's decode (several MB of JSON) per reading, and the two
cores it shares with the operator. A watch stream sees each status write as it lands
and costs one decode per changed object.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
from collections.abc import Callable
from typing import Any

from bench import workload
from bench.world import Api


class ReadyWatch:
    """A daemon thread watching one namespace: the monotonic time each name was first
    seen Ready (for its current generation, :func:`workload.is_ready`, or ``ready``: the
    ack mode's ACK.ResourceSynced), and when the
    first object appeared (what of apply → first Create is kubectl's, not the operator's)."""

    def __init__(
        self,
        api: Api,
        namespace: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        ready: Callable[[dict[str, Any]], bool] = workload.is_ready,
    ):
        self._api = api
        self._ready = ready
        self._namespace = namespace
        self._clock = clock
        self._first: dict[str, float] = {}
        self._first_added: float | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.failure: BaseException | None = None
        self._version = self._relist()
        self._thread = threading.Thread(target=self._run, name="ready-watch", daemon=True)
        self._thread.start()

    def first_ready(self) -> dict[str, float]:
        with self._lock:
            return dict(self._first)

    def first_added(self) -> float | None:
        with self._lock:
            return self._first_added

    def stop(self) -> None:
        self._stopped.set()

    def _see(self, obj: dict[str, Any]) -> None:
        if self._ready(obj):
            with self._lock:
                self._first.setdefault(obj["metadata"]["name"], self._clock())

    def _relist(self) -> str:
        items, version = self._api.list_with_version(self._namespace)
        for obj in items:
            self._see(obj)
        return version

    def _run(self) -> None:
        try:
            while not self._stopped.is_set():
                try:
                    for event in self._api.watch(self._namespace, self._version):
                        if self._stopped.is_set():
                            return
                        self._handle(event)
                except urllib.error.HTTPError as exc:
                    if exc.code != 410:
                        raise
                    self._version = self._relist()  # the version expired: start again
        except BaseException as exc:  # reported by the phase that reads the times
            self.failure = exc

    def _handle(self, event: dict[str, Any]) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                self._version = self._relist()
                return
            raise RuntimeError(f"watch error: {json.dumps(obj)[:500]}")
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self._version = version
        if kind == "ADDED":
            with self._lock:
                if self._first_added is None:
                    self._first_added = self._clock()
        if kind in ("ADDED", "MODIFIED"):
            self._see(obj)
