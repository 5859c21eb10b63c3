"""Where a namespace's components live: its account (a mapping's role, or the operator's
own identity) and region. Pure: the kube layer hands in what it watches (namespaces and
`AccountMapping`s), the pass and the mappings' status read the answer.

The answer depends only on what the platform team writes (the mappings, and the
operator's `--unmapped-namespaces`) and on the Namespace; never on the component's labels
or annotations. `spec.region` only chooses among the regions the mapping allows. Once a
component has a placement recorded in its status, a different answer is reported
(`AccountChanged`), never followed: docs/accounts.md, "Fixed at creation".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ic_operator.models.accounts import AccountMappingSpec


class Unmapped(StrEnum):
    """What a namespace no mapping selects gets (the operator's --unmapped-namespaces)."""

    OPERATOR_IDENTITY = "OperatorIdentity"
    REFUSE = "Refuse"


@dataclass(frozen=True)
class AccountMapping:
    """One `AccountMapping` as the operator read it: its name and parsed spec."""

    name: str
    spec: AccountMappingSpec


@dataclass(frozen=True)
class Placement:
    """An account and region, and how to reach them. ``mapping`` is empty for the
    operator's own identity (``role_arn`` None, ``account_id`` what STS said at start,
    possibly empty when it could not be asked)."""

    account_id: str
    region: str
    mapping: str = ""
    role_arn: str | None = None
    external_id: str | None = None
    calls_per_second: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        """What budgets, listings and doors are kept per: the role (or the operator's
        own identity, "") and the region."""
        return (self.role_arn or "", self.region)

    def describe(self) -> str:
        who = f"mapping {self.mapping}" if self.mapping else "the operator's own identity"
        account = self.account_id or "the operator's account"
        return f"account {account}, region {self.region} ({who})"


@dataclass(frozen=True)
class Refusal:
    """Why a component may make no AWS call: a condition reason and its message."""

    reason: str  # one of REFUSALS
    message: str
    # AccountChanged only: the mappings involved (where it was created, where its namespace
    # maps now) and what the move would change ("account" or "region"), for their status.
    mappings: tuple[str, ...] = ()
    would_move: str = ""


REFUSALS = frozenset({"NoAccount", "AccountConflict", "RegionNotAllowed", "AccountChanged"})


def selecting(
    namespace: str, labels: Mapping[str, str], mappings: Iterable[AccountMapping]
) -> list[AccountMapping]:
    """Every mapping whose selector selects the namespace, by name."""
    found = [m for m in mappings if m.spec.namespace_selector.matches(namespace, dict(labels))]
    return sorted(found, key=lambda m: m.name)


def place(
    namespace: str,
    labels: Mapping[str, str],
    mappings: Iterable[AccountMapping],
    *,
    spec_region: str | None,
    unmapped: Unmapped,
    operator_account: str,
    operator_region: str,
) -> Placement | Refusal:
    """Where a component of `namespace` asking for `spec_region` (None: the default)
    lives now, or why it may not call AWS at all."""
    found = selecting(namespace, labels, mappings)
    if len(found) > 1:
        names = ", ".join(m.name for m in found)
        return Refusal(
            "AccountConflict",
            f"namespace {namespace} is selected by more than one AccountMapping ({names}): "
            "no AWS call is made for it until exactly one selects it",
        )
    if not found:
        if unmapped is Unmapped.REFUSE:
            return Refusal(
                "NoAccount",
                f"no AccountMapping selects namespace {namespace}, and the operator does not "
                "use its own identity for unmapped namespaces (--unmapped-namespaces=Refuse): "
                "no AWS call is made for it",
            )
        return Placement(operator_account, spec_region or operator_region)
    mapping = found[0]
    spec = mapping.spec
    region = spec_region or spec.default_region
    if region not in spec.regions():
        return Refusal(
            "RegionNotAllowed",
            f"spec.region {region} is not among the regions AccountMapping {mapping.name} "
            f"allows namespace {namespace} ({', '.join(spec.regions())})",
        )
    return Placement(
        spec.account_id,
        region,
        mapping.name,
        spec.role_arn,
        spec.external_id,
        spec.calls_per_second,
    )


def pinned(
    recorded_account: str | None,
    recorded_region: str | None,
    recorded_mapping: str | None,
    now: Placement | Refusal,
) -> Placement | Refusal:
    """`now` if it is where the component was created (or nothing was recorded yet);
    otherwise the refusal that reports the move without making it."""
    if isinstance(now, Refusal) or recorded_region is None:
        return now
    # The operator's own account is empty when STS could not be asked at start: unknown
    # is no move.
    accounts = {recorded_account or "", now.account_id}
    same = (
        (len(accounts) == 1 or (not now.mapping and "" in accounts))
        and recorded_region == now.region
        and (recorded_mapping or "") == now.mapping
    )
    if same:
        return now
    was = Placement(recorded_account or "", recorded_region, recorded_mapping or "")
    same_account = len(accounts) == 1 and was.mapping == now.mapping
    return Refusal(
        "AccountChanged",
        f"created in {was.describe()}, but its namespace now maps to {now.describe()}: "
        "a component does not move; delete it and apply it again to move it deliberately",
        mappings=tuple(sorted({m for m in (was.mapping, now.mapping) if m})),
        would_move="region" if same_account else "account",
    )


@dataclass(frozen=True)
class MappingReport:
    """What one mapping's status says: the namespaces it serves, those it shares, and the
    components it holds where they were created."""

    namespaces: tuple[str, ...]
    conflicts: tuple[tuple[str, tuple[str, ...]], ...]  # (namespace, every mapping)
    held: tuple[tuple[str, str], ...] = ()  # (NAMESPACE/NAME, "account" or "region")


# NAMESPACE/NAME -> (the mappings a move involves, what it would change), from AccountChanged.
Held = Mapping[str, tuple[tuple[str, ...], str]]


def reports(
    namespaces: Mapping[str, Mapping[str, str]],
    mappings: Iterable[AccountMapping],
    held: Held | None = None,
) -> dict[str, MappingReport]:
    """For every mapping, by name: the namespaces (name -> labels) it alone selects,
    those it selects together with another mapping, and the components a change of it
    (or of a Namespace's labels) would move, as their passes reported them."""
    mappings = list(mappings)
    served: dict[str, list[str]] = {m.name: [] for m in mappings}
    shared: dict[str, list[tuple[str, tuple[str, ...]]]] = {m.name: [] for m in mappings}
    for namespace in sorted(namespaces):
        found = selecting(namespace, namespaces[namespace], mappings)
        names = tuple(m.name for m in found)
        for m in found:
            if len(found) == 1:
                served[m.name].append(namespace)
            else:
                shared[m.name].append((namespace, names))
    kept: dict[str, list[tuple[str, str]]] = {name: [] for name in served}
    for component, (involved, would_move) in sorted((held or {}).items()):
        for name in involved:
            if name in kept:
                kept[name].append((component, would_move))
    return {
        name: MappingReport(tuple(served[name]), tuple(shared[name]), tuple(kept[name]))
        for name in served
    }
