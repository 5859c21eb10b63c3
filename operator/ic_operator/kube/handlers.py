"""kopf registration: a daemon per object runs its loop; everything else only wakes it.

Handlers go into an explicit registry that :mod:`ic_operator.kube.boot` builds with
the loops they drive, rather than with module-level decorators: the loops are built
from configuration, after the command line is read.

* startup: kopf's settings, the only place they are changed.
* daemon: one per InferenceComponent, for as long as it exists (and this replica is
  active): the object's only writer of status (:mod:`ic_operator.loop.object_loop`).
* event: a watch event that carries news (a new generation, a new retry or redeploy annotation,
  a deletion) wakes the object's loop; echoes of its own status writes do not.
* delete: the finalizer, serialised with the loop by the same lock; it returns when
  SageMaker has let the component go, and kopf then removes the finalizer.
* members: every component's namespace and ACK Endpoint reference
  (:mod:`ic_operator.kube.members`; not a kopf index, which stalls a start over
  thousands of objects), so the handlers below wake exactly the components concerned.
* ACK Endpoints (spec.endpointRef): an event handler on that kind records the object and
  wakes the components that name it. kopf serves it only while the kind's CRD is installed; an
  event handler on that CRD makes sure kopf follows it when it appears
  (:meth:`~ic_operator.kube.ack_endpoints.AckEndpointCache.follow_kind`).
* Namespaces and AccountMappings (with accounts): the cache a pass is placed by; a label
  or mapping change wakes the components it concerns and refreshes the mappings' status.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from ic_operator.kube.accounts import AccountsCache, MappingStatuses
from ic_operator.kube.ack_endpoints import (
    ACK_ENDPOINT_CRD_NAME,
    ACK_ENDPOINTS,
    AckEndpointCache,
)
from ic_operator.kube.login import in_cluster
from ic_operator.kube.members import Members
from ic_operator.loop.object_loop import Loops, deleting
from ic_operator.names import (
    ANNOTATION_PREFIX,
    API_GROUP,
    API_VERSION,
    FINALIZER,
    MAPPING_PLURAL,
    PLURAL,
)

RESOURCE = (API_GROUP, API_VERSION, PLURAL)
NAMESPACES = ("", "v1", "namespaces")
MAPPINGS = (API_GROUP, API_VERSION, MAPPING_PLURAL)


def build_registry(
    loops: Loops,
    ack_endpoints: AckEndpointCache,
    accounts: AccountsCache | None = None,
    mapping_statuses: MappingStatuses | None = None,
) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    members = Members()

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = FINALIZER
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
            prefix=ANNOTATION_PREFIX
        )
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
        )
        settings.posting.level = logging.INFO
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.watching.connect_timeout = 30
        settings.networking.request_timeout = 60

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        """In a pod: the service account (IRSA-style projected token); elsewhere: KUBECONFIG."""
        return in_cluster(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    def has_news(body: kopf.Body, **_: Any) -> bool:
        return loops.news(body)

    @kopf.on.event(*RESOURCE, registry=registry, id="wake", when=has_news)
    async def wake(body: kopf.Body, **_: Any) -> None:
        # async: kopf runs a sync handler in a thread, and an asyncio.Event set from
        # there does not wake the loop waiting on it (the edit would wait for the
        # next resync tick).
        loops.wake(body)

    @kopf.daemon(*RESOURCE, registry=registry, id="loop")
    async def loop(body: kopf.Body, stopped: kopf.DaemonStopped, uid: str, **_: Any) -> None:
        try:
            await loops.get(uid).run(lambda: body, stopped)
        finally:
            if not deleting(body):  # else the finalizer still needs the loop's lock
                loops.drop(uid)

    def moved(body: kopf.Body, type: str | None, **_: Any) -> bool:
        return members.changed(type, body)

    @kopf.on.event(*RESOURCE, registry=registry, id="members", when=moved)
    async def member(body: kopf.Body, type: str | None, **_: Any) -> None:
        members.seen(type, body)

    @kopf.on.event(
        ACK_ENDPOINTS.group,
        ACK_ENDPOINTS.version,
        ACK_ENDPOINTS.plural,
        registry=registry,
        id="ack-endpoint",
    )
    async def ack_endpoint(body: kopf.Body, type: str, **_: Any) -> None:
        key = ack_endpoints.seen(type, body)
        for uid in members.referring_to(key):
            loops.poke(uid)

    def is_ack_endpoint_crd(name: str, type: str, body: kopf.Body, **_: Any) -> bool:
        conditions = (body.get("status") or {}).get("conditions") or []
        established = any(
            c.get("type") == "Established" and c.get("status") == "True" for c in conditions
        )
        return name == ACK_ENDPOINT_CRD_NAME and type != "DELETED" and established

    @kopf.on.event(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        registry=registry,
        id="ack-endpoint-kind",
        when=is_ack_endpoint_crd,
    )
    async def ack_endpoint_kind(body: kopf.Body, **_: Any) -> None:
        await ack_endpoints.follow_kind(body, registry)

    if accounts is not None:
        _watch_accounts(registry, loops, members, accounts, mapping_statuses)

    @kopf.on.delete(*RESOURCE, registry=registry, id="finalize")
    async def finalize(body: kopf.Body, uid: str, **_: Any) -> None:
        try:
            await loops.get(uid).finalize(lambda: body)
        finally:
            loops.drop(uid)

    return registry


def _watch_accounts(
    registry: kopf.OperatorRegistry,
    loops: Loops,
    members: Members,
    accounts: AccountsCache,
    statuses: MappingStatuses | None,
) -> None:
    """Namespaces and AccountMappings (docs/accounts.md): each event updates the cache a
    pass is placed by, wakes the components it may move or free, and refreshes the
    mappings' status."""

    @kopf.on.event(*NAMESPACES, registry=registry, id="namespace")
    async def namespace(body: kopf.Body, type: str, **_: Any) -> None:
        before = accounts.labels.get(str(body.get("metadata", {}).get("name", "")))
        name = accounts.namespace_seen(type, body)
        if accounts.labels.get(name) == before:
            return  # no label changed: nothing moves
        for uid in members.in_namespace(name):
            loops.poke(uid)
        if statuses is not None:
            await statuses.refresh()

    @kopf.on.event(*MAPPINGS, registry=registry, id="account-mapping")
    async def account_mapping(body: kopf.Body, type: str, **_: Any) -> None:
        accounts.mapping_seen(type, body)
        for uid in members.every():
            loops.poke(uid)
        if statuses is not None:
            await statuses.refresh()
