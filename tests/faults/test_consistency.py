"""Eventual consistency and lost responses: every kind of change, under each fault.

AWS control planes are eventually consistent, and a write can be applied while its
response is lost (botocore then retries it). Each scenario makes one change to one
resource while the emulator lags reads of that component after every accepted write
(``read-lag``), or loses the first response of each write to it: answered with a 5xx
(``lost-5xx``) or by closing the connection (``lost-drop``). The component's transitions
take seconds (``slow_world``), so botocore's retry arrives while the first write runs,
as it does on AWS.

What must hold, checked from the emulator's call log and a kubectl watch of the run:

* the resource ends Ready and SageMaker runs the desired spec (or, for a deletion,
  both are gone);
* SageMaker accepted exactly one write per operation the change needs (botocore's
  retry of a lost idempotent tag call is the same write, not a second one);
* no RolledBack or Failed verdict and no Degraded condition was ever posted, not even
  for a moment, and no Warning event announced one;
* the write calls, rejected ones included, stay within the bound of the fault.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ic_operator import API_GROUP
from tests.fixtures.emulator import wait_for
from tests.fixtures.faults import Verdicts, accepted_writes, write_attempts
from tests.fixtures.operator import IMAGE, OPERATOR_FLAGS, RESYNC, OperatorTestbed, image, set_image

from .helpers import assert_converged, listed_names

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.controlplane]

NAME = "ic"
COPIES = 2
ROLLING = {
    "rollingUpdatePolicy": {
        "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
        "waitIntervalInSeconds": 30,
        "maximumExecutionTimeoutInSeconds": 1800,
    }
}
ROLLING_WIRE = {
    "RollingUpdatePolicy": {
        "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 30,
        "MaximumExecutionTimeoutInSeconds": 1800,
    }
}
# Reads of the component serve its pre-write version this long (wall clock) after each
# accepted write: longer than the operator's slowest poll (1 s), so it reads stale
# while it follows a transition; a change that needs no polling (tags) is read again
# within the window because the test touches the resource (see `poke`).
LAG_SECONDS = 4.0
POLL_MIN = float(OPERATOR_FLAGS[OPERATOR_FLAGS.index("--poll-min") + 1])
OWNER_PREFIX = f"{API_GROUP}/"
CONVERGE_TIMEOUT = 90.0

FAULTS: dict[str, dict[str, Any]] = {
    "read-lag": {"read_lag_seconds": LAG_SECONDS, "read_lag_components": [NAME]},
    "lost-5xx": {
        "lost_response": "error",
        "lost_response_count": 1,
        "lost_response_components": [NAME],
        "seed": 12,
    },
    "lost-drop": {
        "lost_response": "drop",
        "lost_response_count": 1,
        "lost_response_components": [NAME],
    },
}


@dataclass(frozen=True)
class Change:
    """One desired change: how to make it, what SageMaker must accept, what it ends as."""

    make: Callable[[OperatorTestbed], None]
    writes: tuple[str, ...]  # each accepted exactly once
    image: str = IMAGE
    copies: int = COPIES
    user_tags: dict[str, str] = field(default_factory=lambda: {"team": "e2e"})
    deleted: bool = False
    exists_before: bool = True


def _create(world: OperatorTestbed) -> None:
    world.apply(world.manifest(NAME, copies=COPIES, deployment=ROLLING))


def _delete(world: OperatorTestbed) -> None:
    world.kubectl("delete", "smic", NAME, "-n", world.namespace, "--wait=false")


CHANGES: dict[str, Change] = {
    "create": Change(_create, ("CreateInferenceComponent",), exists_before=False),
    "update": Change(
        lambda world: set_image(world, NAME, image("v2")),
        ("UpdateInferenceComponent",),
        image=image("v2"),
    ),
    "scale": Change(
        lambda world: world.patch(NAME, {"spec": {"runtimeConfig": {"copyCount": COPIES + 1}}}),
        ("UpdateInferenceComponentRuntimeConfig",),
        copies=COPIES + 1,
    ),
    "tags": Change(
        lambda world: world.patch(NAME, {"spec": {"tags": {"team": None, "tier": "gold"}}}),
        ("AddTags", "DeleteTags"),
        user_tags={"tier": "gold"},
    ),
    "delete": Change(_delete, ("DeleteInferenceComponent",), deleted=True),
}


def bound(change: Change, fault: str) -> int:
    """Write calls the fault can explain, rejected ones included.

    Lost response: the write and botocore's one retry of it (the retry is refused as
    "in progress" / "already existing", or re-applies an idempotent tag call); the
    operator has nothing to send again. Read lag: the write, plus at most one write
    attempt per operator pass while reads still serve the pre-write version (a pass
    every POLL_MIN at the fastest): ceil(LAG_SECONDS / POLL_MIN) per write.
    """
    per_write = 2 if fault.startswith("lost") else 1 + math.ceil(LAG_SECONDS / POLL_MIN)
    return per_write * len(change.writes)


def settle(world: OperatorTestbed, verdicts: Verdicts, change: Change) -> None:
    """Wait until the resource is Ready at its generation (or gone); fail at once on a
    verdict or a Degraded condition, whenever it was posted."""

    def probe() -> bool:
        posted = verdicts.posted(NAME)
        assert not posted, f"posted during the run: {posted}"
        obj = world.get(NAME)
        if change.deleted:
            return obj is None
        status = (obj or {}).get("status") or {}
        if status.get("observedGeneration") != (obj or {}).get("metadata", {}).get("generation"):
            return False
        return any(
            c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", [])
        )

    wait_for(probe, timeout=CONVERGE_TIMEOUT, interval=0.2, what=f"{NAME} settled")


def trace(calls: list[dict[str, Any]]) -> str:
    """The write calls as one line each: what SageMaker did with them, for failure messages."""
    return "\n".join(
        f"  {c['operation']}: {c['error'] or 'accepted'}"
        + (f", response {c['lost']}" if c["lost"] else "")
        for c in write_attempts(calls)
    )


def poke(world: OperatorTestbed) -> None:
    """Touch the resource (an annotation, as Argo CD adds) so the operator looks at once."""
    world.kubectl(
        "annotate", "smic", NAME, "-n", world.namespace, "--overwrite",
        f"e2e.ic-operator.io/poke={time.monotonic()}",
    )  # fmt: skip


def live_tags(world: OperatorTestbed) -> dict[str, str]:
    arn = world.describe(NAME)["InferenceComponentArn"]
    page = world.sagemaker.list_tags(ResourceArn=arn, MaxResults=100)
    return {t["Key"]: t["Value"] for t in page["Tags"]}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("change_name", list(CHANGES))
def test_change_under_fault(
    slow_world: OperatorTestbed, verdicts: Verdicts, change_name: str, fault: str
) -> None:
    world, change = slow_world, CHANGES[change_name]
    admin = world.emulator.admin
    if change.exists_before:
        _create(world)
        world.wait_ready(NAME, timeout=60)
    start = len(admin.calls())

    admin.set_faults(**FAULTS[fault])
    started = time.monotonic()
    try:
        change.make(world)
        settle(world, verdicts, change)
        converged = time.monotonic() - started
        if not change.deleted:
            poke(world)
        # The fault happened, so the test proves something: a read served the version from
        # before the write, or a response was lost.
        key = "stale" if fault == "read-lag" else "lost"
        try:
            wait_for(
                lambda: any(c[key] for c in admin.calls()[start:]),
                timeout=LAG_SECONDS + 2 * RESYNC,
                interval=0.2,
                what=f"a call with {key} set",
            )
        except AssertionError:
            print([(c["operation"], c["error"], c[key], c["at"]) for c in admin.calls()[start:]])
            raise
        if not change.deleted:
            world.wait_timer_passes(1)  # and one more look while the fault is on changes nothing
        settle(world, verdicts, change)
        during = admin.calls()[start:]
    finally:
        admin.set_faults()

    # Exactly one accepted write per operation the change needs, and no other write.
    accepted = {op: len(accepted_writes(during, op)) for op in change.writes}
    assert accepted == dict.fromkeys(change.writes, 1), f"{accepted}\n{trace(during)}"
    others = {c["operation"] for c in write_attempts(during) if not c["error"]}
    assert others <= set(change.writes), others

    # No verdict, no Degraded, at any moment of the run; nothing Degraded at the end.
    assert verdicts.posted(NAME) == []
    assert verdicts.warned(NAME) == []

    # SageMaker holds what the spec says (reads are live again).
    calls = admin.calls()
    if change.deleted:
        assert world.get(NAME) is None
        assert listed_names(world) == []
    else:
        assert_converged(world, {NAME: (change.image, change.copies)}, calls)
        if change_name == "update":
            assert world.describe(NAME)["LastDeploymentConfig"] == ROLLING_WIRE
        tags = live_tags(world)
        assert {k: v for k, v in tags.items() if not k.startswith(OWNER_PREFIX)} == (
            change.user_tags
        )
        degraded = world.condition(NAME, "Degraded")
        assert degraded is None or degraded["status"] == "False", degraded

    writes, limit = len(write_attempts(during)), bound(change, fault)
    print(
        f"FAULTS {change_name} under {fault}: {writes} write calls, bound {limit}, "
        f"{len(during)} calls, converged in {converged:.1f}s"
    )
    assert writes <= limit, [
        (c["operation"], c["error"], c["lost"]) for c in write_attempts(during)
    ]
