"""The naive baseline (bench/naive.py, injected as a Strategy): raw comparison, so it
re-updates; the product's default strategy does not."""

from __future__ import annotations

from bench.naive import NAIVE
from ic_operator.reconcile.plan import plan_apply
from ic_operator.reconcile.types import Act
from tests.unit.planner_fixtures import (
    deployment,
    describe_of,
    desired_of,
    observed,
    owned_tags,
    spec_of,
    status_of,
)

BASE = spec_of()


def test_naive_judges_its_deployment_succeeded_then_updates_again() -> None:
    """Found by the benchmark: judging with the raw view called every create RolledBack."""
    last = deployment(BASE, "InProgress")
    component = observed(describe_of(BASE), tags=owned_tags(BASE))
    naive = plan_apply(desired_of(BASE), component, status_of(last=last), strategy=NAIVE)
    assert naive.record.judged is not None and naive.record.judged.outcome == "Succeeded"
    assert naive.action is Act.UPDATE  # Describe never echoes Image: a raw diff every time
    assert not naive.degraded


def test_default_judges_the_same_deployment_succeeded_and_does_nothing() -> None:
    last = deployment(BASE, "InProgress")
    component = observed(describe_of(BASE), tags=owned_tags(BASE))
    normal = plan_apply(desired_of(BASE), component, status_of(last=last))
    assert normal.record.judged is not None and normal.record.judged.outcome == "Succeeded"
    assert normal.action is Act.NOOP
