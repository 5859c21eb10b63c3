"""The namespaces' labels and the AccountMappings, as kopf's watches last delivered them:
what a pass is placed by (reconcile/placed.py, aws/placement.py).

Both kinds are cluster-scoped and watched whole, whatever namespaces the operator serves.
A mapping that does not parse (a CRD older than the operator, a spec stored without
admission) selects nothing and is reported once in the log: it can never place a
component somewhere its author did not mean.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import kopf
import pydantic

from ic_operator.aws.placement import (
    AccountMapping,
    MappingReport,
    Placement,
    Refusal,
    Unmapped,
    place,
    reports,
)
from ic_operator.models import validation_message
from ic_operator.models.accounts import AccountMappingSpec
from ic_operator.names import API_GROUP, API_VERSION, MAPPING_KIND, MAPPING_PLURAL

log = logging.getLogger("ic_operator.kube.accounts")

ACCOUNT_MAPPINGS = kopf.Resource(
    API_GROUP, API_VERSION, MAPPING_PLURAL, kind=MAPPING_KIND, namespaced=False
)


class AccountsCache:
    """`reconcile.placed.Placements` over the watches."""

    def __init__(self, *, unmapped: Unmapped, operator_account: str, operator_region: str):
        self.unmapped = unmapped
        self.operator_account = operator_account
        self.operator_region = operator_region
        self.labels: dict[str, dict[str, str]] = {}
        self.mappings: dict[str, AccountMapping] = {}
        self._invalid: dict[str, str] = {}  # mapping name -> why it is ignored
        self.generations: dict[str, int] = {}  # mapping name -> metadata.generation
        self.held: dict[str, tuple[tuple[str, ...], str]] = {}  # placement.Held
        # Called when what is held changes (MappingStatuses.refresh, set at boot).
        self.on_held: Callable[[], Awaitable[None]] | None = None

    # ---- the watches ---------------------------------------------------------------
    def namespace_seen(self, event_type: str, body: Mapping[str, Any]) -> str:
        meta = body.get("metadata") or {}
        name = str(meta.get("name", ""))
        if event_type == "DELETED":
            self.labels.pop(name, None)
        else:
            self.labels[name] = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        return name

    def mapping_seen(self, event_type: str, body: Mapping[str, Any]) -> str:
        meta = body.get("metadata") or {}
        name = str(meta.get("name", ""))
        if event_type == "DELETED":
            self.mappings.pop(name, None)
            self._invalid.pop(name, None)
            self.generations.pop(name, None)
            return name
        self.generations[name] = int(meta.get("generation", 0))
        try:
            spec = AccountMappingSpec.model_validate(body.get("spec") or {})
        except pydantic.ValidationError as err:
            self.mappings.pop(name, None)
            why = validation_message(err)
            if self._invalid.get(name) != why:
                log.warning("AccountMapping %s is ignored: %s", name, why)
            self._invalid[name] = why
            return name
        self._invalid.pop(name, None)
        self.mappings[name] = AccountMapping(name, spec)
        return name

    # ---- what a pass asks ----------------------------------------------------------
    def place(self, namespace: str, spec_region: str | None) -> Placement | Refusal:
        return place(
            namespace,
            self.labels.get(namespace, {}),
            self.mappings.values(),
            spec_region=spec_region,
            unmapped=self.unmapped,
            operator_account=self.operator_account,
            operator_region=self.operator_region,
        )

    def mapping(self, name: str) -> Placement | None:
        found = self.mappings.get(name)
        if found is None:
            return None
        spec = found.spec
        return Placement(
            spec.account_id,
            spec.default_region,
            name,
            spec.role_arn,
            spec.external_id,
            spec.calls_per_second,
        )

    async def hold(self, component: str, mappings: Iterable[str], would_move: str) -> None:
        """What the component's last pass said: held where it was created against
        `mappings` (would_move "account" or "region"), or nothing held (would_move "")."""
        entry = (tuple(mappings), would_move) if would_move else None
        if self.held.get(component) == entry:
            return
        if entry is None:
            del self.held[component]
        else:
            self.held[component] = entry
        if self.on_held is not None:
            await self.on_held()

    def reports(self) -> dict[str, MappingReport]:
        """Each mapping's status: the namespaces it serves, those it shares, what it holds."""
        return reports(self.labels, self.mappings.values(), self.held)

    def invalid(self, name: str) -> str | None:
        return self._invalid.get(name)

    def names(self) -> list[str]:
        """Every mapping seen, valid or not."""
        return sorted(set(self.mappings) | set(self._invalid))


def mapping_status(report: MappingReport | None, invalid: str | None) -> dict[str, Any]:
    """A mapping's status as the operator writes it (AccountMappingStatus's camelCase)."""
    if invalid is not None or report is None:
        reason, message = "Invalid", invalid or "not read yet"
        namespaces: list[str] = []
        conflicts: list[dict[str, Any]] = []
        held: list[dict[str, str]] = []
    else:
        namespaces = list(report.namespaces)
        conflicts = [{"namespace": ns, "mappings": list(ms)} for ns, ms in report.conflicts]
        held = [{"component": c, "wouldMove": why} for c, why in report.held]
        if conflicts:
            reason = "Conflict"
            message = "namespaces selected by another mapping too are served by neither: " + (
                ", ".join(c["namespace"] for c in conflicts)
            )
        elif held:
            reason = "Held"
            message = "components a change would move stay where they were created: " + (
                ", ".join(f"{h['component']} ({h['wouldMove']})" for h in held)
            )
        else:
            reason, message = "Serving", f"serving {len(namespaces)} namespace(s)"
    ready = "True" if reason == "Serving" else "False"
    return {
        "namespaces": namespaces,
        "conflicts": conflicts,
        "held": held,
        "conditions": [{"type": "Ready", "status": ready, "reason": reason, "message": message}],
    }


class MappingStatuses:
    """Writes each mapping's status when what it says changes (never on every event).

    Refreshes come from several coroutines (Namespace and mapping events, a component's
    pass reporting what it holds) and run one at a time: each reads the cache once it
    runs, so the last write is always the newest status; two at once could land an
    older status after a newer one, and nothing would write the newer one again."""

    def __init__(self, cache: AccountsCache, patch: Any) -> None:
        """``patch``: ``KopfKube(settings, ACCOUNT_MAPPINGS).patch_status``."""
        self.cache = cache
        self._patch = patch
        self._written: dict[str, dict[str, Any]] = {}
        self._one_at_a_time = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._one_at_a_time:
            await self._refresh()

    async def _refresh(self) -> None:
        reports = self.cache.reports()
        names = self.cache.names()
        for name in names:
            status = mapping_status(reports.get(name), self.cache.invalid(name))
            status["observedGeneration"] = self.cache.generations.get(name)
            if self._written.get(name) == status:
                continue
            await self._patch({"metadata": {"name": name}}, status)
            self._written[name] = status
        for gone in set(self._written) - set(names):
            del self._written[gone]
