"""`ic-operator run`: the composition root. Every part of the operator is built here,
once and complete, and handed what it uses; no part is wired after it is built and
none reaches into another to wire it.

What depends on what, bottom up: the SageMaker door (told when a write begins, so a
pass that has begun one is never cut short), the endpoint sweep (told when a listing
shows components moving, so the loops waiting on them look), the reconciler, the
status client (over the settings kopf runs with), the loops, kopf's handlers.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
from dataclasses import dataclass

import kopf
from kopf._cogs.structs import references as kopf_references

from ic_operator import config, metrics
from ic_operator.autoscaling.sweep import AutoScalingSweep
from ic_operator.aws.assume import RoleCredentials
from ic_operator.aws.client import SageMakerClient
from ic_operator.aws.identity import CredentialsProblem, who_am_i
from ic_operator.aws.operations import AUTOSCALING_RULES
from ic_operator.aws.placement import Unmapped
from ic_operator.kube import collector, logfilters, memory
from ic_operator.kube.accounts import ACCOUNT_MAPPINGS, AccountsCache, MappingStatuses
from ic_operator.kube.ack_endpoints import AckEndpointCache
from ic_operator.kube.handlers import build_registry
from ic_operator.kube.places import Places
from ic_operator.kube.status_client import KopfKube
from ic_operator.loop import preemption
from ic_operator.loop.object_loop import Loops, Transitions
from ic_operator.reconcile.passes import Reconciler
from ic_operator.reconcile.placed import PlacedReconcilers
from ic_operator.reconcile.sweep import EndpointSweep
from ic_operator.reconcile.types import DEFAULT, Strategy

log = logging.getLogger("ic_operator")


@dataclass(frozen=True)
class Operator:
    """Everything kopf is started with."""

    registry: kopf.OperatorRegistry
    # The one settings object: the startup handler sets it up, kopf and the status
    # client read it.
    kopf_settings: kopf.OperatorSettings
    loops: Loops
    # kopf's view of the kinds it serves (the ACK Endpoint cache follows its CRD with it).
    insights: kopf_references.Insights


def build(
    settings: config.Settings,
    *,
    strategy: Strategy = DEFAULT,
    principal: str = "",
    account: str = "",
) -> Operator:
    """The operator for ``settings``. ``strategy``: how SageMaker is read and compared;
    only the benchmark's naive baseline (bench/naive.py) passes another. ``principal``:
    the operator's ARN (GetCallerIdentity), named in every refusal; ``account``: its
    account (the place of the namespaces it serves as itself)."""
    client = SageMakerClient.from_settings(
        settings, services=AUTOSCALING_RULES, on_write=preemption.commit, principal=principal
    )
    client.account = account
    client.budget.place(account, settings.region)
    client.prepare()
    transitions = Transitions()
    sweep = EndpointSweep(client, on_moved=transitions.moved)
    scaling_sweep = AutoScalingSweep(client, on_moved=transitions.moved)
    kopf_settings = kopf.OperatorSettings()
    ack_endpoints = AckEndpointCache(kopf_settings)
    reconciler = Reconciler(
        client,
        settings,
        strategy=strategy,
        sweep=sweep,
        scaling_sweep=scaling_sweep,
        ack_endpoints=ack_endpoints,
    )
    # Accounts (docs/accounts.md): each pass placed by namespace and AccountMappings.
    accounts = AccountsCache(
        unmapped=Unmapped(settings.unmapped_namespaces),
        operator_account=account,
        operator_region=settings.region,
    )
    roles = RoleCredentials(cluster=settings.cluster_name, region=settings.region)
    places = Places(settings, roles, transitions, ack_endpoints, strategy)
    placed = PlacedReconcilers(accounts, reconciler, places.build)
    loops = Loops(placed, KopfKube(kopf_settings), transitions)
    statuses = MappingStatuses(accounts, KopfKube(kopf_settings, ACCOUNT_MAPPINGS).patch_status)
    accounts.on_held = statuses.refresh
    registry = build_registry(loops, ack_endpoints, accounts, statuses)
    return Operator(registry, kopf_settings, loops, ack_endpoints.insights)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    config.add_arguments(parser)


def run(args: argparse.Namespace, *, strategy: Strategy = DEFAULT) -> int:
    settings = config.from_args(args)
    logfilters.configure(settings.log_format)
    try:
        identity = who_am_i(settings.region)
    except CredentialsProblem as exc:
        # One line and a non-zero exit: a pod without an identity cannot do anything.
        log.error("cannot start: %s", exc)
        return 2
    metrics.serve(settings.metrics_port)
    return asyncio.run(
        _operate(
            settings,
            strategy,
            identity.arn if identity else "",
            identity.account if identity else "",
        )
    )


async def _operate(
    settings: config.Settings, strategy: Strategy, principal: str, account: str = ""
) -> int:
    # Before kopf opens its first connection:
    memory.shrink_tls_read_buffers()
    memory.cap_client_connections(memory.connection_cap(len(settings.namespaces)))
    memory.slim_watch_events()
    # Before /healthz answers (kopf.operator serves it):
    operator = build(settings, strategy=strategy, principal=principal, account=account)
    log.info(
        "starting: namespaces=%s region=%s resync=%ss",
        ",".join(settings.namespaces) or "*",
        settings.region,
        settings.resync_interval,
    )
    # Full GC passes that walk only what changed, not every component's objects.
    collections = asyncio.ensure_future(collector.keep_collections_short())
    try:
        await _run_kopf(operator, settings)
    finally:
        collections.cancel()
    return 0


async def _run_kopf(operator: Operator, settings: config.Settings) -> None:
    await kopf.operator(
        registry=operator.registry,
        settings=operator.kopf_settings,
        insights=operator.insights,
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


def _peering_priority() -> int:
    """Random unless IC_OPERATOR_PEERING_PRIORITY pins it (to choose the active replica)."""
    pinned = os.environ.get("IC_OPERATOR_PEERING_PRIORITY")
    return int(pinned) if pinned else random.randint(1, 2**31 - 1)
