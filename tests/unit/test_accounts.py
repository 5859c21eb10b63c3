"""AccountMapping: its generated CRD (schema and CEL, as the API server admits it) agrees
with the models, and the one pure function that says where a namespace's components
live (overlaps, unmapped namespaces, label changes, regions, the placement fixed at
creation). docs/accounts.md."""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import pytest
from pydantic import ValidationError

from ic_operator.aws.placement import (
    AccountMapping,
    Placement,
    Refusal,
    Unmapped,
    pinned,
    place,
    reports,
)
from ic_operator.crd.accounts import build_mapping_crd
from ic_operator.crd.schema import render, walk
from ic_operator.models.accounts import AccountMappingSpec
from tests.unit.crd_admission import admit

ROOT = pathlib.Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "sagemaker.ic-operator.io_accountmappings.yaml"

ROLE_A = "arn:aws:iam::111111111111:role/ic-operator-team-a"
ROLE_B = "arn:aws:iam::222222222222:role/ic-operator-team-b"


def _schema() -> dict[str, Any]:
    crd = build_mapping_crd()
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def _spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "roleArn": ROLE_A,
        "defaultRegion": "eu-west-1",
        "namespaceSelector": {"names": ["team-a"]},
    }
    spec.update(changes)
    return {k: v for k, v in spec.items() if v is not None}


def _obj(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "sagemaker.ic-operator.io/v1alpha1",
        "kind": "AccountMapping",
        "metadata": {"name": "team-a"},
        "spec": spec,
    }


def _mapping(name: str, **spec: Any) -> AccountMapping:
    return AccountMapping(name, AccountMappingSpec.model_validate(_spec(**spec)))


def test_crds_dir_holds_the_generated_mapping_crd() -> None:
    assert CRD_FILE.read_text() == render(build_mapping_crd()), "crds/ is stale: run 'make crd'"


def test_mapping_crd_is_cluster_scoped_and_structural() -> None:
    crd = build_mapping_crd()
    assert crd["spec"]["scope"] == "Cluster"
    for path, node in walk(_schema()):
        if path == ".metadata":
            continue
        assert node.get("type") and node.get("description"), path


VALID = [
    _spec(),
    _spec(namespaceSelector={"matchLabels": {"platform.example.com/team": "a"}}),
    _spec(
        namespaceSelector={"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
        allowedRegions=["eu-west-1", "us-east-1"],
        externalId="team-a-7f3c",
        callsPerSecond=2.5,
    ),
    _spec(roleArn="arn:aws-cn:iam::111111111111:role/path/to/role"),
]


@pytest.mark.parametrize("spec", VALID)
def test_valid_mappings_are_admitted_and_parsed(spec: dict[str, Any]) -> None:
    assert admit(_obj(spec), _schema()) == []
    AccountMappingSpec.model_validate(spec)


INVALID = [
    (_spec(roleArn="arn:aws:iam::111111111111:user/alice"), "roleArn"),
    (_spec(roleArn="arn:aws:iam::1111:role/x"), "roleArn"),
    (_spec(defaultRegion="Europe"), "defaultRegion"),
    (_spec(namespaceSelector={}), "an empty selector would map every namespace"),
    (_spec(namespaceSelector={"names": []}), "an empty selector would map every namespace"),
    (
        _spec(allowedRegions=["us-east-1"]),
        "allowedRegions must include defaultRegion",
    ),
    (
        _spec(namespaceSelector={"matchExpressions": [{"key": "tier", "operator": "In"}]}),
        "values must be non-empty for In and NotIn",
    ),
    (
        _spec(
            namespaceSelector={
                "matchExpressions": [{"key": "tier", "operator": "Exists", "values": ["x"]}]
            }
        ),
        "absent for Exists and DoesNotExist",
    ),
    (
        _spec(namespaceSelector={"matchExpressions": [{"key": "tier", "operator": "Like"}]}),
        "operator",
    ),
    (_spec(callsPerSecond=0), "callsPerSecond"),
    (_spec(externalId="x"), "externalId"),
]


@pytest.mark.parametrize(("spec", "words"), INVALID, ids=[w for _, w in INVALID])
def test_invalid_mappings_are_refused_at_apply_and_by_the_operator(
    spec: dict[str, Any], words: str
) -> None:
    errors = admit(_obj(spec), _schema())
    assert errors and any(words in e for e in errors), errors
    with pytest.raises(ValidationError) as exc:
        AccountMappingSpec.model_validate(spec)
    assert words in str(exc.value)


def test_role_arn_is_immutable_other_fields_are_not() -> None:
    old = _obj(_spec())
    moved = _obj(_spec(roleArn=ROLE_B))
    assert any("roleArn is immutable" in e for e in admit(moved, _schema(), old))
    widened = _obj(_spec(allowedRegions=["eu-west-1", "us-east-1"], callsPerSecond=3))
    assert admit(widened, _schema(), old) == []


def test_account_is_the_roles() -> None:
    assert AccountMappingSpec.model_validate(_spec(roleArn=ROLE_B)).account_id == "222222222222"


# ---- where a namespace's components live ------------------------------------------------

TEAM_A = _mapping("team-a", namespaceSelector={"names": ["team-a"]})
TEAM_B = _mapping(
    "team-b",
    roleArn=ROLE_B,
    defaultRegion="us-east-1",
    allowedRegions=["us-east-1", "us-west-2"],
    externalId="b-ext",
    callsPerSecond=4,
    namespaceSelector={"matchLabels": {"team": "b"}},
)


def _place(
    namespace: str,
    labels: dict[str, str] | None = None,
    mappings: list[AccountMapping] | None = None,
    *,
    region: str | None = None,
    unmapped: Unmapped = Unmapped.REFUSE,
) -> Placement | Refusal:
    return place(
        namespace,
        labels or {},
        [TEAM_A, TEAM_B] if mappings is None else mappings,
        spec_region=region,
        unmapped=unmapped,
        operator_account="999999999999",
        operator_region="us-east-1",
    )


def test_a_mapped_namespace_lives_in_the_roles_account_and_default_region() -> None:
    assert _place("team-a") == Placement("111111111111", "eu-west-1", "team-a", ROLE_A)
    assert _place("b-prod", {"team": "b"}) == Placement(
        "222222222222", "us-east-1", "team-b", ROLE_B, "b-ext", 4
    )


def test_spec_region_chooses_only_among_the_allowed() -> None:
    assert _place("b-prod", {"team": "b"}, region="us-west-2") == Placement(
        "222222222222", "us-west-2", "team-b", ROLE_B, "b-ext", 4
    )
    refused = _place("b-prod", {"team": "b"}, region="eu-west-1")
    assert isinstance(refused, Refusal) and refused.reason == "RegionNotAllowed"
    assert "us-east-1, us-west-2" in refused.message
    # Without allowedRegions, only the default region.
    refused = _place("team-a", region="us-east-1")
    assert isinstance(refused, Refusal) and refused.reason == "RegionNotAllowed"


def test_unmapped_namespace_is_refused_or_uses_the_operator_identity_as_the_admin_says() -> None:
    refused = _place("elsewhere")
    assert isinstance(refused, Refusal) and refused.reason == "NoAccount"
    assert "elsewhere" in refused.message and "Refuse" in refused.message
    own = _place("elsewhere", unmapped=Unmapped.OPERATOR_IDENTITY)
    assert own == Placement("999999999999", "us-east-1")
    own = _place("elsewhere", unmapped=Unmapped.OPERATOR_IDENTITY, region="ap-south-1")
    assert own == Placement("999999999999", "ap-south-1")


def test_two_mappings_selecting_one_namespace_serve_it_neither() -> None:
    # team-a by name, team-b by label: a namespace labelled team=b named team-a.
    refused = _place("team-a", {"team": "b"})
    assert isinstance(refused, Refusal) and refused.reason == "AccountConflict"
    assert "team-a, team-b" in refused.message
    # Even with the operator's identity allowed, a conflict is no fallback.
    refused = _place("team-a", {"team": "b"}, unmapped=Unmapped.OPERATOR_IDENTITY)
    assert isinstance(refused, Refusal) and refused.reason == "AccountConflict"


def test_selector_parts_are_anded_and_expressions_hold() -> None:
    both = _mapping(
        "both",
        namespaceSelector={
            "names": ["x", "y"],
            "matchLabels": {"team": "c"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["prod"]},
                {"key": "frozen", "operator": "DoesNotExist"},
            ],
        },
    )
    ok = {"team": "c", "tier": "prod"}
    assert isinstance(_place("x", ok, [both]), Placement)
    assert isinstance(_place("z", ok, [both]), Refusal)  # not named
    assert isinstance(_place("x", {**ok, "team": "d"}, [both]), Refusal)
    assert isinstance(_place("x", {**ok, "tier": "dev"}, [both]), Refusal)
    assert isinstance(_place("x", {**ok, "frozen": "yes"}, [both]), Refusal)
    not_in = _mapping(
        "not-in",
        namespaceSelector={
            "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["prod"]}]
        },
    )
    assert isinstance(_place("x", {}, [not_in]), Placement)  # NotIn holds without the label
    assert isinstance(_place("x", {"tier": "prod"}, [not_in]), Refusal)


def test_a_label_edit_after_creation_is_reported_never_followed() -> None:
    created = _place("b-prod", {"team": "b"})
    assert isinstance(created, Placement)
    # The namespace's labels move it from team-b to team-a's selector... (by label now)
    team_a_by_label = _mapping("team-a", namespaceSelector={"matchLabels": {"team": "a"}})
    now = _place("b-prod", {"team": "a"}, [team_a_by_label, TEAM_B])
    assert isinstance(now, Placement) and now.mapping == "team-a"
    held = pinned(created.account_id, created.region, created.mapping, now)
    assert isinstance(held, Refusal) and held.reason == "AccountChanged"
    assert "222222222222" in held.message and "111111111111" in held.message
    # ...and back: the recorded placement holds again.
    assert pinned(created.account_id, created.region, created.mapping, created) == created


def test_a_spec_region_change_after_creation_is_reported() -> None:
    created = _place("b-prod", {"team": "b"})
    assert isinstance(created, Placement)
    now = _place("b-prod", {"team": "b"}, region="us-west-2")
    held = pinned(created.account_id, created.region, created.mapping, now)
    assert isinstance(held, Refusal) and held.reason == "AccountChanged"
    assert "region us-east-1" in held.message and "region us-west-2" in held.message


def test_nothing_recorded_yet_means_the_current_answer() -> None:
    now = _place("team-a")
    assert pinned(None, None, None, now) == now
    refused = _place("nowhere")
    assert pinned("111111111111", "eu-west-1", "team-a", refused) == refused


def test_from_the_operator_identity_to_a_mapping_is_a_move() -> None:
    was = _place("team-a", mappings=[], unmapped=Unmapped.OPERATOR_IDENTITY)
    assert isinstance(was, Placement) and was.mapping == ""
    held = pinned(was.account_id, was.region, was.mapping, _place("team-a"))
    assert isinstance(held, Refusal) and held.reason == "AccountChanged"
    assert "the operator's own identity" in held.message


def test_keys_separate_roles_and_regions() -> None:
    a, b = _place("team-a"), _place("b-prod", {"team": "b"})
    b2 = _place("b-prod", {"team": "b"}, region="us-west-2")
    own = _place("x", unmapped=Unmapped.OPERATOR_IDENTITY)
    keys = {p.key for p in (a, b, b2, own) if isinstance(p, Placement)}
    assert len(keys) == 4


def test_reports_list_served_namespaces_and_conflicts_per_mapping() -> None:
    namespaces = {
        "team-a": {"team": "b"},  # both
        "b-prod": {"team": "b"},
        "b-dev": {"team": "b"},
        "other": {},
    }
    got = reports(namespaces, [TEAM_A, TEAM_B])
    assert got["team-a"].namespaces == ()
    assert got["team-a"].conflicts == (("team-a", ("team-a", "team-b")),)
    assert got["team-b"].namespaces == ("b-dev", "b-prod")
    assert got["team-b"].conflicts == (("team-a", ("team-a", "team-b")),)
    fixed = copy.deepcopy(namespaces)
    fixed["team-a"] = {}
    assert reports(fixed, [TEAM_A, TEAM_B])["team-a"].namespaces == ("team-a",)


def test_reports_list_held_components_on_every_mapping_involved() -> None:
    held = {"b-prod/llm": (("team-a", "team-b"), "account"), "gone/x": (("deleted",), "region")}
    got = reports({"b-prod": {"team": "b"}}, [TEAM_A, TEAM_B], held)
    assert got["team-a"].held == (("b-prod/llm", "account"),)
    assert got["team-b"].held == (("b-prod/llm", "account"),)
    assert reports({"b-prod": {"team": "b"}}, [TEAM_A, TEAM_B])["team-b"].held == ()


def test_the_operators_account_unknown_at_one_start_is_no_move() -> None:
    known = _place("x", mappings=[], unmapped=Unmapped.OPERATOR_IDENTITY)
    assert isinstance(known, Placement)
    assert pinned("", known.region, "", known) == known
    unknown = Placement("", known.region)
    assert pinned(known.account_id, known.region, "", unknown) == unknown
    # A mapping's account is always known: a different one is a move.
    held = pinned("333333333333", "eu-west-1", "team-a", _place("team-a"))
    assert isinstance(held, Refusal) and held.reason == "AccountChanged"
