"""The Kubernetes side of the loop: status writes and events, through kopf's client.

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

log = logging.getLogger("ic_operator.kube.status_client")

# Status writes in flight at once. kopf's aiohttp pool has no connection limit, so every
# concurrent request opens a TLS connection with its own read buffer (256 KiB before
# ic_operator.kube.memory capped it; bench tracemalloc: 149 KiB per component at 300
# components, the largest site). A thousand loops finishing a pass together would open
# a thousand; a handful keeps up with any write rate the API server accepts.
STATUS_WRITES_IN_FLIGHT = 8


class KopfKube:
    """:class:`ic_operator.aws.ports.Kube` over kopf's authenticated API client."""

    def __init__(self, resource: kopf.Resource | None = None) -> None:
        self.resource = resource
        self.settings: kopf.OperatorSettings | None = None  # set by the startup handler
        self._in_flight = asyncio.Semaphore(STATUS_WRITES_IN_FLIGHT)

    async def patch_status(
        self, body: Mapping[str, Any], patch: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        assert self.resource is not None and self.settings is not None
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
        return written

    def post_event(self, body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        kopf.event(
            kopf.Body(cast(kopf.RawBody, dict(body))), type=type, reason=reason, message=message
        )
