"""kopf registration: a daemon per object runs its loop; everything else only wakes it.

Handlers are registered into an explicit registry at start-up rather than with
module-level decorators, because the loop's settings are configuration.

* daemon: one per InferenceComponent, for as long as it exists (and this replica is
  active): the object's only writer of status (:mod:`ic_operator.loop.object_loop`).
* event: a watch event that carries news (a new generation, a new retry or redeploy annotation,
  a deletion) wakes the object's loop; echoes of its own status writes do not.
* delete: the finaliser, serialised with the loop by the same lock; it returns when
  SageMaker has let the component go, and kopf then removes the finalizer.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import re
from typing import Any

import kopf

from ic_operator import API_GROUP, API_VERSION, PLURAL, config, metrics
from ic_operator.aws import operations
from ic_operator.aws.client import SageMakerClient
from ic_operator.kube import memory
from ic_operator.kube.login import in_cluster
from ic_operator.kube.status_client import KopfKube
from ic_operator.loop.object_loop import Loops, deleting
from ic_operator.reconcile.passes import Reconciler
from ic_operator.reconcile.types import DEFAULT, Strategy

PREFIX = "sagemaker.ic-operator.io"
FINALIZER = f"{PREFIX}/finalizer"
RESOURCE = (API_GROUP, API_VERSION, PLURAL)

log = logging.getLogger("ic_operator")
RETRIED_REQUEST = re.compile(r"Request attempt \S+ failed; will retry: ")
# kopf's line for every watch event with news, and for every loop that ends (a thousand
# at each shutdown with a thousand components).
ROUTINE_KOPF = frozenset({"Handler 'wake' succeeded.", "Daemon 'loop' succeeded."})
HEALTHZ = '"GET /healthz '


def build_registry(loops: Loops, kube: KopfKube) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = FINALIZER
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=PREFIX, key="last-handled-configuration"
        )
        settings.posting.level = logging.INFO
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.watching.connect_timeout = 30
        settings.networking.request_timeout = 60
        kube.settings = settings

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
        # next resync tick: measured as one edit in fifty taking 20 s at N=1000).
        loops.wake(body)

    @kopf.daemon(*RESOURCE, registry=registry, id="loop")
    async def loop(
        body: kopf.Body, stopped: kopf.DaemonStopped, uid: str, resource: kopf.Resource, **_: Any
    ) -> None:
        kube.resource = resource
        try:
            await loops.get(uid).run(lambda: body, stopped)
        finally:
            if not deleting(body):  # else the finaliser still needs the loop's lock
                loops.drop(uid)

    @kopf.on.delete(*RESOURCE, registry=registry, id="finalize")
    async def finalize(body: kopf.Body, uid: str, resource: kopf.Resource, **_: Any) -> None:
        kube.resource = resource
        try:
            await loops.get(uid).finalise(lambda: body)
        finally:
            loops.drop(uid)

    return registry


def _peering_priority() -> int:
    """Random unless IC_OPERATOR_PEERING_PRIORITY pins it (to choose the active replica)."""
    pinned = os.environ.get("IC_OPERATOR_PEERING_PRIORITY")
    return int(pinned) if pinned else random.randint(1, 2**31 - 1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    config.add_arguments(parser)


class RetriesAreWarnings(logging.Filter):
    """Log kopf's retried Kubernetes API requests as WARNING, not ERROR.

    kopf logs every attempt that it will retry at ERROR; a fresh `helm install` meets
    one at once (the API server answers 429 "storage is (re)initializing" while the
    chart's just-created CRD settles), so alerting on ERROR would fire on every healthy
    install. The last attempt ("escalating") stays an ERROR: that one is a failure.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and RETRIED_REQUEST.match(record.getMessage()):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class RoutineIsDebug(logging.Filter):
    """Keep the lines every healthy object or probe writes out of an INFO log: kopf's
    "Handler 'wake' succeeded." (one per watch event with news: a thousand at start-up
    with a thousand components), "Daemon 'loop' succeeded." (one per object at each
    shutdown) and the access log of the liveness probe. They are still written when the
    root logger is at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            return True
        if record.name == "kopf.objects" and record.getMessage() in ROUTINE_KOPF:
            return False
        return not (record.name == "aiohttp.access" and HEALTHZ in record.getMessage())


def run(args: argparse.Namespace, *, strategy: Strategy = DEFAULT) -> int:
    """``strategy``: how SageMaker is read and compared (the benchmark injects its naive
    baseline here; the product always runs the default)."""
    settings = config.from_args(args)
    kopf.configure(
        log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL
    )
    for handler in logging.getLogger().handlers:  # the ones kopf.configure installed
        handler.addFilter(RetriesAreWarnings())
        handler.addFilter(RoutineIsDebug())
    logging.getLogger("botocore").setLevel(logging.WARNING)
    metrics.serve(settings.metrics_port)
    return asyncio.run(_operate(settings, strategy))


async def _operate(settings: config.Settings, strategy: Strategy) -> int:
    # Before kopf opens its first connection:
    memory.shrink_tls_read_buffers()
    memory.cap_client_connections(memory.connection_cap(len(settings.namespaces)))
    client = SageMakerClient.from_settings(settings, services=operations.AUTOSCALING_RULES)
    client.prepare()
    kube = KopfKube()
    loops = Loops(Reconciler(client, settings, strategy=strategy), kube)
    registry = build_registry(loops, kube)
    log.info(
        "starting: namespaces=%s region=%s resync=%ss",
        ",".join(settings.namespaces) or "*",
        settings.region,
        settings.resync_interval,
    )
    await kopf.operator(
        registry=registry,
        standalone=settings.peering is None,
        peering_name=settings.peering,
        # kopf pauses *every* peer that shares the highest priority; a random one per
        # process makes exactly one replica active and the others stand by.
        priority=_peering_priority() if settings.peering else None,
        namespaces=list(settings.namespaces),
        clusterwide=not settings.namespaces,
        liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz"
        if settings.health_port
        else None,
    )
    return 0
