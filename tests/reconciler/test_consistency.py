"""Issue 12 on the loop: reads that lag writes, writes whose answer is lost, restarts.

What must hold: a reading from before a write never judges it (no false RolledBack),
a verdict SageMaker contradicts is withdrawn, one accepted write per desired change,
and a process that forgets everything between passes makes the same calls.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ic_operator.aws.errors import ErrorKind, SageMakerError
from ic_operator.reconcile.types import Trigger
from tests.reconciler.harness import SETTINGS, Rig, image, run
from tests.reconciler.test_loop import created, sent_images, set_image

pytestmark = pytest.mark.filterwarnings("error")


def reasons_seen(w: Rig) -> list[str]:
    return [w.kube.condition("Progressing")[1]]


def test_a_stale_read_after_an_update_waits_instead_of_judging_a_rollback() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.sm.lag_reads = 3
        set_image(w, "v2")
        await w.step(Trigger.CHANGE)
        progressing = []
        for _ in range(3):
            await w.step()
            progressing.append(w.kube.condition("Progressing")[1])
        assert "Confirming" in progressing
        assert w.kube.condition("Degraded")[0] == "False"
        w.sm.settle("llm")
        await w.until(w.ready)
        assert w.status["lastDeployment"]["outcome"] == "Succeeded"
        assert "RolledBack" not in w.kube.reasons()
        assert sent_images(w) == [image("v2")]

    run(scenario)


def test_an_update_whose_answer_was_lost_is_confirmed_not_sent_twice() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.sm.lose_answer = {"UpdateInferenceComponent"}
        set_image(w, "v2")
        await w.step(Trigger.CHANGE)
        assert w.status["lastWrite"]["outcome"] == "Unknown"
        assert w.kube.condition("Progressing") == ("True", "Confirming")
        await w.step()
        assert w.status["lastWrite"]["confirmed"] is True  # SageMaker shows it Updating
        w.sm.settle("llm")
        await w.until(w.ready)
        for _ in range(3):
            await w.step(Trigger.TIMER)
        assert len(w.sm.accepted("UpdateInferenceComponent")) == 1
        assert w.status["lastDeployment"]["outcome"] == "Succeeded"

    run(scenario)


def test_a_lost_answer_and_lagging_reads_together_still_make_one_update() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.sm.lose_answer = {"UpdateInferenceComponent"}
        w.sm.lag_reads = 4
        set_image(w, "v2")
        await w.step(Trigger.CHANGE)
        for _ in range(4):
            await w.step()
        w.sm.settle("llm")
        await w.until(w.ready)
        assert len(w.sm.accepted("UpdateInferenceComponent")) == 1
        assert "RolledBack" not in w.kube.reasons()

    run(scenario)


def test_an_unknown_write_that_never_landed_is_sent_again_after_the_window() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.sm.fail["UpdateInferenceComponent"] = SageMakerError(
            "UpdateInferenceComponent", ErrorKind.OUTCOME_UNKNOWN, "ServiceUnavailable", "gone"
        )
        set_image(w, "v2")
        await w.step(Trigger.CHANGE)
        assert w.status["lastWrite"]["outcome"] == "Unknown"
        first = w.status["lastWrite"]["sentAt"]
        await w.until(lambda: len(w.sm.accepted("UpdateInferenceComponent")) == 1)
        # Sent again only once the confirmation window had passed without a sign of it.
        assert w.status["lastWrite"]["sentAt"] - first >= SETTINGS.confirm_window
        attempts = w.sm.ops("UpdateInferenceComponent")
        assert attempts == ["UpdateInferenceComponent"] * 2
        assert "RolledBack" not in w.kube.reasons()
        w.sm.settle("llm")
        await w.until(w.ready)

    run(scenario)


def test_a_verdict_that_sagemaker_contradicts_is_withdrawn() -> None:
    async def scenario() -> None:
        # A confirmation window too short for the lag: the stale reading is judged...
        w = Rig(settings=dataclasses.replace(SETTINGS, confirm_window=1))
        await created(w)
        w.sm.lag_reads = 1000
        set_image(w, "v2")
        await w.step(Trigger.CHANGE)
        await w.until(lambda: w.kube.condition("Degraded") == ("True", "RolledBack"))
        # ...then the lag passes and SageMaker shows the desired spec InService.
        w.sm.lagging.clear()
        w.sm.lag_reads = 0
        w.sm.settle("llm")
        await w.until(w.ready)
        assert w.status["lastDeployment"]["outcome"] == "Succeeded"
        assert w.kube.condition("Degraded")[0] == "False"
        assert "VerdictRevised" in w.kube.reasons()
        assert sent_images(w) == [image("v2")]

    run(scenario)


def test_a_create_whose_answer_was_lost_ends_with_one_component_recognised_by_its_tag() -> None:
    async def scenario() -> None:
        w = Rig()
        w.sm.lose_answer = {"CreateInferenceComponent"}
        w.sm.lag_reads = 2
        await w.step(Trigger.START)
        assert w.status["lastWrite"] == {**w.status["lastWrite"], "outcome": "Unknown"}
        for _ in range(3):
            await w.step()
        w.sm.settle("llm")
        await w.until(w.ready)
        assert w.sm.ops("CreateInferenceComponent") == ["CreateInferenceComponent"]
        assert w.kube.condition("Degraded")[0] == "False"
        assert "AlreadyExists" not in w.kube.reasons()

    run(scenario)


def test_a_delete_whose_reads_lag_completes_with_one_delete() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.sm.lag_reads = 3
        w.kube.body["metadata"]["deletionTimestamp"] = "2027-01-01T00:00:00Z"
        released = False
        for _ in range(10):
            result = await w.finalize()
            if result.released:
                released = True
                break
            if w.sm.ops("DeleteInferenceComponent") and not w.sm.lagging:
                w.sm.settle("llm")
        assert released
        assert w.sm.ops("DeleteInferenceComponent") == ["DeleteInferenceComponent"]

    run(scenario)


# --------------------------------------------------------------------------- restart


async def rollout(w: Rig) -> None:
    await created(w)
    set_image(w, "v2")
    await w.step(Trigger.CHANGE)
    await w.step()
    w.sm.batch("llm")
    await w.step()
    w.sm.settle("llm")
    await w.until(w.ready)
    w.sm.rollback_next = "alarm"
    set_image(w, "v3")
    await w.step(Trigger.CHANGE)
    w.sm.settle("llm")
    await w.until(lambda: w.kube.condition("Degraded")[0] == "True")
    for _ in range(3):
        await w.step(Trigger.TIMER)


def _calls(w: Rig) -> list[tuple[str, dict[str, Any]]]:
    # Which listing answers a settled resync (the endpoint's in full, or the region's
    # recent changes) depends on what the process has cached; the call itself does not.
    return [
        (c.operation, {} if c.operation == "ListInferenceComponents" else c.request)
        for c in w.sm.calls
    ]


def test_dropping_every_cache_between_passes_changes_no_call_and_no_status() -> None:
    """A restarted process decides exactly as the old one: the state is in status."""

    async def scenario() -> None:
        kept, dropped = Rig(), Rig(drop_cache=True)
        await rollout(kept)
        await rollout(dropped)
        assert _calls(dropped) == _calls(kept)
        assert dropped.status == kept.status
        assert dropped.kube.events == kept.kube.events

    run(scenario)
