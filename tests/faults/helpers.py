"""Shared steps and checks of the fault suite.

Every scenario ends with :func:`assert_converged`: SageMaker holds exactly the
components of the last applied specs (each once, with the last image and copy
count), and each component was created successfully exactly once.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from tests.fixtures.emulator import wait_for
from tests.fixtures.faults import successful
from tests.fixtures.operator import OperatorTestbed, deployed_image

# Injected faults as the emulator reports them in its call log.
INJECTED = frozenset({"ThrottlingException", "InternalFailure", "ServiceUnavailable"})
# botocore's standard retry mode in the operator's client: one call = up to 4 attempts.
BOTOCORE_ATTEMPTS = 4


def wait_all_ready(world: OperatorTestbed, names: list[str], *, timeout: float) -> None:
    """Every resource Ready at its current generation, within one shared deadline."""

    def ready(name: str) -> bool:
        obj = world.get(name) or {}
        status = obj.get("status") or {}
        if status.get("observedGeneration") != obj.get("metadata", {}).get("generation"):
            return False
        return any(
            c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", [])
        )

    pending = list(names)

    def probe() -> bool:
        pending[:] = [n for n in pending if not ready(n)]
        return not pending

    try:
        wait_for(probe, timeout=timeout, interval=0.3, what=f"Ready: {pending}")
    except AssertionError:
        for name in pending:
            print(name, (world.get(name) or {}).get("status"))
        raise


def listed_names(world: OperatorTestbed) -> list[str]:
    names: list[str] = []
    kwargs: dict[str, Any] = {"EndpointNameEquals": world.endpoint, "MaxResults": 100}
    while True:
        page = world.sagemaker.list_inference_components(**kwargs)
        names += [c["InferenceComponentName"] for c in page["InferenceComponents"]]
        if not page.get("NextToken"):
            return names
        kwargs["NextToken"] = page["NextToken"]


def assert_converged(
    world: OperatorTestbed,
    expected: dict[str, tuple[str, int]],
    calls: list[dict[str, Any]],
    *,
    also_present: tuple[str, ...] = (),
) -> None:
    """SageMaker matches the last specs: name -> (image, copies); nothing lost or doubled.

    ``also_present`` names components that must still exist though no resource
    manages them any more (deletionPolicy Retain).
    """
    for name, (want_image, copies) in expected.items():
        described = world.describe(name)
        assert described["InferenceComponentStatus"] == "InService", name
        assert deployed_image(world, name) == want_image, name
        runtime = described["RuntimeConfig"]
        assert (runtime["DesiredCopyCount"], runtime["CurrentCopyCount"]) == (copies, copies)
    names = listed_names(world)
    assert len(names) == len(set(names)), f"duplicated: {names}"
    assert sorted(names) == sorted([*expected, *also_present]), "lost or extra components"
    creates = Counter(
        c["request"]["InferenceComponentName"]
        for c in successful(calls, "CreateInferenceComponent")
    )
    assert all(creates[name] == 1 for name in expected), f"successful creates: {dict(creates)}"
    assert max(creates.values()) == 1, f"a component was created twice: {dict(creates)}"


def attempts_bound(writes: int, fail_rate: float, *, tail: float = 1e-6) -> int:
    """Smallest n with P(more than n attempts are needed for ``writes`` successes) < tail.

    Each attempt fails independently with ``fail_rate`` (the emulator's seeded dice),
    so the attempts needed form a negative binomial: P(N > n) = P(Binomial(n, 1-p) < k).
    A bound at the 1e-6 tail fails only when the operator retries more than faults
    explain, e.g. re-sending writes that succeeded.
    """
    q = 1.0 - fail_rate
    n = writes
    while True:
        below = sum(math.comb(n, i) * q**i * fail_rate ** (n - i) for i in range(writes))
        if below < tail:
            return n
        n += 1


def injected(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in calls if c["error"] in INJECTED]


def not_injected_failures(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in calls if c["error"] and c["error"] not in INJECTED]


def record(scenario: str, writes: int, bound: int) -> None:
    """One line per scenario for docs/faults.md (shown with `pytest -s` or `-rP`)."""
    print(f"FAULTS {scenario}: {writes} write calls, bound {bound}")
