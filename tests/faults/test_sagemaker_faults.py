"""SageMaker misbehaves: throttling, 5xx bursts, latency, capacity, a restart that forgets all.

Each test ends the same way: the last applied specs are what SageMaker runs, every
component exists exactly once and was created successfully exactly once, and the
number of write calls is below an explicit bound derived in the test.
"""

from __future__ import annotations

import math
import time

import pytest

from ic_operator.names import RETRY_ANNOTATION
from tests.fixtures.emulator import ic_endpoint, wait_for
from tests.fixtures.faults import (
    RestartableEmulator,
    mentions,
    successful,
    write_attempts,
)
from tests.fixtures.operator import IMAGE, OperatorTestbed, image, set_image

from .helpers import (
    BOTOCORE_ATTEMPTS,
    assert_converged,
    attempts_bound,
    injected,
    not_injected_failures,
    record,
    wait_all_ready,
)

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.controlplane]

NAMES = ["alpha", "beta", "gamma"]
COPIES = 2


def create_and_update(world: OperatorTestbed, *, timeout: float) -> dict[str, tuple[str, int]]:
    """Three components created, then each given a new image: 6 intended writes."""
    for name in NAMES:
        world.apply(world.manifest(name, copies=COPIES))
    wait_all_ready(world, NAMES, timeout=timeout)
    for name in NAMES:
        set_image(world, name, image(f"{name}-2"))
    wait_all_ready(world, NAMES, timeout=timeout)
    return {name: (image(f"{name}-2"), COPIES) for name in NAMES}


# ---------------------------------------------------------------------------- throttling


@pytest.mark.parametrize("rate", [0.3, 0.5])
def test_throttling(world: OperatorTestbed, rate: float) -> None:
    world.emulator.admin.set_faults(throttle_rate=rate, seed=int(rate * 100))
    try:
        expected = create_and_update(world, timeout=120)
    finally:
        world.emulator.admin.set_faults()
    calls = world.emulator.admin.calls()
    assert_converged(world, expected, calls)
    assert injected(calls), "no call was throttled: the test proved nothing"

    writes = write_attempts(calls)
    # Exactly the 6 intended writes succeeded: no Update was re-sent for a spec already
    # applied (a faulted call has no effect in the emulator, so nothing needs re-sending).
    assert sorted((c["operation"], c["error"]) for c in writes if not c["error"]) == sorted(
        [("CreateInferenceComponent", None)] * 3 + [("UpdateInferenceComponent", None)] * 3
    )
    # Failed write attempts are only the injected ones, never a write refused by SageMaker
    # (e.g. an Update sent while the component was still Updating).
    assert not_injected_failures(writes) == []
    # Bound: each write attempt is throttled independently with probability `rate`, so
    # the attempts needed for 6 successes are negative-binomial; the 1e-6 tail of that
    # distribution (17 attempts at 30 %, 29 at 50 %) is exceeded only if the operator
    # re-sends writes for reasons other than the dice.
    record(f"throttling {rate:.0%}", len(writes), attempts_bound(6, rate))
    assert len(writes) <= attempts_bound(6, rate), len(writes)


# ---------------------------------------------------------------------------- 5xx bursts


def burst(world: OperatorTestbed, faulted: int) -> float:
    """90 % server errors until ``faulted`` calls have failed; returns the window length."""
    seen = len(injected(world.emulator.admin.calls()))
    started = time.monotonic()
    world.emulator.admin.set_faults(server_error_rate=0.9, seed=faulted)
    try:
        wait_for(
            lambda: len(injected(world.emulator.admin.calls())) >= seen + faulted,
            timeout=60,
            interval=0.1,
            what=f"{faulted} calls failed with 5xx",
        )
    finally:
        world.emulator.admin.set_faults()
    return time.monotonic() - started


def test_server_error_bursts(world: OperatorTestbed) -> None:
    windows = []
    for name in NAMES:
        world.apply(world.manifest(name, copies=COPIES))
    windows.append(burst(world, 20))
    wait_all_ready(world, NAMES, timeout=120)
    for name in NAMES:
        set_image(world, name, image(f"{name}-2"))
    windows.append(burst(world, 20))
    wait_all_ready(world, NAMES, timeout=120)

    calls = world.emulator.admin.calls()
    expected = {name: (image(f"{name}-2"), COPIES) for name in NAMES}
    assert_converged(world, expected, calls)
    writes = write_attempts(calls)
    assert len([c for c in writes if not c["error"]]) == 6, "a write was re-sent"
    assert not_injected_failures(writes) == []
    # Bound: during a window of W seconds a component makes at most one operator pass per
    # backoff step (2 s, doubling: 1 + log2(1 + W/2) passes) plus the pass that ends the
    # window, each up to 4 botocore attempts; every component has one write pending per
    # window. Outside the windows nothing fails, so each write then costs one call.
    per_window = [BOTOCORE_ATTEMPTS * (2 + math.ceil(math.log2(1 + w / 2))) for w in windows]
    bound = 6 + len(NAMES) * sum(per_window)
    record(f"5xx bursts {[round(w, 1) for w in windows]}s", len(writes), bound)
    assert len(writes) <= bound, (len(writes), windows)


# ---------------------------------------------------------------------------- latency


def test_added_latency_on_every_call(world: OperatorTestbed) -> None:
    world.emulator.admin.set_faults(latency_ms=300)
    try:
        expected = create_and_update(world, timeout=150)
        calls = world.emulator.admin.calls()
    finally:
        world.emulator.admin.set_faults()
    assert_converged(world, expected, calls)
    # Slow answers are still answers (the client's read timeout is 30 s): the six
    # intended writes and not one more.
    writes = write_attempts(calls)
    record("latency 300 ms", len(writes), 6)
    assert len(writes) == 6, [(c["operation"], c["error"]) for c in writes]
    assert all(c["error"] is None for c in writes)


# ---------------------------------------------------------------------------- capacity


def test_resource_limit_exceeded_backs_off_then_converges(world: OperatorTestbed) -> None:
    # Two 16-vCPU instances hold 32 one-core copies at most.
    world.apply(world.manifest("huge", copies=40))
    obj = world.wait_condition("huge", "Degraded", "True", reason="InsufficientCapacity")
    message = next(c["message"] for c in obj["status"]["conditions"] if c["type"] == "Degraded")
    assert "Insufficient capacity" in message
    # The resync timer comes back every 2 s but the capacity backoff (30 s, doubling)
    # keeps it away from SageMaker: three timer passes, still exactly one Create.
    world.wait_timer_passes(3, outcome="NotDue")
    creates = world.calls("CreateInferenceComponent", "huge")
    assert [c["error"] for c in creates] == ["ResourceLimitExceeded"]

    # Fewer copies: the spec changed, so the operator tries at once and converges.
    world.patch("huge", {"spec": {"runtimeConfig": {"copyCount": 8}}})
    world.wait_ready("huge", generation=2, timeout=60)

    # Scaling past capacity on a running component: reported, the running copies stay.
    world.patch("huge", {"spec": {"runtimeConfig": {"copyCount": 40}}})
    world.wait_condition(
        "huge", "Degraded", "True", reason="InsufficientCapacity", generation=3, timeout=30
    )
    assert world.describe("huge")["RuntimeConfig"]["CurrentCopyCount"] == 8
    world.patch("huge", {"spec": {"runtimeConfig": {"copyCount": 12}}})
    world.wait_ready("huge", generation=4, timeout=60)
    wait_for(
        lambda: world.describe("huge")["RuntimeConfig"]["CurrentCopyCount"] == 12,
        timeout=30,
        what="12 copies",
    )

    calls = world.emulator.admin.calls()
    assert_converged(world, {"huge": (IMAGE, 12)}, calls)
    # Bound: one rejected call per over-capacity spec (the backoff is longer than the
    # test), one successful call per feasible spec: 2 Creates + 2 scale calls.
    ops = [(c["operation"], c["error"]) for c in write_attempts(calls)]
    record("ResourceLimitExceeded", len(ops), 4)
    assert ops == [
        ("CreateInferenceComponent", "ResourceLimitExceeded"),
        ("CreateInferenceComponent", None),
        ("UpdateInferenceComponentRuntimeConfig", "ResourceLimitExceeded"),
        ("UpdateInferenceComponentRuntimeConfig", None),
    ]


# ---------------------------------------------------------------------------- emulator restart

# The restarted emulator takes 240 simulated seconds (2.4 s at time scale 0.01) to bring
# the re-created endpoint InService; until then SageMaker refuses CreateInferenceComponent.
ENDPOINT_CREATE_SECONDS = 240 * 0.01
POLL_MIN = 0.2  # tests/fixtures/operator.py OPERATOR_FLAGS


def test_emulator_restart_recreates_each_component_once(process_world: OperatorTestbed) -> None:
    world = process_world
    emulator = world.emulator
    assert isinstance(emulator, RestartableEmulator)
    names = ["keep", "plain", "scaled"]
    world.apply(world.manifest("keep", copies=COPIES, deletionPolicy="Retain"))
    world.apply(world.manifest("plain", copies=COPIES))
    world.apply(world.manifest("scaled", copies=COPIES))
    wait_all_ready(world, names, timeout=90)
    world.patch("scaled", {"spec": {"runtimeConfig": {"copyCount": 3}}})
    wait_all_ready(world, names, timeout=60)

    # SageMaker forgets everything, endpoint included; the platform team re-creates the
    # endpoint, and the operator must re-create every component on it, each once. A
    # Retain component's SageMaker side is the team's to restore (issue 18): it is
    # reported (EndpointReplaced) until the retry annotation asks the operator to.
    emulator.restart()
    ic_endpoint(world.sagemaker, world.endpoint, instance_type="ml.m5.4xlarge", count=2)
    wait_for(
        lambda: len(successful(emulator.admin.calls(), "CreateInferenceComponent")) == 2,
        timeout=90,
        interval=0.3,
        what="the two Delete-policy components re-created",
    )
    world.wait_condition("keep", "Degraded", "True", reason="EndpointReplaced", timeout=30)
    assert mentions(successful(emulator.admin.calls(), "CreateInferenceComponent"), "keep") == []
    world.patch("keep", {"metadata": {"annotations": {RETRY_ANNOTATION: "restore"}}})
    wait_for(
        lambda: len(successful(emulator.admin.calls(), "CreateInferenceComponent")) == 3,
        timeout=60,
        interval=0.3,
        what="the Retain component re-created on request",
    )
    wait_all_ready(world, names, timeout=60)
    calls = emulator.admin.calls()  # the restarted emulator's log: calls since the restart
    expected = {"keep": (IMAGE, COPIES), "plain": (IMAGE, COPIES), "scaled": (IMAGE, 3)}
    assert_converged(world, expected, calls)
    writes = write_attempts(calls)
    # Re-created from the spec, so nothing needs an update, scale or tag call afterwards.
    assert {c["operation"] for c in writes} == {"CreateInferenceComponent"}
    # Bound: a Create waits for the endpoint's InService (one shared DescribeEndpoint), so
    # the only refusal possible is one sent on the old endpoint's answer, cached for a
    # poll minimum, before the restart showed: per component at most that one plus the
    # Create that succeeds.
    per_component = 2
    record("emulator restart", len(writes), per_component * len(names))
    for name in names:
        assert len(mentions(writes, name)) <= per_component, name


def test_component_applied_while_its_endpoint_is_creating_converges(world: OperatorTestbed) -> None:
    """A GitOps sync applies an endpoint and its components together; found by the
    emulator-restart scenario: SageMaker refuses the Create until the endpoint is InService,
    which is a wait, not a verdict on the spec."""
    late = "late-endpoint"
    world.sagemaker.create_endpoint_config(
        EndpointConfigName=f"{late}-config",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker-execution",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.m5.4xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    world.sagemaker.create_endpoint(EndpointName=late, EndpointConfigName=f"{late}-config")
    manifest = world.manifest("early", copies=COPIES)
    manifest["spec"]["endpointName"] = late
    world.apply(manifest)
    world.wait_ready("early", timeout=60)
    assert (
        len(
            successful(world.calls("CreateInferenceComponent", "early"), "CreateInferenceComponent")
        )
        == 1
    )


def test_deletion_under_faults_keeps_retained_components(world: OperatorTestbed) -> None:
    names = ["keep", "doomed", "stays"]
    world.apply(world.manifest("keep", copies=COPIES, deletionPolicy="Retain"))
    world.apply(world.manifest("doomed", copies=COPIES))
    world.apply(world.manifest("stays", copies=COPIES))
    wait_all_ready(world, names, timeout=90)
    before = len(world.emulator.admin.calls())

    world.emulator.admin.set_faults(throttle_rate=0.3, server_error_rate=0.2, seed=11)
    try:
        world.kubectl(
            "delete", "smic", "keep", "doomed", "-n", world.namespace, "--wait=true",
            timeout=120,
        )  # fmt: skip
        during = world.emulator.admin.calls()[before:]
    finally:
        world.emulator.admin.set_faults()
    assert injected(during), "no fault was injected: the test proved nothing"
    assert world.get("keep") is None and world.get("doomed") is None
    # The retained component is never written to, and stays InService.
    assert mentions(write_attempts(during), "keep") == [], "a retained component was written"
    assert world.describe("keep")["InferenceComponentStatus"] == "InService"
    # The other is deleted by exactly one accepted DeleteInferenceComponent.
    deletes = [c for c in during if c["operation"] == "DeleteInferenceComponent"]
    assert [
        c["request"]["InferenceComponentName"]
        for c in successful(deletes, "DeleteInferenceComponent")
    ] == ["doomed"]
    # Bound: only deletes were written, and only the dice made any fail: at 44 % failure
    # per attempt (1 - 0.7 * 0.8), one success needs more than 17 attempts with p < 1e-6.
    assert {c["operation"] for c in write_attempts(during)} == {"DeleteInferenceComponent"}
    assert not_injected_failures(deletes) == []
    record("deletion under faults", len(deletes), attempts_bound(1, 1 - 0.7 * 0.8))
    assert len(deletes) <= attempts_bound(1, 1 - 0.7 * 0.8)
    calls = world.emulator.admin.calls()
    assert_converged(world, {"stays": (IMAGE, COPIES)}, calls, also_present=("keep",))


def test_edit_during_capacity_backoff_is_tried_at_once(world: OperatorTestbed) -> None:
    world.apply(world.manifest("huge", copies=40))
    world.wait_condition("huge", "Degraded", "True", reason="InsufficientCapacity")
    world.patch("huge", {"spec": {"runtimeConfig": {"copyCount": 8}}})
    # A Create takes 1.2 s at the emulator's time scale; 10 s is generous, and far below
    # the 24 s minimum of the capacity backoff.
    world.wait_ready("huge", generation=2, timeout=10)
