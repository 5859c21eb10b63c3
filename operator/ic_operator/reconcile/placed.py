"""One Reconciler per place a component can live in, and the choice among them.

A place is a role (or the operator's own identity) in a region, and for a role the
namespace it acts for (its credentials name the namespace, aws/assume.py). Each has its
own door to AWS; every place of one role and region shares that door's call budget and
listings, so an account that throttles slows nobody else (docs/accounts.md). Which place
a component's pass runs in is decided here, before anything is called: where its
namespace maps now (aws/placement.py), held to where it was created (`status.account`).
A refusal runs in the operator's own Reconciler, which reports it and calls nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from ic_operator.aws.placement import Placement, Refusal, pinned
from ic_operator.models import InferenceComponentStatus
from ic_operator.reconcile.passes import Reconciler
from ic_operator.reconcile.types import PassResult, PollPolicy, Trigger


class Placements(Protocol):
    """What the Kubernetes side knows of namespaces and AccountMappings (kube layer)."""

    def place(self, namespace: str, spec_region: str | None) -> Placement | Refusal:
        """Where a component of `namespace` asking for `spec_region` lives now."""

    def mapping(self, name: str) -> Placement | None:
        """The place mapping `name` gives (its default region), None if it is gone."""

    async def hold(self, component: str, mappings: Iterable[str], would_move: str) -> None:
        """Report on the mappings' status that `component` (NAMESPACE/NAME) is held where
        it was created (would_move "account" or "region"), or no longer (would_move "")."""


PlaceKey = tuple[str, str, str]  # (role ARN or "", region, namespace or "")


class PlacedReconcilers:
    """The Reconciler the loops call: it routes each pass to its place's Reconciler."""

    def __init__(
        self,
        placements: Placements,
        own: Reconciler,
        build: Callable[[Placement, str], Reconciler],
    ) -> None:
        """``own``: the operator's own identity's Reconciler (every region: its door
        keeps a client per region); ``build``: a role's Reconciler for a place and the
        namespace it acts for, made on first use and kept."""
        self.placements = placements
        self.own = own
        self._build = build
        self._by_place: dict[PlaceKey, Reconciler] = {}

    @property
    def poll(self) -> PollPolicy:
        return self.own.poll

    def _reconciler(self, placement: Placement, namespace: str) -> Reconciler:
        if placement.role_arn is None:
            return self.own
        key = (placement.role_arn, placement.region, namespace)
        found = self._by_place.get(key)
        if found is None:
            found = self._by_place[key] = self._build(placement, namespace)
        return found

    def where(self, body: Mapping[str, Any]) -> Placement | Refusal:
        """Where this component's pass runs: where its namespace maps now, held to where it
        was created."""
        meta = body.get("metadata") or {}
        namespace = str(meta.get("namespace", ""))
        spec_region = (body.get("spec") or {}).get("region")
        now = self.placements.place(
            namespace, spec_region if isinstance(spec_region, str) else None
        )
        recorded = InferenceComponentStatus.parse(body.get("status") or {}).account
        if recorded is None:
            return now
        return pinned(recorded.account_id, recorded.region, recorded.mapping, now)

    async def _report_held(
        self, body: Mapping[str, Any], placement: Placement | Refusal | None
    ) -> None:
        """The AccountChanged this pass reports goes on the mappings too (status.held),
        and leaves them when the pass no longer reports it."""
        meta = body.get("metadata") or {}
        component = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        if isinstance(placement, Refusal) and placement.would_move:
            await self.placements.hold(component, placement.mappings, placement.would_move)
        else:
            await self.placements.hold(component, (), "")

    async def reconcile(self, body: Mapping[str, Any], trigger: Trigger) -> PassResult:
        placement = self.where(body)
        await self._report_held(body, placement)
        if isinstance(placement, Refusal):
            return await self.own.reconcile(body, trigger, placement)
        namespace = str((body.get("metadata") or {}).get("namespace", ""))
        return await self._reconciler(placement, namespace).reconcile(body, trigger, placement)

    async def finalize(self, body: Mapping[str, Any]) -> PassResult:
        """A component is deleted where it was created, while its mapping still exists
        (a label edit since does not stop a deliberate move: delete, then apply again)."""
        placement = self.where(body)
        await self._report_held(body, None)  # a component going away holds nothing
        recorded = InferenceComponentStatus.parse(body.get("status") or {}).account
        if isinstance(placement, Refusal) and recorded is not None:
            if not recorded.mapping:
                placement = Placement(recorded.account_id, recorded.region)
            else:
                mapped = self.placements.mapping(recorded.mapping)
                if mapped is not None and mapped.account_id == recorded.account_id:
                    placement = Placement(
                        mapped.account_id,
                        recorded.region,
                        mapped.mapping,
                        mapped.role_arn,
                        mapped.external_id,
                        mapped.calls_per_second,
                    )
        if isinstance(placement, Refusal):
            return await self.own.finalize(body, placement)
        namespace = str((body.get("metadata") or {}).get("namespace", ""))
        return await self._reconciler(placement, namespace).finalize(body, placement)
