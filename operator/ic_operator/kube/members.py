"""Whom a Namespace's or an ACK Endpoint's event concerns: the components in a
namespace, and the components whose ``spec.endpointRef`` names an ACK Endpoint.

This is deliberately not kopf's ``@kopf.index``. kopf holds every object's first
handling until each index has seen every object present at start, and keeps that
barrier as one toggle per object in a single condition: each new toggle and each
toggle turned on wakes every worker already waiting, and each of them re-reads every
toggle. The cost grows with the cube of the objects present when the operator starts:
a restarted operator over 10,000 components made no SageMaker call in 180 s (issue 22);
at 2,000 it took 53-98 s, with 28 % of the process in kopf's
``ToggleSet.make_toggle``/``notify_all`` (py-spy; bench/README.md). Nothing here needs
the barrier: a component's own pass reads its namespace's mapping and its endpoint
itself; these sets only say whom to wake when one of them changes later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ic_operator.kube.ack_endpoints import reference

Ref = tuple[str, str]  # (namespace, name) of an ACK Endpoint


class Members:
    """Filled from the components' own watch events (:meth:`seen`), read by the
    handlers of the kinds that wake them."""

    def __init__(self) -> None:
        self._where: dict[str, tuple[str, Ref | None]] = {}
        self._namespaces: dict[str, set[str]] = {}
        self._refs: dict[Ref, set[str]] = {}

    @staticmethod
    def _place(body: Mapping[str, Any]) -> tuple[str, str, Ref | None]:
        meta = body.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        spec = body.get("spec")
        ref = reference(spec, namespace) if isinstance(spec, Mapping) else None
        return str(meta.get("uid") or ""), namespace, ref

    def changed(self, type: str | None, body: Mapping[str, Any]) -> bool:
        """Whether :meth:`seen` would change anything (kopf's cheap ``when`` filter,
        so that status echoes cost no handler run)."""
        uid, namespace, ref = self._place(body)
        if type == "DELETED":
            return uid in self._where
        return self._where.get(uid) != (namespace, ref)

    def seen(self, type: str | None, body: Mapping[str, Any]) -> None:
        uid, namespace, ref = self._place(body)
        self._forget(uid)
        if type != "DELETED" and uid:
            self._where[uid] = (namespace, ref)
            self._namespaces.setdefault(namespace, set()).add(uid)
            if ref is not None:
                self._refs.setdefault(ref, set()).add(uid)

    def _forget(self, uid: str) -> None:
        where = self._where.pop(uid, None)
        if where is None:
            return
        namespace, ref = where
        _discard(self._namespaces, namespace, uid)
        if ref is not None:
            _discard(self._refs, ref, uid)

    def in_namespace(self, namespace: str) -> list[str]:
        return list(self._namespaces.get(namespace, ()))

    def referring_to(self, ref: Ref) -> list[str]:
        return list(self._refs.get(ref, ()))

    def every(self) -> list[str]:
        return list(self._where)


def _discard(sets: dict[Any, set[str]], key: Any, uid: str) -> None:
    members = sets.get(key)
    if members is not None:
        members.discard(uid)
        if not members:
            del sets[key]
