"""Accounts (docs/accounts.md): each pass runs in its place's Reconciler, chosen by the
namespace's AccountMapping and held to where the component was created. The real loop,
planner, status building and mappings cache (kube/accounts.py), with one in-memory
SageMaker per account."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ic_operator.aws.placement import Placement, Refusal, Unmapped, pinned
from ic_operator.kube.accounts import AccountsCache, mapping_status
from ic_operator.loop.object_loop import ObjectLoop
from ic_operator.reconcile.passes import Reconciler
from ic_operator.reconcile.placed import PlacedReconcilers
from ic_operator.reconcile.sweep import EndpointSweep
from ic_operator.reconcile.types import PassResult, Trigger
from tests.reconciler.fake import Clock, FakeKube, FakeSageMaker
from tests.reconciler.harness import SETTINGS, manifest, run

pytestmark = pytest.mark.filterwarnings("error")

OWN_ACCOUNT = "999999999999"
TEAM_ROLE = "arn:aws:iam::111111111111:role/team-a"
OTHER_ROLE = "arn:aws:iam::222222222222:role/team-b"
CREATE = "CreateInferenceComponent"


def _placed(mapping: dict[str, Any], spec_region: str | None) -> Placement | Refusal:
    accounts = AccountsCache(
        unmapped=Unmapped.REFUSE, operator_account=OWN_ACCOUNT, operator_region="us-east-1"
    )
    accounts.namespace_seen("ADDED", {"metadata": {"name": "team-a"}})
    accounts.mapping_seen("ADDED", mapping)
    return accounts.place("team-a", spec_region)


def _mapping(name: str, role: str, **selector: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "generation": 1},
        "spec": {
            "roleArn": role,
            "defaultRegion": "eu-west-1",
            "allowedRegions": ["eu-west-1", "us-west-2"],
            "namespaceSelector": selector,
        },
    }


class World:
    """One component in namespace team-a, the operator's own SageMaker and one per role."""

    def __init__(self, *, unmapped: Unmapped = Unmapped.REFUSE, **spec_over: Any) -> None:
        self.clock = Clock()
        self.kube = FakeKube(manifest(**spec_over))
        self.accounts = AccountsCache(
            unmapped=unmapped, operator_account=OWN_ACCOUNT, operator_region="us-east-1"
        )
        self.accounts.namespace_seen("ADDED", {"metadata": {"name": "team-a"}})
        self.own = FakeSageMaker(self.clock)
        self.by_role: dict[str, FakeSageMaker] = {}
        self.built: list[tuple[Placement, str]] = []
        self.placed = PlacedReconcilers(self.accounts, self._reconciler(self.own), self._build)
        self.loop = ObjectLoop(self.placed, self.kube)

    def _reconciler(self, sm: FakeSageMaker) -> Reconciler:
        return Reconciler(
            sm,
            SETTINGS,
            clock=self.clock,
            sweep=EndpointSweep(sm, clock=self.clock, wall=self.clock),
            follow_endpoints=False,
        )

    def _build(self, placement: Placement, namespace: str) -> Reconciler:
        self.built.append((placement, namespace))
        assert placement.role_arn is not None
        sm = self.by_role.setdefault(placement.role_arn, FakeSageMaker(self.clock))
        return self._reconciler(sm)

    def label(self, team: str) -> None:
        """Team-a's namespace labelled t=`team` (what a namespace admin may edit)."""
        self.accounts.namespace_seen(
            "MODIFIED", {"metadata": {"name": "team-a", "labels": {"t": team}}}
        )

    async def created_by_label(self) -> None:
        """Mappings team-a and team-b select by the label t; the component is created and
        settled under team-a's."""
        self.label("a")
        self.accounts.mapping_seen("ADDED", _mapping("team-a", TEAM_ROLE, matchLabels={"t": "a"}))
        self.accounts.mapping_seen("ADDED", _mapping("team-b", OTHER_ROLE, matchLabels={"t": "b"}))
        await self.step(Trigger.START)
        self.team().settle("llm")
        await self.step()

    def team(self, role: str = TEAM_ROLE) -> FakeSageMaker:
        return self.by_role.setdefault(role, FakeSageMaker(self.clock))

    def calls(self) -> int:
        return len(self.own.calls) + sum(len(sm.calls) for sm in self.by_role.values())

    @property
    def status(self) -> dict[str, Any]:
        return dict(self.kube.body.get("status") or {})

    async def step(self, trigger: Trigger = Trigger.POLL) -> PassResult:
        result = await self.loop.step(self.loop.current(copy.deepcopy(self.kube.body)), trigger)
        if result.sleep is not None:
            self.clock.advance(result.sleep)
        return result

    async def finalize(self) -> PassResult:
        async with self.loop.lock:
            body = self.loop.current(copy.deepcopy(self.kube.body))
            result = await self.placed.finalize(body)
            await self.loop._apply(body, result)
        return result


def test_an_unmapped_namespace_is_refused_with_no_aws_call() -> None:
    async def scenario() -> None:
        w = World()
        await w.step(Trigger.START)
        assert w.calls() == 0
        assert w.kube.condition("Degraded") == ("True", "NoAccount")
        assert w.kube.condition("Ready")[0] == "False"
        assert "account" not in w.status
        # The platform team maps it: the next pass creates it in the role's account.
        w.accounts.mapping_seen("ADDED", _mapping("team-a", TEAM_ROLE, names=["team-a"]))
        await w.step()
        assert w.team().ops(CREATE) == [CREATE] and w.own.calls == []
        assert w.status["account"] == {
            "accountId": "111111111111",
            "region": "eu-west-1",
            "mapping": "team-a",
        }
        assert w.status["region"] == "eu-west-1"

    run(scenario)


def test_the_operators_own_identity_when_the_admin_allows_it() -> None:
    async def scenario() -> None:
        w = World(unmapped=Unmapped.OPERATOR_IDENTITY)
        await w.step(Trigger.START)
        assert w.own.ops(CREATE) == [CREATE] and w.built == []
        assert w.status["account"] == {
            "accountId": OWN_ACCOUNT,
            "region": "us-east-1",
            "mapping": "",
        }

    run(scenario)


def test_a_mapped_namespace_lives_in_its_roles_account_one_reconciler_per_place() -> None:
    async def scenario() -> None:
        w = World(region="us-west-2")
        w.accounts.mapping_seen("ADDED", _mapping("team-a", TEAM_ROLE, names=["team-a"]))
        await w.step(Trigger.START)
        w.team().settle("llm")
        await w.step()
        assert w.kube.condition("Ready")[0] == "True"
        assert w.team().ops(CREATE) == [CREATE] and w.own.calls == []
        assert [(p.role_arn, p.region, ns) for p, ns in w.built] == [
            (TEAM_ROLE, "us-west-2", "team-a")
        ]
        assert w.status["account"]["region"] == "us-west-2"

    run(scenario)


def test_a_region_the_mapping_does_not_allow_is_refused() -> None:
    async def scenario() -> None:
        w = World(region="ap-south-1")
        w.accounts.mapping_seen("ADDED", _mapping("team-a", TEAM_ROLE, names=["team-a"]))
        await w.step(Trigger.START)
        assert w.calls() == 0
        assert w.kube.condition("Degraded") == ("True", "RegionNotAllowed")

    run(scenario)


def test_overlapping_mappings_serve_neither_and_both_report_it() -> None:
    async def scenario() -> None:
        w = World()
        w.label("b")
        w.accounts.mapping_seen("ADDED", _mapping("team-a", TEAM_ROLE, names=["team-a"]))
        w.accounts.mapping_seen("ADDED", _mapping("team-b", OTHER_ROLE, matchLabels={"t": "b"}))
        await w.step(Trigger.START)
        assert w.calls() == 0
        assert w.kube.condition("Degraded") == ("True", "AccountConflict")
        reports = w.accounts.reports()
        for name in ("team-a", "team-b"):
            status = mapping_status(reports[name], None)
            assert status["conflicts"] == [
                {"namespace": "team-a", "mappings": ["team-a", "team-b"]}
            ]
            assert status["conditions"][0]["reason"] == "Conflict"

    run(scenario)


def test_a_namespace_label_edit_never_moves_a_created_component() -> None:
    async def scenario() -> None:
        w = World()
        await w.created_by_label()
        assert w.kube.condition("Ready")[0] == "True"
        before = w.calls()
        # A namespace admin relabels the namespace into team-b's selector.
        w.label("b")
        w.kube.edit({"runtimeConfig": {"copyCount": 2}})
        await w.step(Trigger.CHANGE)
        assert w.calls() == before, "nothing called in either account"
        assert w.kube.condition("Degraded") == ("True", "AccountChanged")
        assert w.team(OTHER_ROLE).calls == []
        assert w.status["account"]["mapping"] == "team-a"
        # Deleting it deletes it where it was created, while team-a's mapping exists.
        w.kube.body["spec"]["deletionPolicy"] = "Delete"
        await w.finalize()
        assert w.team().ops("DeleteInferenceComponent") == ["DeleteInferenceComponent"]
        assert w.team(OTHER_ROLE).calls == []

    run(scenario)


def test_a_held_component_is_on_both_mappings_status_until_the_move_is_undone() -> None:
    async def scenario() -> None:
        w = World()
        refreshed: list[dict[str, Any]] = []

        async def on_held() -> None:
            refreshed.append({n: r.held for n, r in w.accounts.reports().items()})

        w.accounts.on_held = on_held
        await w.created_by_label()
        assert refreshed == [], "nothing held, nothing written"
        w.label("b")
        await w.step(Trigger.CHANGE)
        assert w.kube.condition("Degraded") == ("True", "AccountChanged")
        held = (("team-a/llm", "account"),)
        assert refreshed == [{"team-a": held, "team-b": held}]
        status = mapping_status(w.accounts.reports()["team-b"], None)
        assert status["held"] == [{"component": "team-a/llm", "wouldMove": "account"}]
        assert status["conditions"][0]["status"] == "False"
        assert status["conditions"][0]["reason"] == "Held"
        await w.step()  # held again: the status is not written again
        assert len(refreshed) == 1
        # Labelled back: the conflict goes, and with it the held row.
        w.accounts.namespace_seen(
            "MODIFIED", {"metadata": {"name": "team-a", "labels": {"t": "a"}}}
        )
        await w.step()
        assert refreshed[-1] == {"team-a": (), "team-b": ()}
        [ready] = mapping_status(w.accounts.reports()["team-b"], None)["conditions"]
        assert ready["reason"] == "Serving"

    run(scenario)


def test_a_region_move_is_held_as_a_region_move() -> None:
    mapping = _mapping("team-a", TEAM_ROLE, names=["team-a"])
    created = pinned("111111111111", "us-west-2", "team-a", _placed(mapping, None))
    assert isinstance(created, Refusal) and created.reason == "AccountChanged"
    assert (created.mappings, created.would_move) == (("team-a",), "region")


def test_labelled_back_the_held_edit_goes_to_its_account() -> None:
    async def scenario() -> None:
        w = World()
        w.accounts.mapping_seen("ADDED", _mapping("team-a", TEAM_ROLE, matchLabels={"t": "a"}))
        w.accounts.namespace_seen(
            "MODIFIED", {"metadata": {"name": "team-a", "labels": {"t": "a"}}}
        )
        await w.step(Trigger.START)
        w.team().settle("llm")
        await w.step()
        w.accounts.namespace_seen("MODIFIED", {"metadata": {"name": "team-a", "labels": {}}})
        w.kube.edit({"runtimeConfig": {"copyCount": 2}})
        await w.step(Trigger.CHANGE)
        assert w.kube.condition("Degraded") == ("True", "NoAccount")
        w.accounts.namespace_seen(
            "MODIFIED", {"metadata": {"name": "team-a", "labels": {"t": "a"}}}
        )
        await w.step()  # a poke: the cleared refusal is news, the edit goes now
        assert w.team().ops("UpdateInferenceComponentRuntimeConfig") == [
            "UpdateInferenceComponentRuntimeConfig"
        ]

    run(scenario)


def test_a_never_created_component_of_an_unmapped_namespace_is_released_at_once() -> None:
    async def scenario() -> None:
        w = World()
        await w.step(Trigger.START)
        result = await w.finalize()
        assert result.released and w.calls() == 0

    run(scenario)


def test_an_invalid_mapping_selects_nothing() -> None:
    w = World()
    bad = _mapping("bad", TEAM_ROLE, names=["team-a"])
    bad["spec"]["roleArn"] = "arn:aws:iam::1:user/x"
    w.accounts.mapping_seen("ADDED", bad)
    assert w.accounts.mappings == {}
    assert "roleArn" in (w.accounts.invalid("bad") or "")
    status = mapping_status(None, w.accounts.invalid("bad"))
    assert status["conditions"][0]["reason"] == "Invalid"
