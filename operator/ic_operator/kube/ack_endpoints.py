"""The ACK Endpoints that components' spec.endpointRef name, as the watch last saw them.

kopf watches ACK's `Endpoint` kind when its CRD is installed (and starts to when it
appears: kopf follows CRDs); every event lands in :meth:`AckEndpointCache.seen` and
wakes the components that reference that object (:mod:`ic_operator.kube.handlers`
finds them by an index of (namespace, name)). A pass reads from here; an object the
watch has not (yet) delivered is read once from the API server, which also tells a
missing object from a kind that is not installed. Without the CRD nothing fails and
nothing is logged above INFO: references then read as "kind not installed".

kopf starts watching a kind that appears by re-reading the API server's discovery of its
group once per CRD event; when all of a lone CRD's events (added, names accepted,
established) come before discovery serves the new kind, kopf never watches it. ACK's
chart installs some thirty CRDs in that group, so a later one usually covers the miss;
`kubectl apply` of the Endpoint CRD alone does not. :meth:`AckEndpointCache.follow_kind`
repeats kopf's own re-read until the kind is watched (seen under load: the component
then waited for the resync, 300 s, instead of the watch).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import kopf
from kopf._cogs.clients import api as kopf_api
from kopf._cogs.clients import errors as kopf_errors
from kopf._cogs.structs.references import Insights, NamespaceName
from kopf._core.reactor.observation import process_discovered_resource_event

from ic_operator.reconcile.endpoint_ref import ACK_GROUP, ACK_PLURAL, ACK_VERSION, AckLookup, Found

log = logging.getLogger("ic_operator.kube.ack_endpoints")

ACK_ENDPOINTS = kopf.Resource(ACK_GROUP, ACK_VERSION, ACK_PLURAL, kind="Endpoint", namespaced=True)
ACK_ENDPOINT_CRD_NAME = f"{ACK_PLURAL}.{ACK_GROUP}"
ACK_ENDPOINT_CRD = (
    f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{ACK_ENDPOINT_CRD_NAME}"
)
# How long discovery may lag an established CRD before kopf's watch is left to the next
# CRD event: 30 re-reads, one a second (a re-read is two small GETs).
FOLLOW_ATTEMPTS, FOLLOW_DELAY = 30, 1.0


def reference(spec: Mapping[str, Any], namespace: str) -> tuple[str, str] | None:
    """(namespace, name) of the ACK Endpoint a component's spec refers to, if any; read
    leniently (the index sees specs the operator has not validated)."""
    ref = spec.get("endpointRef")
    if not isinstance(ref, Mapping) or not isinstance(ref.get("name"), str):
        return None
    return (str(ref.get("namespace") or namespace), ref["name"])


class AckEndpointCache:
    """:class:`ic_operator.reconcile.endpoint_ref.AckEndpoints` over kopf's watch."""

    def __init__(self, settings: kopf.OperatorSettings) -> None:
        """``settings``: the ones kopf runs with (its API client reads them)."""
        self.settings = settings
        # kopf's view of what it serves, handed to kopf.operator (boot) so that
        # follow_kind can tell whether the kind is watched and make it so.
        self.insights = Insights()
        self._seen: dict[tuple[str, str], Mapping[str, Any]] = {}

    def watched(self) -> bool:
        """Does kopf watch ACK's Endpoint kind?"""
        return any(
            r.group == ACK_GROUP and r.plural == ACK_PLURAL for r in self.insights.watched_resources
        )

    async def follow_kind(self, crd: Mapping[str, Any], registry: kopf.OperatorRegistry) -> None:
        """The Endpoint CRD is established: re-read its group's discovery, as kopf does
        on a CRD event, until kopf watches the kind (its first listing then wakes the
        components that wait for an object of it)."""
        event: Any = {"type": "MODIFIED", "object": crd}
        for _ in range(FOLLOW_ATTEMPTS):
            if self.watched():
                return
            await process_discovered_resource_event(
                raw_event=event, settings=self.settings, registry=registry, insights=self.insights
            )
            if self.watched():
                log.info(
                    "watching ACK Endpoints (%s): its CRD is established", ACK_ENDPOINT_CRD_NAME
                )
                return
            await asyncio.sleep(FOLLOW_DELAY)
        log.warning(
            "the ACK Endpoint CRD is established but the API server's discovery has not "
            "served the kind for %.0f s; components by spec.endpointRef fall back to the "
            "resync interval until the next change of a CRD in %s",
            FOLLOW_ATTEMPTS * FOLLOW_DELAY,
            ACK_GROUP,
        )

    def seen(self, event_type: str, body: Mapping[str, Any]) -> tuple[str, str]:
        """Record a watch event; returns the object's (namespace, name)."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        if event_type == "DELETED":
            self._seen.pop(key, None)
        else:
            self._seen[key] = {k: body.get(k) for k in ("metadata", "spec", "status")}
        return key

    async def get(self, namespace: str, name: str) -> AckLookup:
        body = self._seen.get((namespace, name))
        if body is not None:
            return AckLookup(Found.OBJECT, body)
        url = ACK_ENDPOINTS.get_url(namespace=NamespaceName(namespace), name=name)
        try:
            found = await kopf_api.get(url=url, settings=self.settings, logger=log)
        except kopf_errors.APINotFoundError:
            return AckLookup(await self._absent())
        except kopf_errors.APIForbiddenError:
            return AckLookup(Found.FORBIDDEN)
        return AckLookup(Found.OBJECT, found)

    async def _absent(self) -> Found:
        """No such object: is there no such kind either?"""
        try:
            await kopf_api.get(url=ACK_ENDPOINT_CRD, settings=self.settings, logger=log)
        except kopf_errors.APINotFoundError:
            return Found.NO_KIND
        return Found.MISSING
