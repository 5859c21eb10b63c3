"""The doors to a mapping's account: for each role and region one call budget and one set
of shared listings; for each namespace it acts for, credentials of its own (the session
names the namespace, aws/assume.py) and a Reconciler over them. Built on first use by
reconcile/placed.py; part of the composition root (boot.py).

SageMaker throttles per account and region, so the budget is the mapping's
`callsPerSecond` (else `--max-calls-per-second`) for each region of it, shared by every
namespace of the mapping and by nobody else: an account that throttles or is slow backs
off alone (docs/accounts.md, "Per account and region").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ic_operator.autoscaling.sweep import AutoScalingSweep
from ic_operator.aws.assume import RoleCredentials, RoleKey
from ic_operator.aws.botocore_model import (
    default_client_factory,
    default_service_client_factory,
    session_with,
)
from ic_operator.aws.budget import CallBudget
from ic_operator.aws.client import SageMakerClient
from ic_operator.aws.operations import AUTOSCALING_RULES
from ic_operator.aws.placement import Placement
from ic_operator.config import Settings
from ic_operator.loop import preemption
from ic_operator.loop.object_loop import Transitions
from ic_operator.reconcile.endpoint_ref import AckEndpoints
from ic_operator.reconcile.passes import Reconciler
from ic_operator.reconcile.sweep import EndpointSweep
from ic_operator.reconcile.types import DEFAULT, Strategy


@dataclass
class _Shared:
    """What every namespace of one role in one region shares."""

    budget: CallBudget
    sweep: EndpointSweep | None = None
    scaling_sweep: AutoScalingSweep | None = None


class Places:
    def __init__(
        self,
        settings: Settings,
        roles: RoleCredentials,
        transitions: Transitions,
        ack_endpoints: AckEndpoints | None,
        strategy: Strategy = DEFAULT,
    ) -> None:
        self.settings = settings
        self.roles = roles
        self.transitions = transitions
        self.ack_endpoints = ack_endpoints
        self.strategy = strategy
        self._shared: dict[tuple[str, str], _Shared] = {}

    def budget(self, placement: Placement) -> CallBudget:
        """The role's budget in the placement's region (one per account and region)."""
        key = placement.key
        shared = self._shared.get(key)
        if shared is None:
            rate = placement.calls_per_second or self.settings.max_calls_per_second
            budget = CallBudget(
                rate,
                burst=max(1.0, 2 * rate),
                concurrency=self.settings.max_concurrency,
                account=placement.account_id,
                region=placement.region,
            )
            shared = self._shared[key] = _Shared(budget)
        return shared.budget

    def build(self, placement: Placement, namespace: str) -> Reconciler:
        """A Reconciler acting as the placement's role for `namespace`."""
        assert placement.role_arn is not None, "the operator's own identity has its own"
        budget = self.budget(placement)
        shared = self._shared[placement.key]
        key = RoleKey(placement.role_arn, placement.external_id, namespace)
        session = session_with(self.roles.get(key))
        client = SageMakerClient(
            default_region=placement.region,
            max_concurrency=self.settings.max_concurrency,
            client_factory=functools.partial(default_client_factory, session=session),
            service_client_factory=functools.partial(
                default_service_client_factory, session=session
            ),
            budget=budget,
            services=AUTOSCALING_RULES,
            on_write=preemption.commit,
            principal=f"role {placement.role_arn} (for namespace {namespace})",
        )
        # A refused refresh names the mapping's role, not the process's own (IRSA) one.
        client.role = placement.role_arn
        client.account = placement.account_id
        if shared.sweep is None:
            # The shared listings go out with the first namespace's session: any of the
            # role's sessions may read the account's listings.
            shared.sweep = EndpointSweep(client, on_moved=self.transitions.moved)
            shared.scaling_sweep = AutoScalingSweep(client, on_moved=self.transitions.moved)
        return Reconciler(
            client,
            self.settings,
            strategy=self.strategy,
            sweep=shared.sweep,
            scaling_sweep=shared.scaling_sweep,
            ack_endpoints=self.ack_endpoints,
        )
