"""tests/fixtures/build_order.py: `make test` runs the tests needing no background build
first, then by the build each needs last, keeping the collected order within a rank."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest

from ic_sandbox.cluster import background
from tests.fixtures import build_order


@dataclass
class _Marker:
    name: str


@dataclass
class _Item:
    nodeid: str
    markers: list[str] = field(default_factory=list)

    group: str | None = None
    config: Any = field(default_factory=lambda: SimpleNamespace(option=SimpleNamespace()))

    def iter_markers(self) -> list[_Marker]:
        return [_Marker(name) for name in self.markers]

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        assert marker.name == "xdist_group" and self.group is None, "one group per test"
        (self.group,) = marker.args


def _order(items: list[_Item]) -> list[str]:
    build_order.pytest_collection_modifyitems(cast(list[pytest.Item], items))
    return [item.nodeid for item in items]


def test_suites_needing_no_build_run_first_and_ties_keep_collection_order() -> None:
    items = [
        _Item("ack", ["ack", "e2e", "controlplane", "slow"]),
        _Item("unit-1"),
        _Item("argocd-sync", ["argocd", "controlplane"]),
        _Item("node-chart", ["node", "slow"]),
        _Item("e2e", ["e2e", "controlplane"]),
        _Item("health", ["go", "slow"]),
        _Item("image", ["image"]),
        _Item("node-argocd", ["node", "argocd"]),
        _Item("unit-2", ["parametrize"]),
    ]
    assert _order(items) == [
        "unit-1",
        "e2e",
        "unit-2",
        "image",
        "node-chart",
        "argocd-sync",
        "health",
        "node-argocd",
        "ack",
    ]


def test_every_marker_names_builds_the_background_makes() -> None:
    """A marker needing a build `make test` does not run in the background would wait for
    nothing and fail for a missing binary instead."""
    needed = {build for builds in build_order.MARKER_BUILDS.values() for build in builds}
    assert needed <= set(background.BUILDS)


@pytest.mark.parametrize(
    ("markers", "rank"),
    [
        ([], 0),
        (["controlplane", "e2e", "faults"], 0),
        (["image"], 1),
        (["node"], 2),
        (["argocd"], 3),
        (["go"], 3),
        (["node", "argocd"], 3),
        (["ack", "image"], 4),
    ],
)
def test_rank_is_the_last_build_needed(markers: list[str], rank: int) -> None:
    assert build_order.rank(markers) == rank


def test_the_wait_happens_before_the_timeout_starts() -> None:
    """pytest-timeout times the whole protocol; the wait must wrap it from outside."""
    hook: Any = build_order.pytest_runtest_protocol
    options = getattr(hook, "pytest_impl", None) or getattr(hook, "pytest_impl_opts", {})
    assert options.get("hookwrapper") or options.get("wrapper")
    assert options.get("tryfirst")


def test_node_and_image_tests_share_one_group_other_tests_group_by_file() -> None:
    """One host has one containerd/kubelet and one podman store: those tests go to one
    worker; a file's tests stay on one worker (its module fixtures are set up once)."""
    items = [
        _Item("tests/e2e/test_a.py::test_one", ["e2e"]),
        _Item("tests/node/test_argocd_chart.py::test_sync", ["node", "argocd"]),
        _Item("tests/e2e/test_a.py::test_two[x]", ["e2e"]),
        _Item("tests/image/test_image.py::test_size", ["image", "slow"]),
        _Item("tests/e2e/test_b.py::test_one", ["e2e"]),
        _Item("tests/node/test_node.py::test_pod", ["node"]),
        _Item("tests/argocd/test_sync.py::test_wave", ["argocd"]),
    ]
    for item in items:
        build_order.pytest_itemcollected(cast(pytest.Item, item))
    assert {item.nodeid: item.group for item in items} == {
        "tests/e2e/test_a.py::test_one": "tests/e2e/test_a.py",
        "tests/e2e/test_a.py::test_two[x]": "tests/e2e/test_a.py",
        "tests/e2e/test_b.py::test_one": "tests/e2e/test_b.py",
        "tests/image/test_image.py::test_size": "host",
        "tests/node/test_node.py::test_pod": "host",
        "tests/node/test_argocd_chart.py::test_sync": "host",
        "tests/argocd/test_sync.py::test_wave": "tests/argocd/test_sync.py",
    }


def test_xdist_keeps_the_build_order_of_groups(pytestconfig: pytest.Config) -> None:
    """xdist reorders groups by size unless told not to: that would send a build-needing
    group out before the tests needing no build."""
    build_order.pytest_configure(pytestconfig)
    assert pytestconfig.option.loadscopereorder is False
