"""kopf registration: each handler is a few lines that call the reconciler.

Handlers are registered into an explicit registry at start-up rather than with
module-level decorators, because the resync interval is configuration.

* create/update/resume: converge now; while SageMaker is transitioning, raise
  TemporaryError so kopf looks again after a growing delay (new edits cut that
  wait short, which is what makes edits during a rollout coalesce).
* timer: drift detection at the resync interval, with jitter so that a thousand
  components do not wake together.
* delete: the finaliser; kopf removes it when the handler returns.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
from typing import Any

import kopf

from ic_operator import API_GROUP, API_VERSION, PLURAL, config, metrics
from ic_operator.login import in_cluster
from ic_operator.reconciler import Reconciler, Result
from ic_operator.sagemaker import SageMakerClient

PREFIX = "sagemaker.ic-operator.io"
FINALIZER = f"{PREFIX}/finalizer"
RESOURCE = (API_GROUP, API_VERSION, PLURAL)

log = logging.getLogger("ic_operator")


def _apply(result: Result, body: kopf.Body, patch: kopf.Patch) -> None:
    if result.status:
        patch.setdefault("status", {}).update(result.status)
    for event in result.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)
    if result.delay is not None and result.poll:
        raise kopf.TemporaryError(f"looking again in {result.delay:.1f}s", delay=result.delay)


def build_registry(settings: config.Settings, reconciler: Reconciler) -> kopf.OperatorRegistry:
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

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        """In a pod: the service account (IRSA-style projected token); elsewhere: KUBECONFIG."""
        return in_cluster(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    async def converge(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        _apply(await reconciler.reconcile(body, trigger="change"), body, patch)

    async def resync(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        _apply(await reconciler.reconcile(body, trigger="timer"), body, patch)

    async def finalize(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        _apply(await reconciler.finalize(body), body, patch)

    for decorator in (kopf.on.create, kopf.on.update, kopf.on.resume):
        decorator(*RESOURCE, registry=registry, id="converge", retries=None, backoff=5)(converge)
    # The timer ticks at most every 30 s but works only when a component is due (its
    # resync interval or its backoff has passed): backoffs end on time, edits never wait.
    interval = min(settings.resync_interval, 30.0)
    kopf.timer(
        *RESOURCE,
        registry=registry,
        id="resync",
        interval=interval,
        initial_delay=lambda **_: random.uniform(interval / 2, interval),
    )(resync)
    kopf.on.delete(*RESOURCE, registry=registry, id="finalize", retries=None, backoff=5)(finalize)
    return registry


def _peering_priority() -> int:
    """Random unless IC_OPERATOR_PEERING_PRIORITY pins it (to choose the active replica)."""
    pinned = os.environ.get("IC_OPERATOR_PEERING_PRIORITY")
    return int(pinned) if pinned else random.randint(1, 2**31 - 1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    config.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    settings = config.from_args(args)
    kopf.configure(
        log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL
    )
    logging.getLogger("botocore").setLevel(logging.WARNING)
    metrics.serve(settings.metrics_port)
    return asyncio.run(_operate(settings))


async def _operate(settings: config.Settings) -> int:
    client = SageMakerClient.from_settings(settings)
    reconciler = Reconciler(client, settings)
    registry = build_registry(settings, reconciler)
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
