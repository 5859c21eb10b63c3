"""The Kubernetes side of the loop: status writes, events and the finalizer's reads,
through kopf's client.

kopf applies a daemon's ``patch`` only when the daemon returns, and a loop that
lives as long as its object must write status after every pass. kopf's own API
client does that with the credentials kopf logged in with (and re-logs in on 401);
it is private API, so it is used here and nowhere else (kopf is pinned in
constraints.txt).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, cast

import kopf
from kopf._cogs.clients import api as kopf_api
from kopf._cogs.clients import errors as kopf_errors

from ic_operator import metrics
from ic_operator.kube import memory
from ic_operator.names import API_GROUP, API_VERSION, KIND, PLURAL

log = logging.getLogger("ic_operator.kube.status_client")

INFERENCE_COMPONENTS = kopf.Resource(API_GROUP, API_VERSION, PLURAL, kind=KIND, namespaced=True)

# Status writes in flight at once. kopf's aiohttp pool has no connection limit, so every
# concurrent request opens a TLS connection with its own read buffer (see
# ic_operator.kube.memory). A thousand loops finishing a pass together would open a
# thousand; a handful keeps up with any write rate the API server accepts.
STATUS_WRITES_IN_FLIGHT = 8


class KopfKube:
    """:class:`ic_operator.loop.object_loop.Kube` over kopf's authenticated API client."""

    def __init__(
        self, settings: kopf.OperatorSettings, resource: kopf.Resource = INFERENCE_COMPONENTS
    ) -> None:
        """``settings``: the ones kopf runs with (passed to ``kopf.operator``), which its
        API client reads for timeouts and credentials on every request."""
        self.settings = settings
        self.resource = resource
        self._in_flight = asyncio.Semaphore(STATUS_WRITES_IN_FLIGHT)

    async def patch_status(
        self, body: Mapping[str, Any], patch: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        meta = body.get("metadata") or {}
        url = self.resource.get_url(
            namespace=meta.get("namespace"), name=meta.get("name"), subresource="status"
        )
        try:
            async with self._in_flight:
                written: Mapping[str, Any] = await kopf_api.patch(
                    url=url,
                    headers={"Content-Type": "application/merge-patch+json"},
                    payload={"status": dict(patch)},
                    settings=self.settings,
                    logger=log,
                )
        except kopf_errors.APINotFoundError:
            metrics.STATUS_WRITES.labels(result="gone").inc()
            return None  # deleted meanwhile: nothing left to report on
        except Exception:
            metrics.STATUS_WRITES.labels(result="failed").inc()
            raise
        metrics.STATUS_WRITES.labels(result="written").inc()
        # The loop keeps it until the watch catches up: not its managedFields.
        return memory.without_managed_fields(written)

    async def read(self, body: Mapping[str, Any]) -> Mapping[str, Any] | None:
        meta = body.get("metadata") or {}
        url = self.resource.get_url(namespace=meta.get("namespace"), name=meta.get("name"))
        try:
            found: Mapping[str, Any] = await kopf_api.get(
                url=url, settings=self.settings, logger=log
            )
        except kopf_errors.APINotFoundError:
            return None
        return memory.without_managed_fields(found)

    def post_event(self, body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        kopf.event(
            kopf.Body(cast(kopf.RawBody, dict(body))), type=type, reason=reason, message=message
        )
