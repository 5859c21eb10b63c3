"""The operator's own world breaks: its API server restarts, the operator itself is SIGKILLed.

What must hold afterwards: the last spec of every resource is what SageMaker runs
(no lost edit), each component was created exactly once, and the number of updates
stays below a bound that allows for the crashes and nothing else.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import pytest

from tests.fixtures.emulator import wait_for
from tests.fixtures.faults import restart_apiserver, successful, write_attempts
from tests.fixtures.operator import OperatorTestbed, image, set_image

from .helpers import assert_converged, record, wait_all_ready

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.controlplane]

ROLLING = {
    "rollingUpdatePolicy": {
        "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
        "waitIntervalInSeconds": 30,
        "maximumExecutionTimeoutInSeconds": 1800,
    }
}


def updates_by_component(calls: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for call in successful(calls, "UpdateInferenceComponent"):
        request = call["request"]
        out.setdefault(request["InferenceComponentName"], []).append(
            request["Specification"]["Container"]["Image"]
        )
    return out


# ---------------------------------------------------------------------------- API server


def test_apiserver_restarted_during_updates(world: OperatorTestbed) -> None:
    names = ["alpha", "beta", "gamma"]
    for name in names:
        world.apply(world.manifest(name, copies=2, deployment=ROLLING))
    wait_all_ready(world, names, timeout=90)

    for name in names:
        set_image(world, name, image(f"{name}-2"))
    wait_for(
        lambda: len(successful(world.emulator.admin.calls(), "UpdateInferenceComponent")) >= 1,
        timeout=30,
        interval=0.1,
        what="the first update call",
    )
    # Down for 5 s while the rollouts run: status PATCHes fail, watches break.
    restart_apiserver(world.kubectl.cluster, world.kubectl, down_for=5)
    for name in names:
        set_image(world, name, image(f"{name}-3"))
    wait_all_ready(world, names, timeout=120)

    calls = world.emulator.admin.calls()
    assert_converged(world, {n: (image(f"{n}-3"), 2) for n in names}, calls)
    sent = updates_by_component(calls)
    # Bound: one update per edit, in order; an edit made while the previous rollout ran
    # may be coalesced into it only if SageMaker had not started it, never duplicated.
    for name in names:
        assert sent[name][-1] == image(f"{name}-3"), sent
        assert sent[name] in ([image(f"{name}-2"), image(f"{name}-3")], [image(f"{name}-3")])
    # 3 creates + at most one update per edit (2 edits each): 9 write calls at most.
    record("kube-apiserver restart", len(write_attempts(calls)), 9)
    assert len(write_attempts(calls)) <= 9
    assert {c["operation"] for c in write_attempts(calls)} <= {
        "CreateInferenceComponent",
        "UpdateInferenceComponent",
    }
    assert world.operator.process is not None and world.operator.process.running()


# ---------------------------------------------------------------------------- SIGKILL x 20

KILLS = 20


def test_operator_killed_twenty_times_during_updates(world: OperatorTestbed) -> None:
    rng = random.Random(20261121)
    names = ["alpha", "beta", "gamma", "delta"]
    last: dict[str, tuple[str, int]] = {}
    for name in names:
        world.apply(world.manifest(name, copies=2))
        last[name] = (image("0.29.0-cpu-full"), 2)
    edits: Counter[str] = Counter()
    kill_log: list[str] = []

    for kill in range(KILLS):
        # One or two edits (image or copy count) to random components, then a kill at
        # a random point of the work they cause: right away, mid-call, mid-rollout.
        for _ in range(rng.randint(1, 2)):
            name = rng.choice(names)
            want_image, copies = last[name]
            if rng.random() < 0.7:
                want_image = image(f"{name}-{kill}")
                set_image(world, name, want_image)
            else:
                copies = 3 if copies == 2 else 2
                world.patch(name, {"spec": {"runtimeConfig": {"copyCount": copies}}})
            last[name] = (want_image, copies)
            edits[name] += 1
        delay = rng.uniform(0.0, 3.0)
        # The delay is the fault's position in time, chosen by the seeded RNG; it is not
        # a wait for anything.
        time.sleep(delay)
        world.operator.kill()
        kill_log.append(f"{kill}: +{delay:.2f}s")
        world.operator.start()

    try:
        wait_all_ready(world, names, timeout=180)
    except AssertionError:
        print("kills:", kill_log)
        raise
    # Ready reports the generation it saw; SageMaker must also hold its copy count.
    for name, (_, copies) in last.items():
        wait_for(
            lambda name=name, copies=copies: (
                world.describe(name)["RuntimeConfig"]["CurrentCopyCount"] == copies
            ),
            timeout=30,
            what=f"{name} at {copies} copies",
        )
    calls = world.emulator.admin.calls()
    assert_converged(world, last, calls)
    creates = [c["request"]["InferenceComponentName"] for c in write_attempts(calls)
               if c["operation"] == "CreateInferenceComponent"]  # fmt: skip
    assert sorted(creates) == sorted(names), "a Create was attempted twice"
    sent = updates_by_component(calls)
    scales = Counter(
        c["request"]["InferenceComponentName"]
        for c in successful(calls, "UpdateInferenceComponentRuntimeConfig")
    )
    # Bound: edits coalesce, so at most one accepted write (update or scale) per edit;
    # a kill between an accepted write and the status write that records it can make the
    # restarted operator send that write once more, so at most one extra per kill.
    for name in names:
        writes = len(sent.get(name, [])) + scales[name]
        assert writes <= edits[name] + KILLS, (name, writes, edits[name])
    total = sum(len(v) for v in sent.values()) + sum(scales.values())
    record("operator SIGKILLed x20", total, sum(edits.values()) + KILLS)
    assert total <= sum(edits.values()) + KILLS, (total, dict(edits))
    # No stale spec is ever sent after a newer one (an older edit resurfacing would be a
    # lost edit in the making): the edit numbers in the images sent only go up.
    for name, images in sent.items():
        order = [int(i.rsplit("-", 1)[1]) for i in images]
        assert order == sorted(order), (name, images)
    print(f"edits {dict(edits)} updates {({k: len(v) for k, v in sent.items()})} "
          f"scales {dict(scales)} total writes {total}")  # fmt: skip
